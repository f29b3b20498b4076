"""``DecisionTreeClassifier``: exact CART on presorted columns (scikit-learn compatible)."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClassifierMixin
from riskloop.scratch._validation import (
    Interval,
    RealNotInt,
    StrOptions,
    check_classification_targets,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    class_sample_weight,
    encode_classes,
    validate_data,
)

from ._builder import build_tree, build_tree_from_presort
from ._criterion import CRITERIA
from ._tree import TREE_ARRAYS, Tree, apply_tree, forest_proba, presort

_MAX_INT32 = np.iinfo(np.int32).max


#: Constraints of the parameters a tree and a forest share.
TREE_PARAMETER_CONSTRAINTS: dict[str, list[Any]] = {
    "criterion": [StrOptions(set(CRITERIA))],
    "max_depth": [Interval(Integral, 1, None, closed="left"), None],
    "min_samples_split": [
        Interval(Integral, 2, None, closed="left"),
        Interval(RealNotInt, 0.0, 1.0, closed="right"),
    ],
    "min_samples_leaf": [
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0.0, 1.0, closed="neither"),
    ],
    "min_weight_fraction_leaf": [Interval(Real, 0.0, 0.5, closed="both")],
    "max_features": [
        Interval(Integral, 1, None, closed="left"),
        Interval(RealNotInt, 0.0, 1.0, closed="right"),
        StrOptions({"sqrt", "log2"}),
        None,
    ],
    "random_state": ["random_state"],
    "class_weight": [dict, StrOptions({"balanced"}), None],
}


def resolve_tree_params(estimator: Any, n_samples: int, n_features: int) -> dict[str, Any]:
    """Turn the validated tree hyper-parameters of ``estimator`` into kernel ints.

    Shared by the tree and the forest. Fractions (float ``min_samples_*`` and
    ``max_features``) are resolved against the data as in scikit-learn.

    Raises
    ------
    ValueError
        If an int ``max_features`` exceeds the number of features of X.
    """
    # An int is a count; a float is a fraction of the training rows, rounded up.
    leaf = estimator.min_samples_leaf
    split = estimator.min_samples_split
    min_samples_leaf = int(leaf) if isinstance(leaf, Integral) else math.ceil(leaf * n_samples)
    min_samples_split = (
        int(split) if isinstance(split, Integral) else max(2, math.ceil(split * n_samples))
    )

    mf = estimator.max_features
    if mf is None:
        max_features = n_features
    elif mf == "sqrt":
        max_features = max(1, int(np.sqrt(n_features)))
    elif mf == "log2":
        max_features = max(1, int(np.log2(n_features)))
    elif isinstance(mf, Integral):
        if int(mf) > n_features:
            raise ValueError(
                f"{type(estimator).__name__}: max_features={mf} is more than the "
                f"{n_features} features of X; use at most {n_features}, a fraction, or None."
            )
        max_features = int(mf)
    else:
        max_features = max(1, int(mf * n_features))
    return {
        "criterion": CRITERIA[estimator.criterion],
        "max_depth": _MAX_INT32 if estimator.max_depth is None else int(estimator.max_depth),
        "min_samples_split": min_samples_split,
        "min_samples_leaf": min_samples_leaf,
        "min_weight_fraction_leaf": float(estimator.min_weight_fraction_leaf),
        "max_features": max_features,
    }


def tree_from_kernel(arrays: tuple) -> Tree:
    """Wrap the tuple returned by the builder kernel."""
    return Tree(*arrays)


class DecisionTreeClassifier(ClassifierMixin, BaseEstimator):
    """CART decision tree classifier (exact splits, Gini or entropy).

    Every node searches all thresholds of (a random subset of) the features for
    the split that most reduces the weighted impurity, then recurses depth-first.
    See ``docs/algorithms/decision_tree.md`` for the criterion and the presorted
    split search that makes it fast.

    Parameters
    ----------
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity measured at each node: Gini ``1 - sum p_k^2`` or entropy
        ``-sum p_k log2 p_k`` ("log_loss" is the same as "entropy").
    max_depth : int or None, default=None
        Deepest level a node may have (the root is level 0). None grows until the
        leaves are pure or too small to split.
    min_samples_split : int or float, default=2
        Fewest samples a node needs to be split; a float is a fraction of the
        training rows (rounded up).
    min_samples_leaf : int or float, default=1
        Fewest samples each child of a split must keep; a float is a fraction of
        the training rows (rounded up).
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of the total sample weight (class weights included) each
        child of a split must keep.
    max_features : int, float, "sqrt", "log2" or None, default=None
        Number of features drawn at random, without replacement, at every node
        (None: all). Constant features do not count, so a valid split is found if
        one exists.
    random_state : int, RandomState or None, default=None
        Seed of the feature draws (with ``max_features=None`` it only decides
        which of several equally good splits wins).
    class_weight : dict, "balanced" or None, default=None
        Weight per class, multiplied into ``sample_weight``; "balanced" uses
        ``n_samples / (n_classes * count_c)``.

    Attributes
    ----------
    tree_ : Tree
        Flat arrays of the fitted tree (``children_left``, ``children_right``,
        ``feature``, ``threshold``, ``value`` as class probabilities,
        ``n_node_samples``, ``weighted_n_node_samples``, ``impurity``).
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    n_classes_ : int
        Number of classes.
    max_features_ : int
        Resolved number of features searched per node.
    feature_importances_ : ndarray of shape (n_features,)
        Normalised total impurity decrease brought by each feature.
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` had string column names.

    Notes
    -----
    ``X`` is converted to float32, as scikit-learn's trees do, so thresholds and
    predictions agree with ``sklearn.tree.DecisionTreeClassifier``.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = TREE_PARAMETER_CONSTRAINTS

    def __init__(
        self,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features=None,
        random_state=None,
        class_weight=None,
    ):
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.random_state = random_state
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None) -> DecisionTreeClassifier:
        """Grow the tree on ``X`` (n_samples, n_features) and labels ``y``.

        ``sample_weight`` (default None: all ones) scales each row's contribution
        to the class counts; rows with weight 0 are left out.
        """
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        params = resolve_tree_params(self, X.shape[0], X.shape[1])
        self.classes_, y_encoded = encode_classes(y)
        self.n_classes_ = len(self.classes_)
        weights = check_sample_weight(sample_weight, X)
        weights = weights * class_sample_weight(self.class_weight, y_encoded, self.classes_)
        weights = np.ascontiguousarray(weights, dtype=np.float64)
        seed = check_random_state(self.random_state).randint(_MAX_INT32)

        order, sorted_values = presort(X)
        args = (
            y_encoded,
            weights,
            self.n_classes_,
            params["criterion"],
            params["max_depth"],
            params["min_samples_split"],
            params["min_samples_leaf"],
            params["min_weight_fraction_leaf"] * weights.sum(),
            params["max_features"],
            seed,
        )
        if np.all(weights > 0.0):
            arrays = build_tree(order, sorted_values, *args)  # presort is ours to reorder
        else:
            arrays = build_tree_from_presort(order, sorted_values, *args)
        self.tree_ = tree_from_kernel(arrays)
        self.max_features_ = params["max_features"]
        return self

    @property
    def feature_importances_(self) -> np.ndarray:
        """Normalised total (weighted) impurity decrease brought by each feature."""
        check_is_fitted(self)
        return self.tree_.feature_importances(self.n_features_in_)

    def _validate_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return np.ascontiguousarray(X, dtype=np.float32)

    def _predict_proba_fast(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of an already validated float32 ``X`` (serving path)."""
        t = self.tree_
        offsets = np.array([0, t.node_count], dtype=np.int64)
        return forest_proba(
            X, t.children_left, t.children_right, t.feature, t.threshold, t.value, offsets
        )

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): the reached leaf's class shares."""
        return self._predict_proba_fast(self._validate_X(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_row(self, x: np.ndarray) -> float:
        """Probability of ``classes_[1]`` for one row ``x`` of a binary problem.

        Skips validation: ``x`` must hold ``n_features_in_`` numeric values in
        training column order. For the serving path.
        """
        if self.n_classes_ != 2:
            raise ValueError("predict_proba_row needs a binary classifier; use predict_proba.")
        row = np.ascontiguousarray(x, dtype=np.float32).reshape(1, -1)
        return float(self._predict_proba_fast(row)[0, 1])

    def apply(self, X) -> np.ndarray:
        """Index of the leaf each row of ``X`` ends in."""
        X = self._validate_X(X)
        t = self.tree_
        return apply_tree(X, t.children_left, t.children_right, t.feature, t.threshold)

    def get_depth(self) -> int:
        """Depth of the fitted tree (a lone root has depth 0)."""
        check_is_fitted(self)
        return self.tree_.max_depth

    def get_n_leaves(self) -> int:
        """Number of leaves of the fitted tree."""
        check_is_fitted(self)
        return self.tree_.n_leaves

    def shap_model(self) -> dict:
        """The tree in ``shap.TreeExplainer``'s custom-ensemble dict format.

        Explains ``predict_proba[:, 1]`` for a binary problem (all class columns
        otherwise) in probability units: ``shap.TreeExplainer(tree.shap_model())``.
        """
        check_is_fitted(self)
        return shap_ensemble([self.tree_], self.n_classes_)

    # ------------------------------------------------------------- persistence
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {"n_classes_": int(self.n_classes_), "max_features_": int(self.max_features_)}
        arrays = {f"tree_{name}": a for name, a in self.tree_.arrays().items()}
        arrays["classes_"] = self.classes_
        return meta, arrays

    def _from_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.n_classes_ = meta["n_classes_"]
        self.max_features_ = meta["max_features_"]
        self.classes_ = arrays["classes_"]
        self.tree_ = Tree(*(arrays[f"tree_{name}"] for name in TREE_ARRAYS))


def shap_ensemble(trees: list[Tree], n_classes: int) -> dict:
    """``shap.TreeExplainer`` dict for the mean of ``trees``' class probabilities.

    shap sums the trees of a custom ensemble, so each tree's values are scaled by
    ``1 / n_trees``. Inputs are cast to float32 by shap, as by ``predict_proba``,
    so both route rows identically.
    """
    output = np.array([1]) if n_classes == 2 else np.arange(n_classes)
    scaling = 1.0 / len(trees)
    return {
        "trees": [tree.shap_tree(output, scaling) for tree in trees],
        "base_offset": 0.0,
        "tree_output": "probability",
        "objective": "binary_crossentropy" if n_classes == 2 else None,
        "input_dtype": np.float32,
        "internal_dtype": np.float64,
    }
