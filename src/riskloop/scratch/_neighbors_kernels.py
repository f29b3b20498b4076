"""Numba kernel for the k-nearest-neighbours vote."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def weighted_vote(neighbor_labels: np.ndarray, weights: np.ndarray, n_classes: int) -> np.ndarray:
    """Class probabilities from the labels (int64, shape (m, k)) of each row's neighbours.

    ``weights`` (float64, shape (m, k)) are the neighbours' vote weights; each
    output row is normalised to sum to one.
    """
    n_rows, k = neighbor_labels.shape
    proba = np.zeros((n_rows, n_classes))
    for i in range(n_rows):
        total = 0.0
        for j in range(k):
            proba[i, neighbor_labels[i, j]] += weights[i, j]
            total += weights[i, j]
        if total > 0.0:
            for c in range(n_classes):
                proba[i, c] /= total
    return proba
