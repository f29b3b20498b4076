"""``RandomForestClassifier``: bagged CART trees with per-split feature sampling.

Every tree is grown by :mod:`riskloop.scratch.tree` on a bootstrap sample (drawn
with the same per-tree seeds as scikit-learn, so the bags and out-of-bag rows
match ``sklearn.ensemble.RandomForestClassifier`` for equal ``random_state``),
searching ``max_features`` random features at every node. The columns are
presorted once per fit and shared read-only by all trees; each tree's build runs
in one ``nogil`` Numba kernel, so ``n_jobs`` threads build trees in parallel.
See ``docs/algorithms/random_forest.md``.
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClassifierMixin
from riskloop.scratch._validation import (
    Interval,
    StrOptions,
    check_classification_targets,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    class_sample_weight,
    encode_classes,
    validate_data,
)
from riskloop.scratch.tree._builder import build_tree_from_presort
from riskloop.scratch.tree._classes import (
    TREE_PARAMETER_CONSTRAINTS,
    DecisionTreeClassifier,
    resolve_tree_params,
    shap_ensemble,
    tree_from_kernel,
)
from riskloop.scratch.tree._tree import TREE_ARRAYS, Tree, forest_proba, presort

_MAX_INT32 = np.iinfo(np.int32).max
# Below this many rows, splitting prediction over threads costs more than it saves.
_MIN_ROWS_PER_THREAD = 20_000


def _effective_n_jobs(n_jobs: int | None) -> int:
    """None → 1; negative counts from the number of CPUs (-1: all), like joblib."""
    if n_jobs is None or n_jobs == 0:
        return 1
    if n_jobs < 0:
        return max(1, (os.cpu_count() or 1) + 1 + n_jobs)
    return int(n_jobs)


def _concatenate(trees: list[Tree]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """All trees' arrays end to end, and ``node_offsets`` (tree t: offsets[t]:offsets[t+1])."""
    sizes = [t.node_count for t in trees]
    offsets = np.zeros(len(trees) + 1, dtype=np.int64)
    offsets[1:] = np.cumsum(sizes)
    flat = {name: np.concatenate([getattr(t, name) for t in trees]) for name in TREE_ARRAYS}
    return flat, offsets


def _split(flat: dict[str, np.ndarray], offsets: np.ndarray) -> list[Tree]:
    """Per-tree views (no copies) into concatenated arrays."""
    return [
        Tree(*(flat[name][offsets[t] : offsets[t + 1]] for name in TREE_ARRAYS))
        for t in range(len(offsets) - 1)
    ]


class RandomForestClassifier(ClassifierMixin, BaseEstimator):
    """Random forest: the mean class probabilities of bootstrapped CART trees.

    Parameters
    ----------
    n_estimators : int, default=100
        Number of trees.
    criterion : {"gini", "entropy", "log_loss"}, default="gini"
        Impurity used by every tree's split search.
    max_depth : int or None, default=None
        Deepest level of any node (root = 0); None grows until leaves are pure or
        too small.
    min_samples_split : int or float, default=2
        Fewest (distinct) samples a node needs to be split; a float is a fraction.
    min_samples_leaf : int or float, default=1
        Fewest (distinct) samples each child of a split keeps; a float is a fraction.
    min_weight_fraction_leaf : float, default=0.0
        Smallest share of a tree's total row weight each child of a split keeps.
    max_features : int, float, "sqrt", "log2" or None, default="sqrt"
        Features drawn at random at every split (None: all, which is bagging).
    bootstrap : bool, default=True
        Grow each tree on ``n_samples`` rows drawn with replacement (as row weights
        equal to the draw counts); False grows every tree on all rows.
    oob_score : bool, default=False
        Score each row with the trees that did not draw it (needs ``bootstrap``).
    n_jobs : int or None, default=None
        Threads that build trees and predict (None: 1, -1: all CPUs).
    random_state : int, RandomState or None, default=None
        Seeds the bootstrap draws and every tree's feature draws.
    class_weight : dict, "balanced", "balanced_subsample" or None, default=None
        Weight per class multiplied into ``sample_weight``; "balanced_subsample"
        recomputes the balanced weights on each tree's bootstrap sample.

    Attributes
    ----------
    estimators_ : list of DecisionTreeClassifier
        The fitted trees (their arrays are views into one concatenated block).
    classes_ : ndarray of shape (n_classes,)
        Sorted class labels.
    n_classes_ : int
        Number of classes.
    max_features_ : int
        Resolved number of features searched per split.
    feature_importances_ : ndarray of shape (n_features,)
        Mean of the trees' normalised impurity decreases, renormalised.
    oob_score_ : float
        Accuracy of the out-of-bag predictions (only with ``oob_score=True``).
    oob_decision_function_ : ndarray of shape (n_samples, n_classes)
        Out-of-bag class probabilities (zeros for rows every tree drew).
    n_features_in_ : int
        Number of features seen in ``fit``.
    feature_names_in_ : ndarray of str
        Column names, when ``X`` had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        **TREE_PARAMETER_CONSTRAINTS,
        "n_estimators": [Interval(Integral, 1, None, closed="left")],
        "bootstrap": ["boolean"],
        "oob_score": ["boolean"],
        "n_jobs": [Integral, None],
        "class_weight": [dict, StrOptions({"balanced", "balanced_subsample"}), None],
    }

    def __init__(
        self,
        n_estimators=100,
        criterion="gini",
        max_depth=None,
        min_samples_split=2,
        min_samples_leaf=1,
        min_weight_fraction_leaf=0.0,
        max_features="sqrt",
        bootstrap=True,
        oob_score=False,
        n_jobs=None,
        random_state=None,
        class_weight=None,
    ):
        self.n_estimators = n_estimators
        self.criterion = criterion
        self.max_depth = max_depth
        self.min_samples_split = min_samples_split
        self.min_samples_leaf = min_samples_leaf
        self.min_weight_fraction_leaf = min_weight_fraction_leaf
        self.max_features = max_features
        self.bootstrap = bootstrap
        self.oob_score = oob_score
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.class_weight = class_weight

    def fit(self, X, y, sample_weight=None) -> RandomForestClassifier:
        """Grow ``n_estimators`` trees on ``X`` (n_samples, n_features) and labels ``y``.

        ``sample_weight`` (default None: ones) multiplies every tree's row weights.
        """
        self._validate_params()
        if self.oob_score and not self.bootstrap:
            raise ValueError("Out of bag estimation only available if bootstrap=True")
        X, y = validate_data(self, X, y, dtype=np.float32)
        check_classification_targets(y)
        params = resolve_tree_params(self, X.shape[0], X.shape[1])
        self.classes_, y_encoded = encode_classes(y)
        self.n_classes_ = len(self.classes_)
        self.max_features_ = params["max_features"]
        n_samples = X.shape[0]
        weights = check_sample_weight(sample_weight, X)
        if self.class_weight != "balanced_subsample":
            weights = weights * class_sample_weight(self.class_weight, y_encoded, self.classes_)

        # One draw per tree, in order, exactly as scikit-learn seeds its trees.
        random_state = check_random_state(self.random_state)
        seeds = np.array([random_state.randint(_MAX_INT32) for _ in range(self.n_estimators)])
        order, sorted_values = presort(X)

        def grow(seed: int) -> tuple[Tree, np.ndarray | None]:
            tree_weights = weights
            counts = None
            if self.bootstrap:
                drawn = np.random.RandomState(seed).randint(0, n_samples, n_samples, dtype=np.int32)
                counts = np.bincount(drawn, minlength=n_samples)
                tree_weights = weights * counts
                if self.class_weight == "balanced_subsample":
                    tree_weights = tree_weights * _balanced_on(y_encoded, drawn, self.n_classes_)
            elif self.class_weight == "balanced_subsample":
                tree_weights = weights * class_sample_weight("balanced", y_encoded, self.classes_)
            tree_weights = np.ascontiguousarray(tree_weights, dtype=np.float64)
            arrays = build_tree_from_presort(
                order,
                sorted_values,
                y_encoded,
                tree_weights,
                self.n_classes_,
                params["criterion"],
                params["max_depth"],
                params["min_samples_split"],
                params["min_samples_leaf"],
                params["min_weight_fraction_leaf"] * tree_weights.sum(),
                params["max_features"],
                int(seed),
            )
            return tree_from_kernel(arrays), counts

        n_jobs = min(_effective_n_jobs(self.n_jobs), self.n_estimators)
        if n_jobs == 1:
            grown = [grow(s) for s in seeds]
        else:
            with ThreadPoolExecutor(max_workers=n_jobs) as pool:
                grown = list(pool.map(grow, seeds))
        trees = [tree for tree, _ in grown]
        self._flat, self._node_offsets = _concatenate(trees)
        self._seeds = seeds
        self.estimators_ = self._make_estimators()
        if self.oob_score:
            # oob_score implies bootstrap, so every tree has its draw counts.
            self._set_oob_score(X, y_encoded, [c for _, c in grown if c is not None])
        return self

    def _make_estimators(self) -> list[DecisionTreeClassifier]:
        estimators = []
        for tree, seed in zip(_split(self._flat, self._node_offsets), self._seeds, strict=True):
            est = DecisionTreeClassifier(
                criterion=self.criterion,
                max_depth=self.max_depth,
                min_samples_split=self.min_samples_split,
                min_samples_leaf=self.min_samples_leaf,
                min_weight_fraction_leaf=self.min_weight_fraction_leaf,
                max_features=self.max_features,
                random_state=int(seed),
                class_weight=None,
            )
            est.tree_ = tree
            est.classes_ = self.classes_
            est.n_classes_ = self.n_classes_
            est.max_features_ = self.max_features_
            est.n_features_in_ = self.n_features_in_
            if hasattr(self, "feature_names_in_"):
                est.feature_names_in_ = self.feature_names_in_
            estimators.append(est)
        return estimators

    def _set_oob_score(
        self, X: np.ndarray, y_encoded: np.ndarray, counts: list[np.ndarray]
    ) -> None:
        """Average each row's predictions over the trees that did not draw it."""
        n_samples = X.shape[0]
        oob_sum = np.zeros((n_samples, self.n_classes_))
        n_oob = np.zeros(n_samples)
        for t, tree_counts in enumerate(counts):
            rows = np.flatnonzero(tree_counts == 0)
            lo, hi = self._node_offsets[t], self._node_offsets[t + 1]
            tree = {name: array[lo:hi] for name, array in self._flat.items()}
            oob_sum[rows] += forest_proba(
                X[rows],
                tree["children_left"],
                tree["children_right"],
                tree["feature"],
                tree["threshold"],
                tree["value"],
                np.array([0, hi - lo], dtype=np.int64),
            )
            n_oob[rows] += 1
        if np.any(n_oob == 0):
            warnings.warn(
                "Some inputs do not have OOB scores. This probably means too few "
                "trees were used to compute any reliable OOB estimates.",
                UserWarning,
                stacklevel=3,
            )
            n_oob[n_oob == 0] = 1
        self.oob_decision_function_ = oob_sum / n_oob[:, None]
        self.oob_score_ = float(
            np.mean(np.argmax(self.oob_decision_function_, axis=1) == y_encoded)
        )

    @property
    def feature_importances_(self) -> np.ndarray:
        """Mean of the trees' normalised impurity decreases, renormalised to sum to 1."""
        check_is_fitted(self)
        per_tree = [
            e.tree_.feature_importances(self.n_features_in_)
            for e in self.estimators_
            if e.tree_.node_count > 1
        ]
        if not per_tree:
            return np.zeros(self.n_features_in_)
        mean = np.mean(per_tree, axis=0)
        return mean / mean.sum()

    def _predict_proba_fast(self, X: np.ndarray) -> np.ndarray:
        """Mean tree probabilities of an already validated float32 ``X`` (serving path)."""
        f = self._flat
        args = (
            f["children_left"],
            f["children_right"],
            f["feature"],
            f["threshold"],
            f["value"],
            self._node_offsets,
        )
        n_jobs = min(_effective_n_jobs(self.n_jobs), X.shape[0] // _MIN_ROWS_PER_THREAD)
        if n_jobs <= 1:
            return forest_proba(X, *args)
        chunks = np.array_split(np.arange(X.shape[0]), n_jobs)
        with ThreadPoolExecutor(max_workers=n_jobs) as pool:
            parts = pool.map(lambda rows: forest_proba(X[rows[0] : rows[-1] + 1], *args), chunks)
            return np.concatenate(list(parts))

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes): the mean over trees."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32)
        return self._predict_proba_fast(np.ascontiguousarray(X, dtype=np.float32))

    def predict(self, X) -> np.ndarray:
        """Class with the highest mean probability for each row."""
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
        f = self._flat
        return float(
            forest_proba(
                row,
                f["children_left"],
                f["children_right"],
                f["feature"],
                f["threshold"],
                f["value"],
                self._node_offsets,
            )[0, 1]
        )

    def shap_model(self) -> dict:
        """The forest in ``shap.TreeExplainer``'s custom-ensemble dict format.

        Explains ``predict_proba[:, 1]`` (binary) or every class column, in
        probability units; each tree's values are scaled by ``1/n_estimators``
        because shap sums the trees of a custom ensemble.
        """
        check_is_fitted(self)
        return shap_ensemble([e.tree_ for e in self.estimators_], self.n_classes_)

    # ------------------------------------------------------------- persistence
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta: dict[str, Any] = {
            "n_classes_": int(self.n_classes_),
            "max_features_": int(self.max_features_),
        }
        arrays = {f"forest_{name}": a for name, a in self._flat.items()}
        arrays["node_offsets"] = self._node_offsets
        arrays["tree_seeds"] = self._seeds
        arrays["classes_"] = self.classes_
        if hasattr(self, "oob_score_"):
            meta["oob_score_"] = self.oob_score_
            arrays["oob_decision_function_"] = self.oob_decision_function_
        return meta, arrays

    def _from_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        self.n_classes_ = meta["n_classes_"]
        self.max_features_ = meta["max_features_"]
        self.classes_ = arrays["classes_"]
        self._flat = {name: arrays[f"forest_{name}"] for name in TREE_ARRAYS}
        self._node_offsets = arrays["node_offsets"]
        self._seeds = arrays["tree_seeds"]
        self.estimators_ = self._make_estimators()
        if "oob_score_" in meta:
            self.oob_score_ = meta["oob_score_"]
            self.oob_decision_function_ = arrays["oob_decision_function_"]


def _balanced_on(y_encoded: np.ndarray, drawn: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-row "balanced" class weights computed on the bootstrap rows ``drawn``."""
    counts = np.bincount(y_encoded[drawn], minlength=n_classes).astype(np.float64)
    with np.errstate(divide="ignore"):
        per_class = np.where(counts > 0, drawn.shape[0] / (n_classes * counts), 0.0)
    return per_class[y_encoded]
