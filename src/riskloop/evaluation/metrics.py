"""Metrics of a probability of default against observed outcomes.

* AUC — probability that a random bad is scored above a random good.
* Gini = 2·AUC − 1, the credit industry's name for the same ranking power.
* KS — the largest gap between the score distributions of bads and goods,
  max_t |F_bad(t) − F_good(t)|.
* Brier — mean squared error of the probability, (1/n) Σ (p_i − y_i)²; lower is better, and
  unlike AUC it punishes miscalibration.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def ks_statistic(y_true: np.ndarray, probability: np.ndarray) -> float:
    """Kolmogorov–Smirnov distance between the score distributions of the two classes."""
    y = np.asarray(y_true).astype(bool)
    p = np.asarray(probability, dtype=np.float64)
    order = np.argsort(p, kind="mergesort")
    p, y = p[order], y[order]
    cum_bad = np.cumsum(y) / max(y.sum(), 1)
    cum_good = np.cumsum(~y) / max((~y).sum(), 1)
    # evaluate only at the last position of each distinct score, so ties are not split
    last_of_value = np.r_[p[1:] != p[:-1], True]
    return float(np.max(np.abs(cum_bad - cum_good)[last_of_value]))


def brier_score(y_true: np.ndarray, probability: np.ndarray) -> float:
    y = np.asarray(y_true, dtype=np.float64)
    return float(np.mean((np.asarray(probability, dtype=np.float64) - y) ** 2))


def classification_metrics(y_true: np.ndarray, probability: np.ndarray) -> dict[str, float]:
    """AUC, Gini, KS, Brier and the observed bad rate of one labelled sample."""
    auc = float(roc_auc_score(y_true, probability))
    return {
        "auc": auc,
        "gini": 2.0 * auc - 1.0,
        "ks": ks_statistic(y_true, probability),
        "brier": brier_score(y_true, probability),
        "bad_rate": float(np.mean(y_true)),
        "n": int(len(y_true)),
    }
