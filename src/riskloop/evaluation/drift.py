"""Population stability: how far a new sample's distribution has moved from training.

The reference profile is computed once, on the training data, and travels with the scorer.
For a numeric feature it holds the edges of (up to) ten quantile bins of the training values
plus a bin for missing values; for a categorical feature, one bin per training category plus
"missing" and "other". The population stability index between the reference shares e_i and
the new shares a_i is

    PSI = Σ_i (a_i − e_i) · ln(a_i / e_i),

with shares floored at ``EPSILON`` so an empty bin does not give an infinite value.
Convention in credit: PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.

PSI has no sampling theory, so each feature also gets a two-sample test with its p-value:
Kolmogorov–Smirnov for numeric features (against a stored sample of up to
``REFERENCE_SAMPLE`` training values) and chi-squared for categorical ones (a 2 × k contingency
table of reference and new counts). The sample sizes are reported beside every value: with a
million rows any difference is "significant", which is why PSI, an effect size, drives alerts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from riskloop.data.schema import InputSchema
from riskloop.evaluation._drift_kernels import scan_numeric

EPSILON = 1e-4
N_QUANTILE_BINS = 10
# With ten bins, fewer rows than this leave most bins near-empty and PSI mostly measures noise.
MIN_ROWS_FOR_PSI = 100
MISSING = "__missing__"
OTHER = "__other__"
REFERENCE_SAMPLE = 5000


def _numeric_edges(values: np.ndarray) -> list[float]:
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return []
    quantiles = np.quantile(finite, np.linspace(0, 1, N_QUANTILE_BINS + 1)[1:-1])
    return sorted(set(np.round(quantiles, 12).tolist()))


def numeric_bin_counts(values: np.ndarray, edges: list[float]) -> np.ndarray:
    """Counts per bin: (-inf, e0], (e0, e1], …, (e_last, inf), then missing."""
    values = np.asarray(values, dtype=np.float64)
    missing = np.isnan(values)
    bins = np.searchsorted(np.asarray(edges), values[~missing], side="left")
    counts = np.bincount(bins, minlength=len(edges) + 1).astype(np.float64)
    return np.append(counts, missing.sum())


def categorical_bin_counts(values: pd.Series, categories: list[str]) -> np.ndarray:
    """Counts per training category, then missing, then any other value."""
    counts = values.value_counts(dropna=True)  # count first, then stringify the few keys
    counts = counts.groupby(counts.index.astype(str)).sum()
    known = np.array([counts.get(c, 0) for c in categories], dtype=np.float64)
    other = counts.sum() - known.sum()
    return np.append(known, [values.isna().sum(), other])


def _sorted_sample(values: np.ndarray, seed: int) -> list[float]:
    finite = values[~np.isnan(values)]
    if finite.size > REFERENCE_SAMPLE:
        finite = np.random.default_rng(seed).choice(finite, REFERENCE_SAMPLE, replace=False)
    return np.sort(finite).tolist()


def numeric_profile(values: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Quantile-bin edges, shares and a sorted sample of one numeric variable."""
    values = np.asarray(values, dtype=np.float64)
    edges = _numeric_edges(values)
    counts = numeric_bin_counts(values, edges)
    return {
        "kind": "numeric",
        "edges": edges,
        "shares": (counts / max(counts.sum(), 1)).tolist(),
        "n": int(values.size),
        "sample": _sorted_sample(values, seed),
    }


def reference_profile(frame: pd.DataFrame, schema: InputSchema, seed: int = 0) -> dict[str, Any]:
    """Bins, shares and (numeric) a sorted sample per feature of the training data (JSON)."""
    profile: dict[str, Any] = {"n": len(frame), "features": {}}
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == "numeric":
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            profile["features"][feature.name] = numeric_profile(values, seed)
            continue
        else:
            categories = sorted({str(v) for v in column.dropna().unique()})
            counts = categorical_bin_counts(column, categories)
            entry: dict[str, Any] = {"kind": "categorical", "categories": categories}
        entry["shares"] = (counts / max(counts.sum(), 1)).tolist()
        entry["n"] = len(column)
        profile["features"][feature.name] = entry
    return profile


def population_stability_index(expected: np.ndarray, actual: np.ndarray) -> float:
    """PSI between two share (or count) vectors over the same bins."""
    e = np.asarray(expected, dtype=np.float64)
    a = np.asarray(actual, dtype=np.float64)
    e = np.maximum(e / max(e.sum(), 1e-300), EPSILON)
    a = np.maximum(a / max(a.sum(), 1e-300), EPSILON)
    return float(np.sum((a - e) * np.log(a / e)))


def psi_status(psi: float) -> str:
    if psi < 0.10:
        return "stable"
    return "watch" if psi <= 0.25 else "act"


def ks_against_reference(reference_sorted: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov–Smirnov statistic and asymptotic p-value, in O(n log m).

    ``reference_sorted`` (m values, sorted) is the training sample; ``values`` (n, NaNs
    ignored) the new window. The supremum of |F_new − F_ref| is attained at a data point; F_ref
    is a step function constant between reference points, so it suffices to know, for every
    reference point r_k, how many new values lie strictly below and at-or-below it — two binary
    searches per new value instead of sorting the (large) new sample. Equal to
    ``scipy.stats.ks_2samp(..., method="asymp")`` (tested).
    """
    reference = np.asarray(reference_sorted, dtype=np.float64)
    new = np.asarray(values, dtype=np.float64)
    new = new[~np.isnan(new)]
    if reference.size == 0 or new.size == 0:
        return float("nan"), float("nan")
    n_less = np.searchsorted(reference, new, side="left")
    n_less_equal = np.searchsorted(reference, new, side="right")
    m = reference.size
    return _ks_from_positions(
        reference,
        np.bincount(n_less, minlength=m + 1),
        np.bincount(n_less_equal, minlength=m + 1),
    )


def _ks_from_positions(
    reference: np.ndarray, n_less_counts: np.ndarray, n_less_equal_counts: np.ndarray
) -> tuple[float, float]:
    """KS statistic and p-value from how many new values have k reference values below them.

    x < r_k  <=>  #{reference <= x} <= k, and x <= r_k  <=>  #{reference < x} <= k, so the new
    sample's ECDF just below and at each reference point are cumulative sums of those counts.
    """
    m = reference.size
    n = int(n_less_counts.sum())
    if m == 0 or n == 0:
        return float("nan"), float("nan")
    ref_at = np.searchsorted(reference, reference, side="right") / m
    ref_below = np.searchsorted(reference, reference, side="left") / m
    new_below = np.cumsum(n_less_equal_counts)[:m] / n
    new_at = np.cumsum(n_less_counts)[:m] / n
    statistic = float(max(np.max(np.abs(new_at - ref_at)), np.max(np.abs(new_below - ref_below))))
    return statistic, float(stats.kstwo.sf(statistic, max(round(m * n / (m + n)), 1)))


def chi_squared_against_reference(
    reference_shares: np.ndarray, reference_n: int, counts: np.ndarray
) -> tuple[float, float]:
    """Chi-squared test of homogeneity between reference and new category counts."""
    reference = np.asarray(reference_shares, dtype=np.float64) * reference_n
    table = np.vstack([reference, np.asarray(counts, dtype=np.float64)])
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[1] < 2 or table[1].sum() == 0:
        return 0.0, 1.0
    result = stats.chi2_contingency(table, correction=False)
    return float(result.statistic), float(result.pvalue)


def drift_by_feature(profile: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: PSI and its status, the two-sample test, and both sample sizes."""
    rows = []
    for name, entry in profile["features"].items():
        if name not in frame.columns:
            continue
        column = frame[name]
        if entry["kind"] == "numeric":
            values = pd.to_numeric(column, errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan
            )
            reference = np.asarray(entry.get("sample", []), dtype=np.float64)
            counts, n_less, n_less_equal = scan_numeric(
                np.ascontiguousarray(values),
                np.asarray(entry["edges"], dtype=np.float64),
                reference,
            )
            counts = counts.astype(np.float64)
            test = "ks"
            statistic, p_value = _ks_from_positions(reference, n_less, n_less_equal)
        else:
            counts = categorical_bin_counts(column, entry["categories"])
            test = "chi2"
            statistic, p_value = chi_squared_against_reference(
                np.asarray(entry["shares"]), entry.get("n", profile["n"]), counts
            )
        psi = population_stability_index(np.asarray(entry["shares"]), counts)
        rows.append(
            {
                "feature": name,
                "psi": psi,
                "status": psi_status(psi),
                "test": test,
                "statistic": statistic,
                "p_value": p_value,
                "n": len(frame),
                "n_reference": entry.get("n", profile["n"]),
            }
        )
    columns = ["feature", "psi", "status", "test", "statistic", "p_value", "n", "n_reference"]
    return pd.DataFrame(rows, columns=columns)
