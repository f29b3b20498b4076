"""Missing values per column, and the risky-outcome rate with and without them."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.eda._inputs import outcome_vector


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
        outcome = outcome_vector(y, len(frame)).astype(np.float64)
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
