"""Bins of one column, shared by the risky-outcome rate, weight of evidence and information value.

* a numeric column with at most ``bins`` distinct values gets one bin per value; otherwise
  quantile bins with edges at the ``j / bins`` quantiles of the present values (ties merge bins),
  right-closed — ``[e0, e1], (e1, e2], …`` — the same convention as the drift monitor's bins;
* a categorical column gets one bin per category, most frequent first; beyond
  ``max_categories`` categories the rarest are pooled into ``"other"``;
* missing values form their own bin ``"missing"`` (missingness is often informative).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MISSING = "missing"
OTHER = "other"


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


def bin_counts(binned: pd.Series, outcome: np.ndarray) -> pd.DataFrame:
    """Rows per bin in reading order, empty bins included: ``bin``, ``count``, ``n_bad``,
    ``n_good`` (``outcome`` is 1 for a risky row)."""
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
