"""Exploratory data analysis of a binary-outcome table: the numbers behind the EDA report.

Pure functions of a DataFrame and an outcome vector ``y`` (1 = the scenario's risky outcome,
e.g. a loan that went bad; 0 = good). Nothing here knows about credit: which column is the
target and which value is risky comes from the scenario, in the pipeline node.

Binning (shared by the risky-outcome rate, weight of evidence and information value):

* a numeric column with at most ``bins`` distinct values gets one bin per value; otherwise
  quantile bins with edges at the ``j / bins`` quantiles of the present values (ties merge bins),
  right-closed — ``[e0, e1], (e1, e2], …`` — the same convention as the drift monitor's bins;
* a categorical column gets one bin per category, most frequent first; beyond
  ``max_categories`` categories the rarest are pooled into ``"other"``;
* missing values form their own bin ``"missing"`` (missingness is often informative).

Weight of evidence and information value (sign convention: **positive WoE = safer than
average**). With ``good_i``/``bad_i`` the counts in bin i, ``G``/``B`` the totals, ``k`` the
number of bins and a smoothing ``α`` (default 0.5) added to every cell so that an empty cell
gives a finite value,

    g_i = (good_i + α) / (G + k·α),    b_i = (bad_i + α) / (B + k·α),
    WoE_i = ln(g_i / b_i),             IV = Σ_i (g_i − b_i) · WoE_i  ≥ 0.

The shares still sum to one after smoothing. Usual reading of IV in credit scoring:
< 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, 0.3–0.5 strong, > 0.5 suspicious (too good to
be true: check the feature for leakage of the outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.scratch import PCA, KMeans

MISSING = "missing"
OTHER = "other"
DEFAULT_SMOOTHING = 0.5

# (upper bound, reading) of the conventional information-value scale, in increasing order.
IV_SCALE: tuple[tuple[float, str], ...] = (
    (0.02, "useless"),
    (0.1, "weak"),
    (0.3, "medium"),
    (0.5, "strong"),
    (float("inf"), "suspicious"),
)


def iv_strength(iv: float) -> str:
    """The conventional reading of an information value (see the module docstring)."""
    for upper, reading in IV_SCALE:
        if iv < upper:
            return reading
    return IV_SCALE[-1][1]


def _outcome(y: Any, n_rows: int) -> np.ndarray:
    """Validate an outcome vector: ``n_rows`` values, each 0 or 1."""
    values = np.asarray(y)
    if values.ndim != 1 or values.shape[0] != n_rows:
        raise ValueError(
            f"y must hold one outcome per row: {n_rows} rows, got shape {values.shape}"
        )
    if values.dtype == bool:
        return values.astype(np.int8)
    unexpected = set(np.unique(values).tolist()) - {0, 1}
    if unexpected:
        shown = ", ".join(repr(v) for v in sorted(unexpected, key=str)[:5])
        raise ValueError(f"y must be 0 (good) or 1 (risky outcome); received {shown}")
    return values.astype(np.int8)


def _column(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        raise KeyError(f"column {column!r} is not in the data (columns: {list(frame.columns)})")
    return frame[column]


def _is_categorical(series: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)


def _number(value: float) -> str:
    """Short bin-edge label: 1500 rather than 1500.0, 0.125 rather than 0.12500001 (no thousands
    separator: it would read as the comma between an interval's edges)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.4g}"


def quantile_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """Distinct edges ``e0 < e1 < … < em`` at the ``j / bins`` quantiles of the non-missing values.

    Linear interpolation between order statistics, as ``numpy.quantile`` and ``pandas.qcut``.
    Ties (e.g. many zeros) make some quantiles equal; those bins merge, so ``m ≤ bins``.
    """
    present = values[~np.isnan(values)]
    if present.size == 0:
        return np.empty(0)
    return np.unique(np.quantile(present, np.linspace(0.0, 1.0, bins + 1)))


def assign_bins(
    values: pd.Series,
    bins: int = 10,
    *,
    categorical: bool | None = None,
    max_categories: int = 20,
) -> pd.Series:
    """The bin of every value, as an ordered pandas Categorical (see the module docstring).

    Parameters
    ----------
    values : Series
        One column of the data.
    bins : int
        Number of quantile bins for a numeric column (fewer when quantiles tie). Default 10.
    categorical : bool or None
        Treat the column as categorical; None infers it from the dtype (non-numeric or bool).
    max_categories : int
        Most bins a categorical column gets; the rarest categories beyond it share ``"other"``.

    Returns
    -------
    Series
        Same index as ``values``; categories in reading order (ascending numeric bins or
        descending category frequency), then ``"other"``, then ``"missing"`` when present.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, received {bins}")
    missing = values.isna().to_numpy()
    if categorical is None:
        categorical = _is_categorical(values)
    labels = np.full(len(values), MISSING, dtype=object)
    if categorical:
        text = values[~missing].astype(str)
        counts = text.value_counts(sort=True)
        order = counts.index.tolist()
        if len(order) > max_categories:
            kept = order[: max_categories - 1]
            text = text.where(text.isin(kept), OTHER)
            order = [*kept, OTHER]
        labels[~missing] = text.to_numpy(dtype=object)
    else:
        numbers = pd.to_numeric(values, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
        present = numbers[~missing]
        distinct = np.unique(present)
        if distinct.size <= bins:
            order = [_number(v) for v in distinct]
            index = np.searchsorted(distinct, present)
        else:
            edges = quantile_edges(present, bins)
            order = [f"[{_number(edges[0])}, {_number(edges[1])}]"] + [
                f"({_number(lo)}, {_number(hi)}]"
                for lo, hi in zip(edges[1:-1], edges[2:], strict=True)
            ]
            # bin i is (e_i, e_{i+1}]; the first bin also holds the minimum e_0
            index = np.searchsorted(edges[1:-1], present, side="left")
        labels[~missing] = np.asarray(order, dtype=object)[index]
    if missing.any():
        order = [*order, MISSING]
    return pd.Series(
        pd.Categorical(labels, categories=order, ordered=True), index=values.index, name=values.name
    )


def _bin_counts(binned: pd.Series, outcome: np.ndarray) -> pd.DataFrame:
    # group on the Categorical itself: keeps the reading order and the empty bins
    grouped = pd.DataFrame({"bin": binned.array, "bad": outcome}).groupby(
        "bin", observed=False, sort=True
    )["bad"]
    table = pd.DataFrame({"count": grouped.size(), "n_bad": grouped.sum()}).reset_index()
    table["bin"] = table["bin"].astype(str)
    table["count"] = table["count"].astype(int)
    table["n_bad"] = table["n_bad"].astype(int)
    table["n_good"] = table["count"] - table["n_bad"]
    return table


def target_rate_by_bin(
    frame: pd.DataFrame,
    column: str,
    y: Any,
    bins: int = 10,
    *,
    categorical: bool | None = None,
    max_categories: int = 20,
) -> pd.DataFrame:
    """Rate of the risky outcome per bin of ``column``.

    Parameters
    ----------
    frame : DataFrame
        The data.
    column : str
        The feature to bin (numeric: quantile bins; categorical: one bin per category).
    y : array-like of 0/1
        The outcome of every row of ``frame``; 1 is the risky outcome.
    bins, categorical, max_categories
        Binning, as in :func:`assign_bins`.

    Returns
    -------
    DataFrame
        One row per bin in reading order: ``bin``, ``count``, ``share`` (of all rows),
        ``n_bad``, ``bad_rate`` (share of risky outcomes in the bin; NaN for an empty bin).
    """
    outcome = _outcome(y, len(frame))
    binned = assign_bins(
        _column(frame, column), bins, categorical=categorical, max_categories=max_categories
    )
    table = _bin_counts(binned, outcome)
    table["share"] = table["count"] / max(len(frame), 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["bad_rate"] = table["n_bad"] / table["count"].where(table["count"] > 0)
    return table[["bin", "count", "share", "n_bad", "bad_rate"]]


def woe_table(
    binned: pd.Series, y: Any, smoothing: float = DEFAULT_SMOOTHING
) -> tuple[float, pd.DataFrame]:
    """Weight of evidence per bin and the information value of an already-binned column.

    Parameters
    ----------
    binned : Series
        The bin of every row (e.g. from :func:`assign_bins`); every category is a bin, even
        an empty one.
    y : array-like of 0/1
        Outcome per row; 1 is the risky ("bad") outcome, 0 the good one.
    smoothing : float
        α added to the good and the bad count of every bin (module docstring). Default 0.5;
        0 gives the textbook formula, infinite for a bin without goods or without bads.

    Returns
    -------
    (float, DataFrame)
        The information value and one row per bin: ``bin``, ``count``, ``n_good``, ``n_bad``,
        ``bad_rate``, ``share_good`` (g_i), ``share_bad`` (b_i), ``woe``, ``iv_contribution``.
    """
    if smoothing < 0:
        raise ValueError(f"smoothing must be >= 0, received {smoothing}")
    outcome = _outcome(y, len(binned))
    table = _bin_counts(binned, outcome)
    k = len(table)
    goods, bads = table["n_good"].sum(), table["n_bad"].sum()
    if goods == 0 or bads == 0:
        raise ValueError(
            f"weight of evidence needs both outcomes; received {goods} good and {bads} bad rows"
        )
    with np.errstate(invalid="ignore", divide="ignore"):
        table["bad_rate"] = table["n_bad"] / table["count"].where(table["count"] > 0)
        table["share_good"] = (table["n_good"] + smoothing) / (goods + k * smoothing)
        table["share_bad"] = (table["n_bad"] + smoothing) / (bads + k * smoothing)
        table["woe"] = np.log(table["share_good"] / table["share_bad"])
        table["iv_contribution"] = (table["share_good"] - table["share_bad"]) * table["woe"]
    # a bin empty of both outcomes (possible only without smoothing) carries no evidence
    empty = (table["share_good"] == 0) & (table["share_bad"] == 0)
    table.loc[empty, ["woe", "iv_contribution"]] = 0.0
    return float(table["iv_contribution"].sum()), table


def information_value(
    frame: pd.DataFrame,
    column: str,
    y: Any,
    bins: int = 10,
    *,
    categorical: bool | None = None,
    max_categories: int = 20,
    smoothing: float = DEFAULT_SMOOTHING,
) -> tuple[float, pd.DataFrame]:
    """Information value of ``column`` for the outcome ``y`` and its weight-of-evidence table.

    Bins as :func:`assign_bins`, WoE and IV as :func:`woe_table` (positive WoE = fewer risky
    outcomes than average).
    """
    binned = assign_bins(
        _column(frame, column), bins, categorical=categorical, max_categories=max_categories
    )
    return woe_table(binned, y, smoothing)


def missingness(frame: pd.DataFrame, y: Any = None) -> pd.DataFrame:
    """Missing values per column, and (given ``y``) the risky-outcome rate with and without.

    Returns
    -------
    DataFrame
        One row per column, most missing first (file order among equals): ``column``,
        ``n_missing``, ``share_missing``; with ``y`` also ``bad_rate_missing`` and
        ``bad_rate_present`` (NaN where there is no such row).
    """
    missing = frame.isna()
    table = pd.DataFrame(
        {
            "column": list(frame.columns),
            "n_missing": missing.sum().to_numpy(dtype=int),
            "share_missing": missing.mean().to_numpy(dtype=float) if len(frame) else 0.0,
        }
    )
    if y is not None:
        outcome = _outcome(y, len(frame)).astype(np.float64)
        is_missing = missing.to_numpy()
        n_missing = is_missing.sum(axis=0)
        n_present = len(frame) - n_missing
        bad_missing = outcome @ is_missing
        bad_present = outcome.sum() - bad_missing
        with np.errstate(invalid="ignore", divide="ignore"):
            table["bad_rate_missing"] = np.where(n_missing > 0, bad_missing / n_missing, np.nan)
            table["bad_rate_present"] = np.where(n_present > 0, bad_present / n_present, np.nan)
    order = np.lexsort((np.arange(len(table)), -table["n_missing"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def rank_correlation(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Spearman rank correlation of the numeric ``columns`` (pairwise-complete rows).

    Rank correlation, not Pearson: credit amounts are heavy-tailed and their relations
    monotone rather than linear.
    """
    return frame[list(columns)].astype(float).corr(method="spearman")


def strongest_correlations(correlation: pd.DataFrame, top: int = 5) -> pd.DataFrame:
    """The ``top`` pairs of distinct columns with the largest |rho|: ``first``, ``second``,
    ``rho``."""
    names = list(correlation.columns)
    pairs = [
        (names[i], names[j], float(correlation.iloc[i, j]))
        for i in range(len(names))
        for j in range(i + 1, len(names))
        if np.isfinite(correlation.iloc[i, j])
    ]
    pairs.sort(key=lambda pair: -abs(pair[2]))
    return pd.DataFrame(pairs[:top], columns=["first", "second", "rho"])


def pca_kmeans_view(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    y: Any,
    n_clusters: int = 4,
    seed: int = 0,
    n_profile: int = 3,
) -> dict[str, Any]:
    """Principal components and k-means clusters of the model matrix, with the outcome beside.

    The model matrix is what the models see: :class:`~riskloop.features.TabularPreprocessor`
    (median imputation, standardised numbers, one-hot categories). PCA and k-means are
    riskloop's own (:mod:`riskloop.scratch`); k-means runs on the full matrix, not on the 2-D
    projection, which is only for looking.

    Parameters
    ----------
    frame : DataFrame
        The data.
    numeric, categorical : sequence of str
        The model's numeric and categorical inputs.
    y : array-like of 0/1
        Outcome per row (1 = risky); never used to fit, only to describe the clusters.
    n_clusters : int
        k of k-means. Default 4.
    seed : int
        Seed of the k-means initialisations. Default 0.
    n_profile : int
        Model-matrix columns that describe each cluster (those whose cluster mean is furthest
        from the overall mean, in standard deviations). Default 3.

    Returns
    -------
    dict
        ``coordinates`` (n × 2 projections on the first two components), ``clusters``
        (cluster of each row, numbered by decreasing size), ``explained_variance_ratio`` (all
        components), ``feature_names`` (model-matrix columns), ``loadings`` (DataFrame: the
        first two components' weight per model-matrix column), ``clusters_table`` (DataFrame:
        ``cluster``, ``count``, ``share``, ``bad_rate``, ``lift`` = bad rate / overall bad rate,
        ``profile``).
    """
    outcome = _outcome(y, len(frame))
    if not 1 <= n_clusters <= len(frame):
        raise ValueError(f"n_clusters must be in [1, {len(frame)}], received {n_clusters}")
    preprocessor = TabularPreprocessor(numeric=list(numeric), categorical=list(categorical))
    matrix = preprocessor.fit_transform(frame)
    names = [str(n) for n in preprocessor.get_feature_names_out()]
    pca = PCA().fit(matrix)
    coordinates = pca.transform(matrix)[:, :2]
    if coordinates.shape[1] < 2:  # a single input column: show it against zero
        coordinates = np.column_stack([coordinates, np.zeros(len(frame))])
    kmeans = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(matrix)
    # Number the clusters by size so the labels do not depend on the initialisation order.
    sizes = np.bincount(kmeans.labels_, minlength=n_clusters)
    rank = np.empty(n_clusters, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(n_clusters)
    clusters = rank[kmeans.labels_]

    overall_rate = float(outcome.mean())
    spread = matrix.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    rows = []
    for cluster in range(n_clusters):
        members = clusters == cluster
        shift = (matrix[members].mean(axis=0) - matrix.mean(axis=0)) / spread
        strongest = np.argsort(-np.abs(shift), kind="stable")[:n_profile]
        bad_rate = float(outcome[members].mean()) if members.any() else float("nan")
        rows.append(
            {
                "cluster": cluster,
                "count": int(members.sum()),
                "share": float(members.mean()),
                "bad_rate": bad_rate,
                "lift": bad_rate / overall_rate if overall_rate > 0 else float("nan"),
                "profile": ", ".join(f"{names[j]} {shift[j]:+.1f} sd" for j in strongest),
            }
        )
    components = pca.components_[:2]
    loadings = pd.DataFrame(components.T, index=names, columns=["pc1", "pc2"][: len(components)])
    return {
        "coordinates": coordinates,
        "clusters": clusters,
        "explained_variance_ratio": pca.explained_variance_ratio_.copy(),
        "feature_names": names,
        "loadings": loadings,
        "clusters_table": pd.DataFrame(rows),
    }


@dataclass
class EDAResult:
    """Everything the EDA report shows, computed once.

    Attributes
    ----------
    overview : dict
        ``n_rows``, ``n_bad``, ``bad_rate``, ``numeric``, ``categorical`` (feature lists).
    missingness : DataFrame
        :func:`missingness` of the features.
    information_values : DataFrame
        ``feature``, ``kind``, ``iv``, ``strength``, ``n_bins``; highest IV first.
    woe : dict of str to DataFrame
        :func:`woe_table` per feature (it includes the risky-outcome rate per bin).
    correlation : DataFrame
        :func:`rank_correlation` of the numeric features (empty with fewer than two).
    structure : dict
        :func:`pca_kmeans_view`.
    settings : dict
        The binning and clustering settings used.
    """

    overview: dict[str, Any]
    missingness: pd.DataFrame
    information_values: pd.DataFrame
    woe: dict[str, pd.DataFrame]
    correlation: pd.DataFrame
    structure: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A small JSON document of the findings (no per-row data)."""
        clusters = self.structure["clusters_table"]
        return {
            "overview": self.overview,
            "settings": self.settings,
            "information_value": _records(self.information_values),
            "missingness": _records(self.missingness[self.missingness["n_missing"] > 0]),
            "strongest_correlations": _records(strongest_correlations(self.correlation)),
            "explained_variance_ratio": [
                float(v) for v in self.structure["explained_variance_ratio"][:5]
            ],
            "clusters": _records(clusters),
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN becomes None)."""
    clean = table.astype(object).where(table.notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


def explore(
    frame: pd.DataFrame,
    y: Any,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    bins: int = 10,
    max_categories: int = 20,
    smoothing: float = DEFAULT_SMOOTHING,
    n_clusters: int = 4,
    seed: int = 0,
) -> EDAResult:
    """Run every analysis of the EDA report on ``frame``.

    Parameters
    ----------
    frame : DataFrame
        The data (in the pipeline: the training split, so nothing is learnt from the rows
        models are later judged on).
    y : array-like of 0/1
        Outcome per row; 1 is the risky outcome.
    numeric, categorical : sequence of str
        The features, by kind.
    bins, max_categories, smoothing
        Binning and WoE smoothing (:func:`assign_bins`, :func:`woe_table`).
    n_clusters, seed
        k-means settings (:func:`pca_kmeans_view`).
    """
    outcome = _outcome(y, len(frame))
    features = [*numeric, *categorical]
    kinds = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
    woe: dict[str, pd.DataFrame] = {}
    rows = []
    for name in features:
        binned = assign_bins(
            frame[name],
            bins,
            categorical=kinds[name] == "categorical",
            max_categories=max_categories,
        )
        iv, table = woe_table(binned, outcome, smoothing)
        woe[name] = table
        rows.append(
            {
                "feature": name,
                "kind": kinds[name],
                "iv": iv,
                "strength": iv_strength(iv),
                "n_bins": len(table),
            }
        )
    ivs = pd.DataFrame(rows, columns=["feature", "kind", "iv", "strength", "n_bins"])
    ivs = ivs.sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)
    correlation = (
        rank_correlation(frame, numeric) if len(numeric) >= 2 else pd.DataFrame(dtype=float)
    )
    return EDAResult(
        overview={
            "n_rows": len(frame),
            "n_bad": int(outcome.sum()),
            "bad_rate": float(outcome.mean()) if len(frame) else float("nan"),
            "numeric": list(numeric),
            "categorical": list(categorical),
        },
        missingness=missingness(frame[features], outcome),
        information_values=ivs,
        woe=woe,
        correlation=correlation,
        structure=pca_kmeans_view(frame, numeric, categorical, outcome, n_clusters, seed),
        settings={
            "bins": bins,
            "max_categories": max_categories,
            "smoothing": smoothing,
            "n_clusters": n_clusters,
            "seed": seed,
        },
    )
