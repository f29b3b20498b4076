"""Numba kernels for Lloyd's k-means iteration: assignment and centre update."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def assign_to_nearest(
    X: np.ndarray, centers: np.ndarray, labels_out: np.ndarray, sq_dist_out: np.ndarray
) -> None:
    """Label each row of X (float64, (n, d)) with its nearest centre ((k, d)).

    Writes the label (int32) and the squared distance to that centre into the
    solver-owned output arrays. Direct Σ(x - c)² rather than the dot-product
    expansion: exact to rounding, and k·d is small per row.
    """
    n_samples, n_features = X.shape
    n_clusters = centers.shape[0]
    for i in range(n_samples):
        best = np.inf
        best_k = 0
        for k in range(n_clusters):
            dist = 0.0
            for j in range(n_features):
                diff = X[i, j] - centers[k, j]
                dist += diff * diff
            if dist < best:
                best = dist
                best_k = k
        labels_out[i] = best_k
        sq_dist_out[i] = best


@njit(cache=True)
def weighted_cluster_sums(
    X: np.ndarray, weights: np.ndarray, labels: np.ndarray, n_clusters: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-cluster weighted sums of rows, shape (k, d), and total weights, shape (k,)."""
    n_samples, n_features = X.shape
    sums = np.zeros((n_clusters, n_features))
    totals = np.zeros(n_clusters)
    for i in range(n_samples):
        k = labels[i]
        w = weights[i]
        totals[k] += w
        for j in range(n_features):
            sums[k, j] += w * X[i, j]
    return sums, totals
