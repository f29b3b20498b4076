"""Label-free performance estimates from calibrated probabilities (confidence-based).

In credit the outcome of a decision arrives months later. Until then, if the model is
calibrated, each probability p_i *is* the expected outcome of applicant i, so expected metrics
follow from the scores alone:

* expected bad rate among approved = mean of p_i over approved applicants;
* expected AUC (ratio of expectations) =
  Σ_{i≠j} p_i (1 − p_j) · H(s_i − s_j)  /  Σ_{i≠j} p_i (1 − p_j),
  with H the step function (½ at ties) and s the score — the chance a random "bad" is ranked
  above a random "good" when bads and goods are drawn by the model's own probabilities.

Limits (documented in docs/monitoring.md): these estimates assume the model stays calibrated.
They see covariate shift (the mix of applicants moves, so the estimate moves), but they cannot
see concept drift — when the same applicant becomes riskier than the model thinks, the scores do
not change and neither does the estimate. Only realised labels reveal that.
"""

from __future__ import annotations

import numpy as np


def expected_auc(probability: np.ndarray, score: np.ndarray | None = None) -> float:
    """Expected ROC AUC if outcomes were drawn from ``probability`` (scores rank, default p)."""
    p = np.asarray(probability, dtype=np.float64)
    s = p if score is None else np.asarray(score, dtype=np.float64)
    if p.size < 2:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    p, s = p[order], s[order]
    good = 1.0 - p
    # for each i: Σ (1 − p_j) over j scored strictly lower, and over j tied with i (j ≠ i)
    first = np.searchsorted(s, s, side="left")
    last = np.searchsorted(s, s, side="right")
    cumulative = np.concatenate([[0.0], np.cumsum(good)])
    below = cumulative[first]
    tied = cumulative[last] - cumulative[first] - good
    numerator = np.sum(p * (below + 0.5 * tied))
    denominator = np.sum(p * (good.sum() - good))
    return float(numerator / denominator) if denominator > 0 else float("nan")


def expected_bad_rate(probability: np.ndarray, approved: np.ndarray) -> float:
    """Expected share of defaulters among approved applicants: mean probability over them."""
    p = np.asarray(probability, dtype=np.float64)
    mask = np.asarray(approved, dtype=bool)
    return float(p[mask].mean()) if mask.any() else float("nan")
