"""Paired bootstrap: the uncertainty of a difference between two models on the same rows.

Both models are measured on the same resamples: resample ``b`` draws ``n`` rows with
replacement, which is a vector of counts ``c_b`` (how often each row was drawn; multinomial
with ``n`` trials and equal probabilities). Every statistic is then a weighted statistic with
weights ``c_b``, computed for all ``B`` resamples at once as matrix products — no Python loop
over resamples:

* a mean (profit per row) is ``c_b · v / n``;
* the AUC is the weighted Mann–Whitney statistic. With rows sorted by score once and grouped
  into tied scores ``g``, ``N_g`` / ``P_g`` the weight of negatives / positives in group ``g``
  and ``N_<g`` the weight of negatives in lower groups,

      AUC_b = Σ_g P_g (N_<g + N_g / 2) / (Σ P · Σ N),

  which is the rank formula with mid-ranks for ties (resample-invariant sort: one argsort).

The interval of a difference is the percentile interval of its ``B`` resampled values at
``level`` (two-sided; its lower bound is a one-sided ``(1 + level) / 2`` confidence bound).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A point estimate and its percentile bootstrap interval."""

    estimate: float
    low: float
    high: float
    level: float
    n_resamples: int

    def as_dict(self) -> dict[str, Any]:
        """The fields, NaN written as None (JSON has no NaN)."""
        return {k: None if isinstance(v, float) and v != v else v for k, v in asdict(self).items()}

    def describe(self, digits: int = 3) -> str:
        return (
            f"{self.estimate:,.{digits}f} ({self.level:.0%} interval {self.low:,.{digits}f} to"
            f" {self.high:,.{digits}f}, {self.n_resamples} paired resamples)"
        )


def resample_counts(n_rows: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each of ``n_rows`` rows is drawn in each of ``n_resamples`` resamples:
    an integer array of shape ``(n_resamples, n_rows)`` whose rows sum to ``n_rows``."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_rows, np.full(n_rows, 1.0 / n_rows), size=n_resamples)


def weighted_auc(y: np.ndarray, score: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC of ``score`` against ``y`` (1 = positive) under each row of ``weights``.

    Parameters
    ----------
    y : array of shape (n,)
        Labels, 0 or 1.
    score : array of shape (n,)
        Higher means more likely positive.
    weights : array of shape (B, n) or (n,)
        Non-negative row weights (bootstrap counts, or ones for the plain AUC).

    Returns
    -------
    ndarray of shape (B,) (or a 0-d array for 1-d weights)
        NaN where a weighting leaves no positive or no negative.
    """
    y = np.asarray(y).astype(bool)
    score = np.asarray(score, dtype=np.float64)
    w = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order = np.argsort(score, kind="mergesort")
    sorted_score = score[order]
    starts = np.flatnonzero(np.r_[True, sorted_score[1:] != sorted_score[:-1]])
    w_sorted = w[:, order]
    positives = np.add.reduceat(w_sorted * y[order], starts, axis=1)
    negatives = np.add.reduceat(w_sorted * ~y[order], starts, axis=1)
    below = np.cumsum(negatives, axis=1) - negatives
    pairs = positives.sum(axis=1) * negatives.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (positives * (below + 0.5 * negatives)).sum(axis=1) / pairs
    auc = np.where(pairs > 0, auc, np.nan)
    return auc if np.ndim(weights) == 2 else auc[0]


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Mean of ``values`` under each row of ``weights`` (shape (B, n)): shape (B,)."""
    w = np.asarray(weights, dtype=np.float64)
    return (w @ np.asarray(values, dtype=np.float64)) / w.sum(axis=1)


def percentile_interval(estimate: float, resampled: np.ndarray, level: float) -> Interval:
    """``estimate`` with the percentile interval of ``resampled`` at ``level`` (resamples
    where the statistic is undefined are left out; NaN bounds when none is defined)."""
    finite = resampled[np.isfinite(resampled)]
    tail = (1.0 - level) / 2.0
    if finite.size == 0:
        return Interval(float(estimate), float("nan"), float("nan"), level, 0)
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return Interval(float(estimate), float(low), float(high), level, int(finite.size))
