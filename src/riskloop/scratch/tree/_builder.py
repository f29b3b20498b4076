"""Depth-first CART builder: one Numba loop over a stack of node segments.

The whole build runs inside a single ``nogil`` kernel. A Python loop per node would
cost tens of microseconds of interpreter time on each of up to ~10^5 nodes and
would hold the GIL, which would stop a forest from building trees on several
threads at once. Nodes are numbered in pre-order (left subtree first), like
scikit-learn's ``DepthFirstTreeBuilder``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._criterion import node_impurity
from ._splitter import find_best_split, partition_segments, select_positive_weight

TREE_LEAF = -1  # children_left/right of a leaf
TREE_UNDEFINED = -2  # feature/threshold of a leaf
_EPSILON = np.finfo(np.float64).eps


@njit(cache=True, nogil=True)
def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    """Copy of ``array`` with room for ``capacity`` rows."""
    shape = (capacity,) + array.shape[1:]
    grown = np.empty(shape, dtype=array.dtype)
    grown[: array.shape[0]] = array
    return grown


@njit(cache=True, nogil=True, inline="always")
def _push(
    stack: np.ndarray,
    top: int,
    start: int,
    end: int,
    depth: int,
    parent: int,
    is_left: int,
    count_feature: int,
) -> None:
    stack[top, 0] = start
    stack[top, 1] = end
    stack[top, 2] = depth
    stack[top, 3] = parent
    stack[top, 4] = is_left
    stack[top, 5] = count_feature


@njit(cache=True, nogil=True)
def build_tree(
    sorted_idx: np.ndarray,
    sorted_val: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_classes: int,
    criterion: int,
    max_depth: int,
    min_samples_split: int,
    min_samples_leaf: int,
    min_weight_leaf: float,
    max_features: int,
    seed: int,
) -> tuple:
    """Grow one tree on presorted columns (reordered in place) and return its arrays.

    Parameters are the validated hyper-parameters; ``y`` holds class ids
    ``0..n_classes-1`` and ``w`` positive row weights for every row listed in
    ``sorted_idx``. Returns ``(children_left, children_right, feature, threshold,
    value, n_node_samples, weighted_n_node_samples, impurity)`` where ``value``
    holds each node's class probabilities.
    """
    n_features, n_samples = sorted_idx.shape
    capacity = 63
    children_left = np.empty(capacity, dtype=np.int32)
    children_right = np.empty(capacity, dtype=np.int32)
    feature = np.empty(capacity, dtype=np.int32)
    threshold = np.empty(capacity, dtype=np.float64)
    value = np.empty((capacity, n_classes), dtype=np.float64)
    n_node_samples = np.empty(capacity, dtype=np.int64)
    weighted_n_node_samples = np.empty(capacity, dtype=np.float64)
    impurity = np.empty(capacity, dtype=np.float64)

    features = np.arange(n_features).astype(np.int64)
    rng_state = np.empty(1, dtype=np.uint64)
    rng_state[0] = np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(1)
    counts = np.empty(n_classes, dtype=np.float64)
    left = np.empty(n_classes, dtype=np.float64)
    goes_left = np.zeros(w.shape[0], dtype=np.bool_)
    buffer_idx = np.empty(n_samples, dtype=np.int32)
    buffer_val = np.empty(n_samples, dtype=np.float32)

    # Stack of pending nodes: start, end, depth, parent, is_left, count_feature.
    # count_feature names a feature whose segment is known to be ordered for the node.
    stack = np.empty((64, 6), dtype=np.int64)
    _push(stack, 0, 0, n_samples, 0, -1, 1, 0)
    top = 1
    node_count = 0
    while top > 0:
        top -= 1
        start = stack[top, 0]
        end = stack[top, 1]
        depth = stack[top, 2]
        parent = stack[top, 3]
        is_left = stack[top, 4]
        count_feature = stack[top, 5]
        n_node = end - start

        counts[:] = 0.0
        idx = sorted_idx[count_feature]
        for p in range(start, end):
            counts[y[idx[p]]] += w[idx[p]]
        weight_node = counts.sum()
        node_imp = node_impurity(counts, weight_node, criterion)

        if node_count == capacity:
            capacity *= 2
            children_left = _grow(children_left, capacity)
            children_right = _grow(children_right, capacity)
            feature = _grow(feature, capacity)
            threshold = _grow(threshold, capacity)
            value = _grow(value, capacity)
            n_node_samples = _grow(n_node_samples, capacity)
            weighted_n_node_samples = _grow(weighted_n_node_samples, capacity)
            impurity = _grow(impurity, capacity)
        node = node_count
        node_count += 1
        if parent >= 0:
            if is_left:
                children_left[parent] = node
            else:
                children_right[parent] = node
        children_left[node] = TREE_LEAF
        children_right[node] = TREE_LEAF
        feature[node] = TREE_UNDEFINED
        threshold[node] = TREE_UNDEFINED
        for k in range(n_classes):
            value[node, k] = counts[k] / weight_node
        n_node_samples[node] = n_node
        weighted_n_node_samples[node] = weight_node
        impurity[node] = node_imp

        if (
            depth >= max_depth
            or n_node < min_samples_split
            or n_node < 2 * min_samples_leaf
            or weight_node < 2.0 * min_weight_leaf
            or node_imp <= _EPSILON
        ):
            continue
        best_feature, pos, thr, _ = find_best_split(
            sorted_idx,
            sorted_val,
            y,
            w,
            start,
            end,
            counts,
            weight_node,
            criterion,
            min_samples_leaf,
            min_weight_leaf,
            max_features,
            features,
            rng_state,
            left,
        )
        if best_feature < 0:
            continue
        feature[node] = best_feature
        threshold[node] = thr

        # Children that will surely be leaves need no presorted segments, so the
        # partition (the O(n_node * d) step) is skipped when both are.
        n_left = pos - start
        n_right = end - pos
        child_depth = depth + 1
        left_splits = (
            child_depth < max_depth
            and n_left >= min_samples_split
            and n_left >= 2 * min_samples_leaf
        )
        right_splits = (
            child_depth < max_depth
            and n_right >= min_samples_split
            and n_right >= 2 * min_samples_leaf
        )
        if left_splits or right_splits:
            partition_segments(
                sorted_idx,
                sorted_val,
                start,
                end,
                best_feature,
                pos,
                goes_left,
                buffer_idx,
                buffer_val,
            )
        if top + 2 > stack.shape[0]:
            stack = _grow(stack, 2 * stack.shape[0])
        # Right first so that the left child is popped (and numbered) first.
        _push(stack, top, pos, end, child_depth, node, 0, best_feature)
        _push(stack, top + 1, start, pos, child_depth, node, 1, best_feature)
        top += 2

    return (
        children_left[:node_count].copy(),
        children_right[:node_count].copy(),
        feature[:node_count].copy(),
        threshold[:node_count].copy(),
        value[:node_count].copy(),
        n_node_samples[:node_count].copy(),
        weighted_n_node_samples[:node_count].copy(),
        impurity[:node_count].copy(),
    )


@njit(cache=True, nogil=True)
def build_tree_from_presort(
    order: np.ndarray,
    sorted_values: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    n_classes: int,
    criterion: int,
    max_depth: int,
    min_samples_split: int,
    min_samples_leaf: int,
    min_weight_leaf: float,
    max_features: int,
    seed: int,
) -> tuple:
    """Select the rows with ``w > 0`` from a shared presort, then :func:`build_tree`.

    Runs entirely without the GIL, so a forest can call it from several threads
    on the same read-only presort.
    """
    sorted_idx, sorted_val = select_positive_weight(order, sorted_values, w)
    return build_tree(
        sorted_idx,
        sorted_val,
        y,
        w,
        n_classes,
        criterion,
        max_depth,
        min_samples_split,
        min_samples_leaf,
        min_weight_leaf,
        max_features,
        seed,
    )
