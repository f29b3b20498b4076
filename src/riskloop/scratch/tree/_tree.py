"""The fitted tree as flat arrays, and the Numba kernels that read them.

A tree with ``m`` nodes is eight arrays of length ``m`` (scikit-learn's ``tree_``
layout): node ``i`` sends ``x`` to ``children_left[i]`` when
``x[feature[i]] <= threshold[i]``, else to ``children_right[i]``; leaves have
``children_left == -1``. ``value[i]`` holds the class probabilities of node ``i``.
A forest concatenates its trees' arrays and keeps ``node_offsets`` (tree ``t`` owns
nodes ``node_offsets[t]:node_offsets[t+1]``, child ids stay local to the tree).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ._builder import TREE_LEAF

TREE_ARRAYS = (
    "children_left",
    "children_right",
    "feature",
    "threshold",
    "value",
    "n_node_samples",
    "weighted_n_node_samples",
    "impurity",
)


@njit(cache=True, nogil=True, inline="always")
def _leaf_of_row(
    X: np.ndarray,
    i: int,
    children_left: np.ndarray,
    children_right: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    offset: int,
) -> int:
    node = 0
    while children_left[offset + node] != TREE_LEAF:
        if X[i, feature[offset + node]] <= threshold[offset + node]:
            node = children_left[offset + node]
        else:
            node = children_right[offset + node]
    return node


@njit(cache=True, nogil=True)
def apply_tree(
    X: np.ndarray,
    children_left: np.ndarray,
    children_right: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
) -> np.ndarray:
    """Leaf id reached by every row of ``X``."""
    leaves = np.empty(X.shape[0], dtype=np.int64)
    for i in range(X.shape[0]):
        leaves[i] = _leaf_of_row(X, i, children_left, children_right, feature, threshold, 0)
    return leaves


@njit(cache=True, nogil=True)
def forest_proba(
    X: np.ndarray,
    children_left: np.ndarray,
    children_right: np.ndarray,
    feature: np.ndarray,
    threshold: np.ndarray,
    value: np.ndarray,
    node_offsets: np.ndarray,
) -> np.ndarray:
    """Mean over trees of the leaf class probabilities of every row of ``X``.

    A single tree is a forest with ``node_offsets == [0, m]``.
    """
    n_trees = node_offsets.shape[0] - 1
    n_classes = value.shape[1]
    proba = np.zeros((X.shape[0], n_classes), dtype=np.float64)
    for i in range(X.shape[0]):
        for t in range(n_trees):
            offset = node_offsets[t]
            leaf = offset + _leaf_of_row(
                X, i, children_left, children_right, feature, threshold, offset
            )
            for k in range(n_classes):
                proba[i, k] += value[leaf, k]
    if n_trees > 1:
        proba /= n_trees
    return proba


@njit(cache=True, nogil=True)
def node_depths(children_left: np.ndarray, children_right: np.ndarray) -> np.ndarray:
    """Depth of every node (root = 0); children always follow their parent."""
    depth = np.zeros(children_left.shape[0], dtype=np.int64)
    for i in range(children_left.shape[0]):
        if children_left[i] != TREE_LEAF:
            depth[children_left[i]] = depth[i] + 1
            depth[children_right[i]] = depth[i] + 1
    return depth


def presort(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Argsort every column once: ``(order, sorted_values)``, each ``(d, n)``.

    ``order`` is int32 and ``sorted_values`` float32, one contiguous row per
    feature, which is the layout the split kernels scan.
    """
    columns = np.ascontiguousarray(X.T, dtype=np.float32)
    order = np.argsort(columns, axis=1, kind="stable").astype(np.int32)
    sorted_values = np.take_along_axis(columns, order, axis=1)
    return order, sorted_values


@dataclass
class Tree:
    """Flat arrays of one fitted tree (see the module docstring for their meaning)."""

    children_left: np.ndarray
    children_right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    n_node_samples: np.ndarray
    weighted_n_node_samples: np.ndarray
    impurity: np.ndarray

    @property
    def node_count(self) -> int:
        return int(self.children_left.shape[0])

    @property
    def n_leaves(self) -> int:
        return int(np.count_nonzero(self.children_left == TREE_LEAF))

    @property
    def max_depth(self) -> int:
        return int(node_depths(self.children_left, self.children_right).max())

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in TREE_ARRAYS}

    def feature_importances(self, n_features: int) -> np.ndarray:
        """Mean decrease in impurity per feature, normalised to sum to one.

        Split ``i`` credits ``feature[i]`` with
        ``W_i I_i - W_left I_left - W_right I_right`` (W = weighted samples,
        I = impurity), as scikit-learn's ``compute_feature_importances``.
        """
        importances = np.zeros(n_features, dtype=np.float64)
        internal = np.flatnonzero(self.children_left != TREE_LEAF)
        if internal.size:
            w, imp = self.weighted_n_node_samples, self.impurity
            left, right = self.children_left[internal], self.children_right[internal]
            decrease = w[internal] * imp[internal] - w[left] * imp[left] - w[right] * imp[right]
            np.add.at(importances, self.feature[internal], decrease)
            importances /= w[0]
        total = importances.sum()
        if total > 0.0:
            importances /= total
        return importances

    def shap_tree(self, output: np.ndarray, scaling: float = 1.0) -> dict:
        """One tree in the dict format of ``shap.TreeExplainer`` (custom ensembles).

        ``output`` selects the class columns of ``value`` to explain.
        """
        return {
            "children_left": self.children_left.astype(np.int32),
            "children_right": self.children_right.astype(np.int32),
            "children_default": self.children_left.astype(np.int32),  # no missing values
            "features": self.feature.astype(np.int32),
            "thresholds": self.threshold.astype(np.float64),
            "values": self.value[:, output] * scaling,
            "node_sample_weight": self.weighted_n_node_samples.astype(np.float64),
        }
