"""Weight of evidence, information value and the risky-outcome rate per bin.

Sign convention: **positive WoE = safer than average**. With ``good_i``/``bad_i`` the counts
in bin i, ``G``/``B`` the totals, ``k`` the number of bins and a smoothing ``α`` (default 0.5)
added to every cell so that an empty cell gives a finite value,

    g_i = (good_i + α) / (G + k·α),    b_i = (bad_i + α) / (B + k·α),
    WoE_i = ln(g_i / b_i),             IV = Σ_i (g_i − b_i) · WoE_i  ≥ 0.

The shares still sum to one after smoothing. Usual reading of IV in credit scoring:
< 0.02 useless, 0.02–0.1 weak, 0.1–0.3 medium, 0.3–0.5 strong, > 0.5 suspicious (too good to
be true: check the feature for leakage of the outcome).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.eda._inputs import column_of, outcome_vector
from riskloop.evaluation.eda.binning import assign_bins, bin_counts

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
    outcome = outcome_vector(y, len(frame))
    binned = assign_bins(
        column_of(frame, column), bins, categorical=categorical, max_categories=max_categories
    )
    table = bin_counts(binned, outcome)
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
    outcome = outcome_vector(y, len(binned))
    table = bin_counts(binned, outcome)
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
        column_of(frame, column), bins, categorical=categorical, max_categories=max_categories
    )
    return woe_table(binned, y, smoothing)
