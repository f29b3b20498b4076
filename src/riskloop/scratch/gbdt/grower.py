"""Grow one regression tree on gradients/hessians, best-first (leaf-wise).

Splittable nodes wait in a max-heap keyed by their best split's gain; the node
with the largest gain is split next, until ``max_leaf_nodes`` leaves exist or no
node has a positive-gain split. A node becomes a leaf when it is at
``max_depth``, has fewer than ``2 * min_samples_leaf`` samples, or its best gain
is not positive. This is LightGBM's growth policy, as in scikit-learn's
``TreeGrower``, whose decisions this mirrors step for step.

Samples live in one ``partition`` array: a node owns the slice
``partition[start:stop]`` and a split reorders that slice in place (left rows,
then right rows), so children are contiguous sub-slices and no per-node index
array is allocated. Only the smaller child's histogram is built from data; the
larger one is ``parent - smaller`` (see :mod:`.histogram`).
"""

from __future__ import annotations

import heapq

import numpy as np
from numba import njit

from .histogram import build_histogram, build_histogram_root, subtract_histogram
from .splitting import (
    BIN,
    COUNT_LEFT,
    FEATURE,
    GAIN,
    GRAD_LEFT,
    HESS_LEFT,
    MISSING_LEFT,
    find_best_split,
    node_value,
    split_partition,
)

#: Splits leaving less hessian than this in a child are not considered.
MIN_HESSIAN_TO_SPLIT = 1e-3


class TreeGrower:
    """Grow one tree; call :meth:`grow`, then read :meth:`to_arrays`.

    Parameters
    ----------
    X_binned : ndarray of uint8, shape (n_samples, n_features), Fortran order
        Binned training data.
    gradients, hessians : ndarray of float32, shape (n_samples,)
        Per-sample first and second derivatives of the loss at the current
        raw predictions (already multiplied by sample weights).
    n_bins_non_missing : ndarray of int64, shape (n_features,)
        Number of bins holding non-missing values, per feature.
    has_missing : ndarray of bool, shape (n_features,)
        Whether the feature had missing values at fit time.
    missing_bin : int
        Bin index reserved for missing values (also ``n_bins - 1``).
    max_leaf_nodes, max_depth : int or None
        Growth limits (``None``: unlimited).
    min_samples_leaf : int
        Minimum number of samples per leaf.
    l2_regularization : float
        L2 penalty ``lambda`` on leaf values.
    shrinkage : float
        Learning rate multiplied into the leaf values.
    partition_buffer : ndarray of int32, shape (2 * n_samples,)
        Scratch space for the sample partition, reused across trees.
    """

    def __init__(
        self,
        X_binned: np.ndarray,
        gradients: np.ndarray,
        hessians: np.ndarray,
        n_bins_non_missing: np.ndarray,
        has_missing: np.ndarray,
        missing_bin: int,
        max_leaf_nodes: int | None,
        max_depth: int | None,
        min_samples_leaf: int,
        l2_regularization: float,
        shrinkage: float,
        partition_buffer: np.ndarray,
    ) -> None:
        self.X_binned = X_binned
        self.gradients = gradients
        self.hessians = hessians
        self.n_bins_non_missing = n_bins_non_missing
        self.has_missing = has_missing
        self.missing_bin = missing_bin
        self.n_bins = missing_bin + 1
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.shrinkage = shrinkage
        self.buffer = partition_buffer
        n_samples = X_binned.shape[0]
        self.partition = np.arange(n_samples, dtype=np.int32)
        # Per-node records, indexed by node id in creation order.
        self.feature: list[int] = []
        self.bin: list[int] = []
        self.missing_left: list[bool] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.value: list[float] = []
        self.count: list[int] = []
        self.depth: list[int] = []
        self.start: list[int] = []
        self.stop: list[int] = []
        self.sum_gradients: list[float] = []
        self.sum_hessians: list[float] = []
        self.split: dict[int, np.ndarray] = {}
        self.histograms: dict[int, np.ndarray] = {}
        self.heap: list[tuple[float, int]] = []
        self.n_leaves = 0

    # -- node bookkeeping -------------------------------------------------
    def _new_node(self, depth, start, stop, sum_gradients, sum_hessians, value) -> int:
        node = len(self.value)
        # Filled in when the node is split; a leaf keeps left == right == -1.
        self.feature.append(-1)
        self.bin.append(0)
        self.missing_left.append(False)
        self.left.append(-1)
        self.right.append(-1)
        self.value.append(value)
        self.count.append(stop - start)
        self.depth.append(depth)
        self.start.append(start)
        self.stop.append(stop)
        self.sum_gradients.append(sum_gradients)
        self.sum_hessians.append(sum_hessians)
        return node

    def _finalize_leaf(self, node: int) -> None:
        self.n_leaves += 1
        self.histograms.pop(node, None)

    def _find_split_and_push(self, node: int) -> None:
        record = find_best_split(
            self.histograms[node],
            self.count[node],
            self.sum_gradients[node],
            self.sum_hessians[node],
            self.value[node],
            self.n_bins_non_missing,
            self.has_missing,
            self.missing_bin,
            self.min_samples_leaf,
            MIN_HESSIAN_TO_SPLIT,
            self.l2_regularization,
        )
        if record[GAIN] <= 0:
            self._finalize_leaf(node)
        else:
            self.split[node] = record
            heapq.heappush(self.heap, (-record[GAIN], node))

    # -- growth -----------------------------------------------------------
    def grow(self) -> TreeGrower:
        """Grow the tree to completion and apply shrinkage to the leaf values."""
        n_samples = self.X_binned.shape[0]
        hist = build_histogram_root(self.X_binned, self.gradients, self.hessians, self.n_bins)
        # The root's value is 0 (not its Newton step), as in scikit-learn: this only
        # shifts every root gain by the same constant.
        root = self._new_node(0, 0, n_samples, hist[0, :, 0].sum(), hist[0, :, 1].sum(), 0.0)
        self.histograms[root] = hist
        if n_samples < 2 * self.min_samples_leaf or self.sum_hessians[root] < MIN_HESSIAN_TO_SPLIT:
            self._finalize_leaf(root)
        else:
            self._find_split_and_push(root)
        while self.heap:
            self._split_next()
        for node in range(len(self.value)):
            if self.left[node] == -1:
                self.value[node] *= self.shrinkage
        return self

    def _split_next(self) -> None:
        _, node = heapq.heappop(self.heap)
        record = self.split.pop(node)
        feature = int(record[FEATURE])
        bin_idx = int(record[BIN])
        missing_left = bool(record[MISSING_LEFT])
        start, stop = self.start[node], self.stop[node]
        middle = split_partition(
            self.partition,
            start,
            stop,
            self.X_binned[:, feature],
            bin_idx,
            missing_left,
            self.missing_bin,
            self.buffer,
        )
        depth = self.depth[node] + 1
        g_left, h_left = record[GRAD_LEFT], record[HESS_LEFT]
        g_right = self.sum_gradients[node] - g_left
        h_right = self.sum_hessians[node] - h_left
        l2 = self.l2_regularization
        left = self._new_node(depth, start, middle, g_left, h_left, node_value(g_left, h_left, l2))
        right = self._new_node(
            depth, middle, stop, g_right, h_right, node_value(g_right, h_right, l2)
        )
        assert self.count[left] == int(record[COUNT_LEFT])
        if not self.has_missing[feature]:
            # No missing value seen for this feature: route future NaNs to the
            # child that received more samples.
            missing_left = self.count[left] > self.count[right]
        self.feature[node], self.bin[node], self.missing_left[node] = feature, bin_idx, missing_left
        self.left[node], self.right[node] = left, right

        n_leaf_nodes = self.n_leaves + len(self.heap) + 2
        if self.max_leaf_nodes is not None and n_leaf_nodes == self.max_leaf_nodes:
            self._finalize_leaf(left)
            self._finalize_leaf(right)
            while self.heap:
                self._finalize_leaf(heapq.heappop(self.heap)[1])
            self.split.clear()
            self.histograms.clear()
            return
        if self.max_depth is not None and depth == self.max_depth:
            self._finalize_leaf(left)
            self._finalize_leaf(right)
            self.histograms.pop(node, None)
            return
        split_left = self.count[left] >= 2 * self.min_samples_leaf
        split_right = self.count[right] >= 2 * self.min_samples_leaf
        if not split_left:
            self._finalize_leaf(left)
        if not split_right:
            self._finalize_leaf(right)
        parent_hist = self.histograms.pop(node)
        if split_left or split_right:
            small, large = (left, right) if self.count[left] < self.count[right] else (right, left)
            indices = self.partition[self.start[small] : self.stop[small]]
            small_hist = build_histogram(
                self.X_binned, indices, self.gradients, self.hessians, self.n_bins
            )
            self.histograms[small] = small_hist
            self.histograms[large] = subtract_histogram(parent_hist, small_hist)
            if split_left:
                self._find_split_and_push(left)
            if split_right:
                self._find_split_and_push(right)

    # -- output -----------------------------------------------------------
    def leaf_ranges(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, stop, value) of every leaf's slice of :attr:`partition`."""
        leaves = [n for n in range(len(self.value)) if self.left[n] == -1]
        return (
            np.array([self.start[n] for n in leaves], dtype=np.int64),
            np.array([self.stop[n] for n in leaves], dtype=np.int64),
            np.array([self.value[n] for n in leaves], dtype=np.float64),
        )

    def to_arrays(self, edges: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Flat node arrays of this tree (node ids local to the tree).

        Returns ``node_int`` (n_nodes, 6) int32 = [feature, bin, missing_left,
        left, right, count] and ``node_float`` (n_nodes, 2) float64 =
        [raw threshold, value]. The raw threshold is the upper edge of the split
        bin (``+inf`` when every non-missing bin goes left), so ``x <= threshold``
        on raw data agrees with ``bin(x) <= bin`` on binned data.
        """
        n_nodes = len(self.value)
        node_int = np.zeros((n_nodes, 6), dtype=np.int32)
        node_float = np.zeros((n_nodes, 2), dtype=np.float64)
        for n in range(n_nodes):
            f = self.feature[n]
            node_int[n] = (
                f,
                self.bin[n],
                self.missing_left[n],
                self.left[n],
                self.right[n],
                self.count[n],
            )
            node_float[n, 1] = self.value[n]
            if self.left[n] != -1:
                b = self.bin[n]
                node_float[n, 0] = edges[f][b] if b < self.n_bins_non_missing[f] - 1 else np.inf
        return node_int, node_float


@njit(cache=True)
def add_leaf_values(
    raw: np.ndarray,
    partition: np.ndarray,
    starts: np.ndarray,
    stops: np.ndarray,
    values: np.ndarray,
) -> None:
    """raw[rows of each leaf] += leaf value: the new tree's training predictions, no traversal."""
    for leaf in range(starts.shape[0]):
        for i in range(starts[leaf], stops[leaf]):
            raw[partition[i]] += values[leaf]
