"""Best split of a node from its histogram, and the partition of its samples.

Second-order (XGBoost) criterion with L2 penalty ``lambda``: a node with
gradient sum ``G`` and hessian sum ``H`` has value ``v = -G / (H + lambda)``
and loss ``G * v``; a split's gain is

    gain = G v - G_L v_L - G_R v_R
         = G_L^2 / (H_L + lambda) + G_R^2 / (H_R + lambda) - G^2 / (H + lambda).

For each feature the bins are scanned left to right (missing values go right);
when the feature had missing values at fit time they are scanned again right to
left with the missing bin on the left, and the better direction is learned for
that split. Candidates leaving fewer than ``min_samples_leaf`` samples or less
than ``min_hessian`` hessian on a side are skipped. Cost ``O(n_features * n_bins)``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Index of the fields of a split record returned by :func:`find_best_split`.
GAIN, FEATURE, BIN, MISSING_LEFT, GRAD_LEFT, HESS_LEFT, COUNT_LEFT = range(7)


@njit(cache=True)
def node_value(sum_gradients: float, sum_hessians: float, l2_regularization: float) -> float:
    """Newton step of a leaf, ``-G / (H + lambda)`` (shrinkage applied later)."""
    return -sum_gradients / (sum_hessians + l2_regularization + 1e-15)


@njit(cache=True)
def _gain(g_left, h_left, g_right, h_right, loss_node, l2):
    value_left = node_value(g_left, h_left, l2)
    value_right = node_value(g_right, h_right, l2)
    return loss_node - g_left * value_left - g_right * value_right


@njit(cache=True)
def find_best_split(
    hist: np.ndarray,
    n_samples: int,
    sum_gradients: float,
    sum_hessians: float,
    value: float,
    n_bins_non_missing: np.ndarray,
    has_missing: np.ndarray,
    missing_bin: int,
    min_samples_leaf: int,
    min_hessian: float,
    l2_regularization: float,
) -> np.ndarray:
    """Best split over all features as a float64 record (see the field indices above).

    ``GAIN`` is -1 when no candidate satisfies the constraints. ``BIN`` is the
    last bin sent left; ``MISSING_LEFT`` is 1.0 when the missing bin goes left.
    Ties keep the first candidate found (lowest feature, then lowest bin), as
    scikit-learn does.
    """
    best = np.full(7, -1.0)
    loss_node = sum_gradients * value
    for j in range(hist.shape[0]):
        missing = has_missing[j]
        # Left to right, missing bin on the right. The last non-missing bin may
        # go left only when missing values remain to form the right child.
        end = n_bins_non_missing[j] - 1 + missing
        g_left = 0.0
        h_left = 0.0
        n_left = 0.0
        for b in range(end):
            g_left += hist[j, b, 0]
            h_left += hist[j, b, 1]
            n_left += hist[j, b, 2]
            n_right = n_samples - n_left
            h_right = sum_hessians - h_left
            if n_left < min_samples_leaf:
                continue
            if n_right < min_samples_leaf:
                break
            if h_left < min_hessian:
                continue
            if h_right < min_hessian:
                break
            gain = _gain(
                g_left, h_left, sum_gradients - g_left, h_right, loss_node, l2_regularization
            )
            if gain > best[GAIN] and gain > 0.0:
                best[GAIN] = gain
                best[FEATURE] = j
                best[BIN] = b
                best[MISSING_LEFT] = 0.0
                best[GRAD_LEFT] = g_left
                best[HESS_LEFT] = h_left
                best[COUNT_LEFT] = n_left
        if not missing:
            continue
        # Right to left, missing bin on the left: bins b+1.. go right.
        g_right = 0.0
        h_right = 0.0
        n_right = 0.0
        for b in range(n_bins_non_missing[j] - 2, -1, -1):
            g_right += hist[j, b + 1, 0]
            h_right += hist[j, b + 1, 1]
            n_right += hist[j, b + 1, 2]
            n_left = n_samples - n_right
            h_left = sum_hessians - h_right
            if n_right < min_samples_leaf:
                continue
            if n_left < min_samples_leaf:
                break
            if h_right < min_hessian:
                continue
            if h_left < min_hessian:
                break
            g_left = sum_gradients - g_right
            gain = _gain(g_left, h_left, g_right, h_right, loss_node, l2_regularization)
            if gain > best[GAIN] and gain > 0.0:
                best[GAIN] = gain
                best[FEATURE] = j
                best[BIN] = b
                best[MISSING_LEFT] = 1.0
                best[GRAD_LEFT] = g_left
                best[HESS_LEFT] = h_left
                best[COUNT_LEFT] = n_left
    return best


#: Nodes with at least this many samples are partitioned on all threads.
PARALLEL_MIN_SAMPLES = 50_000


@njit(cache=True, inline="always")
def _goes_left(b, bin_idx, missing_left, missing_bin):
    return b <= bin_idx or (missing_left and b == missing_bin)


@njit(cache=True)
def _partition_serial(partition, start, stop, column, bin_idx, missing_left, missing_bin, buffer):
    n_left = start
    n_right = 0
    for i in range(start, stop):
        row = partition[i]
        if _goes_left(column[row], bin_idx, missing_left, missing_bin):
            partition[n_left] = row
            n_left += 1
        else:
            buffer[n_right] = row
            n_right += 1
    partition[n_left:stop] = buffer[:n_right]
    return n_left


@njit(cache=True, parallel=True)
def _partition_parallel(partition, start, stop, column, bin_idx, missing_left, missing_bin, buffer):
    # One pass: each chunk sorts its rows into its own stretch of a left area
    # (buffer[:n]) and a right area (buffer[n:]); then the chunks' stretches are
    # copied to their final places. The result equals the serial (stable) one.
    n = stop - start
    n_chunks = 64
    chunk = (n + n_chunks - 1) // n_chunks
    left_counts = np.zeros(n_chunks, dtype=np.int64)
    right_counts = np.zeros(n_chunks, dtype=np.int64)
    for c in prange(n_chunks):
        lo = min(c * chunk, n)
        hi = min(lo + chunk, n)
        n_left = 0
        n_right = 0
        for i in range(lo, hi):
            row = partition[start + i]
            if _goes_left(column[row], bin_idx, missing_left, missing_bin):
                buffer[lo + n_left] = row
                n_left += 1
            else:
                buffer[n + lo + n_right] = row
                n_right += 1
        left_counts[c] = n_left
        right_counts[c] = n_right
    left_offsets = np.cumsum(left_counts) - left_counts
    total_left = left_counts.sum()
    right_offsets = np.cumsum(right_counts) - right_counts + total_left
    for c in prange(n_chunks):
        lo = min(c * chunk, n)
        for i in range(left_counts[c]):
            partition[start + left_offsets[c] + i] = buffer[lo + i]
        for i in range(right_counts[c]):
            partition[start + right_offsets[c] + i] = buffer[n + lo + i]
    return start + total_left


def split_partition(
    partition: np.ndarray,
    start: int,
    stop: int,
    column: np.ndarray,
    bin_idx: int,
    missing_left: bool,
    missing_bin: int,
    buffer: np.ndarray,
) -> int:
    """Stable in-place partition of ``partition[start:stop]`` into left then right rows.

    Returns the position where the right child starts. ``buffer`` is int32
    scratch space of twice the partition's length.
    """
    kernel = _partition_parallel if stop - start >= PARALLEL_MIN_SAMPLES else _partition_serial
    return kernel(partition, start, stop, column, bin_idx, missing_left, missing_bin, buffer)
