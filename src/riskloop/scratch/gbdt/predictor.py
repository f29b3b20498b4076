"""Prediction kernels over the flat node arrays of a whole ensemble.

All trees are concatenated into two arrays (child indices are absolute):

- ``node_int``  (n_nodes, 6) int32  : feature, bin, missing_left, left, right, count
- ``node_float`` (n_nodes, 2) float64: raw threshold, value

``tree_roots[t]`` is the root of tree ``t``; tree ``t`` adds to raw output
column ``t % n_outputs`` (one tree per class and iteration in multiclass). A
node is a leaf when ``left == -1``. Raw data go left when ``x <= threshold``
(NaN: when ``missing_left``); binned data when ``bin(x) <= bin``, which is the
same decision.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

FEATURE, BIN, MISSING_LEFT, LEFT, RIGHT, COUNT = range(6)
THRESHOLD, VALUE = range(2)


@njit(cache=True, inline="always")
def _leaf_raw(x, node_int, node_float, node):
    while node_int[node, LEFT] != -1:
        v = x[node_int[node, FEATURE]]
        if np.isnan(v):
            go_left = node_int[node, MISSING_LEFT] != 0
        else:
            go_left = v <= node_float[node, THRESHOLD]
        node = node_int[node, LEFT] if go_left else node_int[node, RIGHT]
    return node


#: Batches with at least this many rows are predicted on all threads.
PARALLEL_MIN_ROWS = 5_000


@njit(cache=True, inline="always")
def _predict_into(x, node_int, node_float, tree_roots, baseline, out):
    n_outputs = baseline.shape[0]
    for k in range(n_outputs):
        out[k] = baseline[k]
    for t in range(tree_roots.shape[0]):
        leaf = _leaf_raw(x, node_int, node_float, tree_roots[t])
        out[t % n_outputs] += node_float[leaf, VALUE]


@njit(cache=True, parallel=True)
def _predict_parallel(X, node_int, node_float, tree_roots, baseline, out):
    for i in prange(X.shape[0]):
        _predict_into(X[i], node_int, node_float, tree_roots, baseline, out[i])


@njit(cache=True)
def _predict_serial(X, node_int, node_float, tree_roots, baseline, out):
    for i in range(X.shape[0]):
        _predict_into(X[i], node_int, node_float, tree_roots, baseline, out[i])


def predict_raw(
    X: np.ndarray,
    node_int: np.ndarray,
    node_float: np.ndarray,
    tree_roots: np.ndarray,
    baseline: np.ndarray,
) -> np.ndarray:
    """Raw scores (n_samples, n_outputs) of C-contiguous float64 data (NaN = missing)."""
    out = np.empty((X.shape[0], baseline.shape[0]))
    kernel = _predict_parallel if X.shape[0] >= PARALLEL_MIN_ROWS else _predict_serial
    kernel(X, node_int, node_float, tree_roots, baseline, out)
    return out


@njit(cache=True)
def predict_raw_row(
    x: np.ndarray,
    node_int: np.ndarray,
    node_float: np.ndarray,
    tree_roots: np.ndarray,
    baseline: np.ndarray,
) -> np.ndarray:
    """Raw scores (n_outputs,) of one float row: no threads, no validation."""
    n_outputs = baseline.shape[0]
    out = baseline.copy()
    for t in range(tree_roots.shape[0]):
        leaf = _leaf_raw(x, node_int, node_float, tree_roots[t])
        out[t % n_outputs] += node_float[leaf, VALUE]
    return out


@njit(cache=True)
def predict_raw_binned(
    X_binned: np.ndarray,
    node_int: np.ndarray,
    node_float: np.ndarray,
    tree_roots: np.ndarray,
    baseline: np.ndarray,
    missing_bin: int,
) -> np.ndarray:
    """Raw scores (n_samples, n_outputs) of binned data (tests and diagnostics)."""
    n_outputs = baseline.shape[0]
    out = np.empty((X_binned.shape[0], n_outputs))
    for i in range(X_binned.shape[0]):
        for k in range(n_outputs):
            out[i, k] = baseline[k]
        for t in range(tree_roots.shape[0]):
            node = tree_roots[t]
            while node_int[node, LEFT] != -1:
                b = X_binned[i, node_int[node, FEATURE]]
                if b == missing_bin:
                    go_left = node_int[node, MISSING_LEFT] != 0
                else:
                    go_left = b <= node_int[node, BIN]
                node = node_int[node, LEFT] if go_left else node_int[node, RIGHT]
            out[i, t % n_outputs] += node_float[node, VALUE]
    return out


@njit(cache=True)
def add_tree_raw_binned(
    raw: np.ndarray,
    X_binned: np.ndarray,
    node_int: np.ndarray,
    node_float: np.ndarray,
    missing_bin: int,
) -> None:
    """raw += one tree's output on binned data (early-stopping validation scores)."""
    for i in range(X_binned.shape[0]):
        node = 0
        while node_int[node, LEFT] != -1:
            b = X_binned[i, node_int[node, FEATURE]]
            if b == missing_bin:
                go_left = node_int[node, MISSING_LEFT] != 0
            else:
                go_left = b <= node_int[node, BIN]
            node = node_int[node, LEFT] if go_left else node_int[node, RIGHT]
        raw[i] += node_float[node, VALUE]
