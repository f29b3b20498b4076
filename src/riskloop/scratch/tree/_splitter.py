"""Exact best-split search over presorted feature columns, and the partition step.

Layout (one row per feature, so every scan is sequential in memory):

* ``sorted_idx[f, start:end]`` — row ids of the node's samples, in increasing order
  of feature ``f``;
* ``sorted_val[f, start:end]`` — the matching float32 feature values.

Every node owns the same ``[start, end)`` segment in all ``d`` rows. Scanning a
feature is one left→right pass that moves one sample at a time from the right
child to the left child, updating weighted class counts incrementally, so a node
costs ``O(n_node · k)`` per feature and never sorts. After the split, the other
features' segments are partitioned stably (left samples first, order kept), so
children stay presorted: ``O(n_node · d)`` per split, ``O(n · d)`` per tree level.

Thresholds are the midpoint of two consecutive distinct values (scikit-learn's
rule, including its 1e-7 "same value" tolerance), and samples with
``x <= threshold`` go left.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._criterion import split_proxy

# Values closer than this are the same value (scikit-learn's FEATURE_THRESHOLD).
FEATURE_THRESHOLD = 1e-7


@njit(cache=True, nogil=True, inline="always")
def rand_below(state: np.ndarray, high: int) -> int:
    """Uniform integer in ``[0, high)`` from a xorshift64* generator in ``state[0]``.

    A private generator (instead of Numba's global one) keeps every tree
    reproducible from its seed whatever thread builds it.
    """
    x = state[0]
    x ^= x >> np.uint64(12)
    x ^= x << np.uint64(25)
    x ^= x >> np.uint64(27)
    state[0] = x
    r = x * np.uint64(2685821657736338717)
    return int(r >> np.uint64(33)) % high


@njit(cache=True, nogil=True)
def select_positive_weight(
    order: np.ndarray, sorted_values: np.ndarray, sample_weight: np.ndarray
) -> tuple:
    """Keep, per feature, only the presorted entries whose row has weight > 0.

    Zero-weight rows (e.g. rows left out of a bootstrap sample) do not take part
    in the tree at all, as in scikit-learn. Returns fresh ``(sorted_idx, sorted_val)``
    arrays that the builder may reorder in place.
    """
    n_features, n_rows = order.shape
    n_kept = 0
    for i in range(n_rows):
        if sample_weight[i] > 0.0:
            n_kept += 1
    sorted_idx = np.empty((n_features, n_kept), dtype=np.int32)
    sorted_val = np.empty((n_features, n_kept), dtype=np.float32)
    for f in range(n_features):
        j = 0
        for p in range(n_rows):
            row = order[f, p]
            if sample_weight[row] > 0.0:
                sorted_idx[f, j] = row
                sorted_val[f, j] = sorted_values[f, p]
                j += 1
    return sorted_idx, sorted_val


@njit(cache=True, nogil=True)
def best_split_on_feature(
    idx: np.ndarray,
    val: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    start: int,
    end: int,
    total: np.ndarray,
    weight_total: float,
    criterion: int,
    min_samples_leaf: int,
    min_weight_leaf: float,
    left: np.ndarray,
) -> tuple:
    """Best split of one presorted feature segment ``[start, end)``.

    Returns ``(proxy, pos)``: the best proxy improvement and the first position of
    the right child, or ``(-inf, -1)`` when no split keeps ``min_samples_leaf`` rows
    and ``min_weight_leaf`` weight on each side.
    ``left`` is scratch space for the left child's class counts.
    """
    left[:] = 0.0
    weight_left = 0.0
    best_proxy = -np.inf
    best_pos = -1
    lo = start + min_samples_leaf  # fewest rows on the left
    hi = end - min_samples_leaf  # fewest rows on the right
    for p in range(start + 1, end):
        row = idx[p - 1]
        left[y[row]] += w[row]
        weight_left += w[row]
        if p < lo:
            continue
        if p > hi:
            break
        # Only split between distinct values.
        if val[p] <= val[p - 1] + FEATURE_THRESHOLD:
            continue
        if weight_left < min_weight_leaf or weight_total - weight_left < min_weight_leaf:
            continue
        proxy = split_proxy(left, total, weight_left, weight_total, criterion)
        if proxy > best_proxy:
            best_proxy = proxy
            best_pos = p
    return best_proxy, best_pos


@njit(cache=True, nogil=True)
def find_best_split(
    sorted_idx: np.ndarray,
    sorted_val: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    start: int,
    end: int,
    total: np.ndarray,
    weight_total: float,
    criterion: int,
    min_samples_leaf: int,
    min_weight_leaf: float,
    max_features: int,
    features: np.ndarray,
    rng_state: np.ndarray,
    left: np.ndarray,
) -> tuple:
    """Best split of node ``[start, end)`` over up to ``max_features`` features.

    Features are drawn without replacement (a lazy Fisher–Yates shuffle of
    ``features``, kept between nodes like scikit-learn) until ``max_features``
    non-constant features have been searched; constant features do not count, so
    a split is found whenever one exists. Ties keep the first feature searched and
    the leftmost position. Returns ``(feature, pos, threshold, proxy)`` with
    ``feature == -1`` when no valid split exists.
    """
    n_features = features.shape[0]
    best_feature = -1
    best_pos = -1
    best_proxy = -np.inf
    n_searched = 0
    for i in range(n_features):
        if n_searched >= max_features:
            break
        j = i + rand_below(rng_state, n_features - i)
        f = features[j]
        features[j] = features[i]
        features[i] = f
        val = sorted_val[f]
        if val[end - 1] <= val[start] + FEATURE_THRESHOLD:
            continue  # constant in this node
        n_searched += 1
        proxy, pos = best_split_on_feature(
            sorted_idx[f],
            val,
            y,
            w,
            start,
            end,
            total,
            weight_total,
            criterion,
            min_samples_leaf,
            min_weight_leaf,
            left,
        )
        if pos >= 0 and proxy > best_proxy:
            best_proxy = proxy
            best_pos = pos
            best_feature = f
    threshold = 0.0
    if best_feature >= 0:
        val = sorted_val[best_feature]
        lower = np.float64(val[best_pos - 1])
        upper = np.float64(val[best_pos])
        threshold = lower / 2.0 + upper / 2.0
        if threshold == upper or threshold == np.inf or threshold == -np.inf:
            threshold = lower
    return best_feature, best_pos, threshold, best_proxy


@njit(cache=True, nogil=True)
def partition_segments(
    sorted_idx: np.ndarray,
    sorted_val: np.ndarray,
    start: int,
    end: int,
    split_feature: int,
    split_pos: int,
    goes_left: np.ndarray,
    buffer_idx: np.ndarray,
    buffer_val: np.ndarray,
) -> None:
    """Stably partition every feature's segment into left child then right child.

    The split feature's segment is already in that order. For the others, each
    sample's side is read from ``goes_left`` (indexed by row id), left samples are
    compacted in place and right samples copied back from the buffers, so both
    children stay sorted.
    """
    split_idx = sorted_idx[split_feature]
    for p in range(start, split_pos):
        goes_left[split_idx[p]] = True
    for p in range(split_pos, end):
        goes_left[split_idx[p]] = False
    for f in range(sorted_idx.shape[0]):
        if f == split_feature:
            continue
        idx = sorted_idx[f]
        val = sorted_val[f]
        write = start
        n_right = 0
        for p in range(start, end):
            row = idx[p]
            if goes_left[row]:
                idx[write] = row
                val[write] = val[p]
                write += 1
            else:
                buffer_idx[n_right] = row
                buffer_val[n_right] = val[p]
                n_right += 1
        for q in range(n_right):
            idx[write + q] = buffer_idx[q]
            val[write + q] = buffer_val[q]
