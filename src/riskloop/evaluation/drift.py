"""Population stability: how far a new sample's distribution has moved from training.

The reference profile is computed once, on the training data, and travels with the scorer.
For a numeric feature it holds the edges of (up to) ten quantile bins of the training values
plus a bin for missing values; for a categorical feature, one bin per training category plus
"missing" and "other". The population stability index between the reference shares e_i and
the new shares a_i is

    PSI = Σ_i (a_i − e_i) · ln(a_i / e_i),

with shares floored at ``EPSILON`` so an empty bin does not give an infinite value.
Convention in credit: PSI < 0.10 stable, 0.10–0.25 watch, > 0.25 act.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.schema import InputSchema

EPSILON = 1e-4
N_QUANTILE_BINS = 10
# With ten bins, fewer rows than this leave most bins near-empty and PSI mostly measures noise.
MIN_ROWS_FOR_PSI = 100
MISSING = "__missing__"
OTHER = "__other__"


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
    present = values.dropna().astype(str)
    counts = present.value_counts()
    known = np.array([counts.get(c, 0) for c in categories], dtype=np.float64)
    other = len(present) - known.sum()
    return np.append(known, [values.isna().sum(), other])


def reference_profile(frame: pd.DataFrame, schema: InputSchema) -> dict[str, Any]:
    """Bins and shares per feature of the training data (JSON-serialisable)."""
    profile: dict[str, Any] = {"n": len(frame), "features": {}}
    for feature in schema.features:
        column = frame[feature.name]
        if feature.kind == "numeric":
            values = column.to_numpy(dtype=np.float64, na_value=np.nan)
            edges = _numeric_edges(values)
            counts = numeric_bin_counts(values, edges)
            entry = {"kind": "numeric", "edges": edges}
        else:
            categories = sorted({str(v) for v in column.dropna().unique()})
            counts = categorical_bin_counts(column, categories)
            entry = {"kind": "categorical", "categories": categories}
        entry["shares"] = (counts / max(counts.sum(), 1)).tolist()
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


def psi_by_feature(profile: dict[str, Any], frame: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: PSI of ``frame`` against the reference profile, with its status."""
    rows = []
    for name, entry in profile["features"].items():
        if name not in frame.columns:
            continue
        column = frame[name]
        if entry["kind"] == "numeric":
            counts = numeric_bin_counts(
                pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan),
                entry["edges"],
            )
        else:
            counts = categorical_bin_counts(column, entry["categories"])
        psi = population_stability_index(np.asarray(entry["shares"]), counts)
        rows.append({"feature": name, "psi": psi, "status": psi_status(psi), "n": len(frame)})
    return pd.DataFrame(rows, columns=["feature", "psi", "status", "n"])
