"""Impurity criteria for classification trees: Gini and entropy.

Both are computed from weighted class counts ``c_k`` with total ``W = sum_k c_k``:

* Gini:    ``1 - sum_k (c_k / W)^2``
* Entropy: ``-sum_k p_k log2 p_k`` with ``p_k = c_k / W``

The split search maximises scikit-learn's *proxy* improvement
``-W_L * I(left) - W_R * I(right)``, which orders splits exactly as the real
impurity decrease (the parent's impurity is the same for every candidate) but
skips two divisions. The arithmetic mirrors scikit-learn's ``_criterion.pyx``
operation by operation so that splits which do not tie in exact arithmetic are
ranked identically.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GINI = 0
ENTROPY = 1
CRITERIA = {"gini": GINI, "entropy": ENTROPY, "log_loss": ENTROPY}

_LOG2 = np.log(2.0)


@njit(cache=True, nogil=True, inline="always")
def gini_impurity(counts: np.ndarray, weight: float) -> float:
    """Gini impurity of weighted class counts ``counts`` summing to ``weight``."""
    sq_count = 0.0
    for k in range(counts.shape[0]):
        sq_count += counts[k] * counts[k]
    return 1.0 - sq_count / (weight * weight)


@njit(cache=True, nogil=True, inline="always")
def entropy_impurity(counts: np.ndarray, weight: float) -> float:
    """Entropy (base 2) of weighted class counts ``counts`` summing to ``weight``."""
    entropy = 0.0
    for k in range(counts.shape[0]):
        p = counts[k] / weight
        if p > 0.0:
            entropy -= p * (np.log(p) / _LOG2)
    return entropy


@njit(cache=True, nogil=True, inline="always")
def node_impurity(counts: np.ndarray, weight: float, criterion: int) -> float:
    """Impurity of a node under ``criterion`` (``GINI`` or ``ENTROPY``)."""
    if criterion == GINI:
        return gini_impurity(counts, weight)
    return entropy_impurity(counts, weight)


@njit(cache=True, nogil=True, inline="always")
def split_proxy(
    left: np.ndarray, total: np.ndarray, weight_left: float, weight_total: float, criterion: int
) -> float:
    """Proxy improvement ``-W_R I(right) - W_L I(left)`` of a candidate split.

    ``left`` holds the left child's weighted class counts, ``total`` the node's;
    the right child's counts are ``total - left`` (formed on the fly, no array).
    """
    weight_right = weight_total - weight_left
    imp_left = 0.0
    imp_right = 0.0
    if criterion == GINI:
        sq_left = 0.0
        sq_right = 0.0
        for k in range(left.shape[0]):
            c = left[k]
            r = total[k] - c
            sq_left += c * c
            sq_right += r * r
        imp_left = 1.0 - sq_left / (weight_left * weight_left)
        imp_right = 1.0 - sq_right / (weight_right * weight_right)
    else:
        for k in range(left.shape[0]):
            p = left[k] / weight_left
            if p > 0.0:
                imp_left -= p * (np.log(p) / _LOG2)
            q = (total[k] - left[k]) / weight_right
            if q > 0.0:
                imp_right -= q * (np.log(q) / _LOG2)
    return -weight_right * imp_right - weight_left * imp_left
