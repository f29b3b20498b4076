"""Rank correlation between numeric features, and its strongest pairs."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


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
