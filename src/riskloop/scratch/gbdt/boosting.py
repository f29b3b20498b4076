"""Histogram gradient boosting classifier (log-loss), after scikit-learn / LightGBM.

Orchestration only: binning (:mod:`.binning`), gradients (:mod:`.loss`), one
tree per class per iteration (:mod:`.grower`) and prediction (:mod:`.predictor`).
The maths and design are in ``docs/algorithms/hist_gradient_boosting.md``.
"""

from __future__ import annotations

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

from .binning import fit_thresholds, map_to_bins, pack_thresholds
from .grower import TreeGrower, add_leaf_values
from .loss import baseline_raw, binomial_gradients, mean_log_loss, multinomial_gradients
from .predictor import (
    COUNT,
    FEATURE,
    LEFT,
    MISSING_LEFT,
    RIGHT,
    THRESHOLD,
    VALUE,
    add_tree_raw_binned,
    predict_raw,
    predict_raw_row,
)

#: ``early_stopping="auto"`` turns early stopping on above this many samples.
AUTO_EARLY_STOPPING_MIN_SAMPLES = 10_000
#: The training score (early stopping) is computed on at most this many rows.
TRAIN_SCORE_MAX_SAMPLES = 10_000


class HistGradientBoostingClassifier(ClassifierMixin, BaseEstimator):
    """Gradient-boosted trees on binned features, for binary and multiclass log-loss.

    Each iteration fits one regression tree per raw output (one for binary
    problems, one per class otherwise) to the Newton step of the log-loss,
    grown best-first on uint8-binned features. Missing values (NaN) are
    supported natively: at each split they go to the side learned at fit time.

    Parameters
    ----------
    learning_rate : float, default=0.1
        Shrinkage multiplied into every leaf value.
    max_iter : int, default=100
        Maximum number of boosting iterations.
    max_leaf_nodes : int or None, default=31
        Maximum number of leaves per tree (None: unlimited).
    max_depth : int or None, default=None
        Maximum depth of a tree, counted in edges from the root (None: unlimited).
    min_samples_leaf : int, default=20
        Minimum number of training samples in a leaf.
    l2_regularization : float, default=0.0
        L2 penalty ``lambda`` on leaf values: a leaf's value is ``-G / (H + lambda)``.
    max_bins : int, default=255
        Maximum number of bins for non-missing values (2 to 255); one more bin
        is reserved for missing values.
    early_stopping : "auto" or bool, default="auto"
        Stop when the validation log-loss has not improved by more than ``tol``
        over the last ``n_iter_no_change`` iterations. "auto" enables it when
        there are more than 10,000 samples.
    validation_fraction : float, int or None, default=0.1
        Share (float in (0, 1)) or number (int) of training samples held out,
        stratified by class, to score early stopping. None scores on the
        training data.
    n_iter_no_change : int, default=10
        Patience of early stopping, in iterations.
    tol : float, default=1e-7
        Minimum improvement of the (negative) validation log-loss that counts.
    class_weight : dict, "balanced" or None, default=None
        Weights per class, multiplied into ``sample_weight``.
    random_state : int, RandomState or None, default=None
        Seed of the validation split and of the binning subsample (above
        200,000 rows).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_trees_per_iteration_ : int
        1 for binary problems, ``n_classes`` otherwise.
    n_iter_ : int
        Number of iterations actually run (after early stopping).
    do_early_stopping_ : bool
        Whether early stopping was used.
    train_score_, validation_score_ : ndarray of shape (n_iter_ + 1,)
        Negative mean log-loss before the first and after each iteration, on (at
        most 10,000 rows of) the training data and on the validation data.
        Empty without early stopping; the validation scores are also empty
        when ``validation_fraction`` is None.
    baseline_ : ndarray of shape (n_trees_per_iteration_,)
        Raw score of the constant model the trees start from.
    bin_edges_, bin_offsets_ : ndarray
        Concatenated bin thresholds of every feature and their offsets.
    node_int_, node_float_, tree_roots_ : ndarray
        The fitted trees as flat node arrays (see :mod:`.predictor`).
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "max_depth": [Interval(Integral, 1, None, closed="left"), None],
        "min_samples_leaf": [Interval(Integral, 1, None, closed="left")],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "max_bins": [Interval(Integral, 2, 255, closed="both")],
        "early_stopping": [StrOptions({"auto"}), "boolean"],
        "validation_fraction": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        l2_regularization: float = 0.0,
        max_bins: int = 255,
        early_stopping: str | bool = "auto",
        validation_fraction: float | int | None = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-7,
        class_weight: dict | str | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.l2_regularization = l2_regularization
        self.max_bins = max_bins
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.class_weight = class_weight
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None) -> HistGradientBoostingClassifier:
        """Fit the boosted trees.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; NaN marks a missing value.
        y : array-like of shape (n_samples,)
            Class labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights multiplied into the per-sample gradients and hessians (the
            bin thresholds ignore them).

        Returns
        -------
        self
        """
        self._validate_params()
        # NaN means missing and +-inf fall in the outermost bins, as in scikit-learn.
        X, y = validate_data(self, X, y, ensure_all_finite=False, dtype=np.float64)
        check_classification_targets(y)
        classes, y_encoded = encode_classes(y)
        if classes.shape[0] < 2:
            raise ValueError(
                f"y contains only one class ({classes[0]!r}): a classifier needs at "
                "least two classes to train."
            )
        sample_weight = check_sample_weight(sample_weight, X) * class_sample_weight(
            self.class_weight, y_encoded, classes
        )
        self.classes_ = classes
        n_classes = classes.shape[0]
        n_outputs = 1 if n_classes == 2 else n_classes
        self.n_trees_per_iteration_ = n_outputs
        rng = check_random_state(self.random_state)

        if self.early_stopping == "auto":
            self.do_early_stopping_ = X.shape[0] > AUTO_EARLY_STOPPING_MIN_SAMPLES
        else:
            self.do_early_stopping_ = bool(self.early_stopping)
        validation_fraction = self.validation_fraction
        use_validation = self.do_early_stopping_ and validation_fraction is not None
        if use_validation and validation_fraction is not None:
            train, val = _stratified_split(y_encoded, validation_fraction, rng)
            X_train, y_train, w_train = X[train], y_encoded[train], sample_weight[train]
            X_val, y_val, w_val = X[val], y_encoded[val], sample_weight[val]
        else:
            X_train, y_train, w_train = X, y_encoded, sample_weight

        edges = fit_thresholds(X_train, self.max_bins, rng)
        self.bin_edges_, self.bin_offsets_ = pack_thresholds(edges)
        missing_bin = self.max_bins
        X_binned = map_to_bins(X_train, self.bin_edges_, self.bin_offsets_, missing_bin)
        n_bins_non_missing = np.diff(self.bin_offsets_) + 1
        has_missing = np.isnan(X_train).any(axis=0)

        self.baseline_ = baseline_raw(y_train, w_train, n_classes)
        y_float = y_train.astype(np.float64)
        # Raw scores are stored (n_outputs, n_samples) so each class's row is contiguous.
        raw = np.tile(self.baseline_[:, None], (1, X_train.shape[0]))
        gradients = np.empty((n_outputs, X_train.shape[0]), dtype=np.float32)
        hessians = np.empty_like(gradients)
        buffer = np.empty(2 * X_train.shape[0], dtype=np.int32)  # partition scratch
        train_scores: list[float] = []
        val_scores: list[float] = []
        if use_validation:
            X_val_binned = map_to_bins(X_val, self.bin_edges_, self.bin_offsets_, missing_bin)
            raw_val = np.tile(self.baseline_[:, None], (1, X_val.shape[0]))
        if self.do_early_stopping_:
            # Like scikit-learn, the training score is tracked on at most 10,000 rows.
            n_train = X_train.shape[0]
            small = (
                np.sort(rng.choice(n_train, TRAIN_SCORE_MAX_SAMPLES, replace=False))
                if n_train > TRAIN_SCORE_MAX_SAMPLES
                else np.arange(n_train)
            )
            y_small, w_small = y_float[small], w_train[small]
            train_scores.append(-mean_log_loss(y_small, raw[:, small], w_small))
            if use_validation:
                val_scores.append(-mean_log_loss(y_val.astype(np.float64), raw_val, w_val))

        trees: list[tuple[np.ndarray, np.ndarray]] = []
        n_iter = 0
        for _ in range(self.max_iter):
            if n_outputs == 1:
                binomial_gradients(y_float, raw[0], w_train, gradients[0], hessians[0])
            else:
                multinomial_gradients(y_train, raw, w_train, gradients, hessians)
            for k in range(n_outputs):
                grower = TreeGrower(
                    X_binned,
                    gradients[k],
                    hessians[k],
                    n_bins_non_missing,
                    has_missing,
                    missing_bin,
                    self.max_leaf_nodes,
                    self.max_depth,
                    self.min_samples_leaf,
                    float(self.l2_regularization),
                    float(self.learning_rate),
                    buffer,
                ).grow()
                starts, stops, values = grower.leaf_ranges()
                add_leaf_values(raw[k], grower.partition, starts, stops, values)
                tree = grower.to_arrays(edges)
                trees.append(tree)
                if use_validation:
                    add_tree_raw_binned(raw_val[k], X_val_binned, tree[0], tree[1], missing_bin)
            n_iter += 1
            if self.do_early_stopping_:
                train_scores.append(-mean_log_loss(y_small, raw[:, small], w_small))
                if use_validation:
                    val_scores.append(-mean_log_loss(y_val.astype(np.float64), raw_val, w_val))
                if self._should_stop(val_scores if use_validation else train_scores):
                    break

        self.n_iter_ = n_iter
        self.train_score_ = np.asarray(train_scores)
        self.validation_score_ = np.asarray(val_scores)
        self.node_int_, self.node_float_, self.tree_roots_ = _concatenate_trees(trees)
        return self

    def _should_stop(self, scores: list[float]) -> bool:
        """True when none of the last ``n_iter_no_change`` scores beats the one before by tol."""
        reference_position = self.n_iter_no_change + 1
        if len(scores) < reference_position:
            return False
        reference = scores[-reference_position] + self.tol
        return not any(score > reference for score in scores[-reference_position + 1 :])

    # -------------------------------------------------------------- predict
    def _validate_X(self, X) -> np.ndarray:
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, ensure_all_finite=False, dtype=np.float64)
        return np.ascontiguousarray(X, dtype=np.float64)

    def _raw_fast(self, X: np.ndarray) -> np.ndarray:
        return predict_raw(X, self.node_int_, self.node_float_, self.tree_roots_, self.baseline_)

    def _proba_from_raw(self, raw: np.ndarray) -> np.ndarray:
        if raw.shape[1] == 1:
            p = 1.0 / (1.0 + np.exp(-raw[:, 0]))
            return np.column_stack([1.0 - p, p])
        e = np.exp(raw - raw.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def _predict_proba_fast(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities of an already validated C-contiguous float64 ``X`` (serving path)."""
        return self._proba_from_raw(self._raw_fast(X))

    def decision_function(self, X) -> np.ndarray:
        """Raw scores: log-odds of ``classes_[1]`` (n_samples,) if binary, else (n, n_classes)."""
        raw = self._raw_fast(self._validate_X(X))
        return raw[:, 0] if raw.shape[1] == 1 else raw

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes)."""
        return self._predict_proba_fast(self._validate_X(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba_row(self, x: np.ndarray) -> float:
        """Probability of ``classes_[1]`` for one row ``x`` of a binary problem.

        Skips validation and threads: ``x`` must hold ``n_features_in_`` values
        (NaN = missing) in training column order. For the serving path.
        """
        if self.n_trees_per_iteration_ != 1:
            raise ValueError("predict_proba_row needs a binary classifier; use predict_proba.")
        row = np.ascontiguousarray(x, dtype=np.float64)
        raw = predict_raw_row(
            row, self.node_int_, self.node_float_, self.tree_roots_, self.baseline_
        )
        return 1.0 / (1.0 + np.exp(-raw[0]))

    # --------------------------------------------------------- explanations
    def shap_model(self, class_index: int | None = None) -> dict:
        """The ensemble as the dict ``shap.TreeExplainer`` accepts for custom trees.

        Thresholds are on raw feature values (``x <= threshold`` goes left, as
        in SHAP); NaN follows ``children_default``; internal node values are
        the sample-weighted means of their children so that SHAP's expected
        value is consistent. For multiclass models pass ``class_index`` to
        explain that class's raw score.

        Returns
        -------
        dict with keys "trees", "base_offset", "tree_output", "objective", "input_dtype".
        """
        check_is_fitted(self)
        n_outputs = self.n_trees_per_iteration_
        if n_outputs == 1:
            k = 0
        elif class_index is None:
            raise ValueError("shap_model needs class_index for a multiclass model.")
        else:
            k = int(class_index)
        roots = self.tree_roots_
        ends = np.append(roots[1:], self.node_int_.shape[0])
        trees = []
        for t in range(k, roots.shape[0], n_outputs):
            node_int = self.node_int_[roots[t] : ends[t]]
            node_float = self.node_float_[roots[t] : ends[t]]
            trees.append(_shap_tree(node_int, node_float, roots[t]))
        return {
            "trees": trees,
            "base_offset": float(self.baseline_[k]),
            "tree_output": "log_odds" if n_outputs == 1 else "raw_value",
            "objective": "binary_crossentropy" if n_outputs == 1 else None,
            "input_dtype": np.float64,
            "internal_dtype": np.float64,
        }

    # ---------------------------------------------------------- persistence
    def _to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "n_trees_per_iteration_": int(self.n_trees_per_iteration_),
            "n_iter_": int(self.n_iter_),
            "do_early_stopping_": bool(self.do_early_stopping_),
        }
        arrays = {
            "classes_": self.classes_,
            "baseline_": self.baseline_,
            "bin_edges_": self.bin_edges_,
            "bin_offsets_": self.bin_offsets_,
            "node_int_": self.node_int_,
            "node_float_": self.node_float_,
            "tree_roots_": self.tree_roots_,
            "train_score_": self.train_score_,
            "validation_score_": self.validation_score_,
        }
        return meta, arrays

    def _from_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        for name, value in meta.items():
            setattr(self, name, value)
        for name, value in arrays.items():
            setattr(self, name, value)


def _stratified_split(
    y: np.ndarray, validation_fraction: float | int, rng: np.random.RandomState
) -> tuple[np.ndarray, np.ndarray]:
    """(train rows, validation rows), each class split in proportion.

    Classes with fewer than two samples stay in the training set.
    """
    n = y.shape[0]
    n_val_total = (
        int(validation_fraction)
        if isinstance(validation_fraction, Integral)
        else int(np.ceil(validation_fraction * n))
    )
    share = min(n_val_total / n, 1.0)
    val_parts = []
    for k in np.unique(y):
        rows = np.flatnonzero(y == k)
        rng.shuffle(rows)
        if rows.shape[0] >= 2:
            n_val = min(max(int(round(share * rows.shape[0])), 1), rows.shape[0] - 1)
            val_parts.append(rows[:n_val])
    val = np.sort(np.concatenate(val_parts)) if val_parts else np.empty(0, dtype=np.int64)
    mask = np.ones(n, dtype=bool)
    mask[val] = False
    return np.flatnonzero(mask), val


def _concatenate_trees(trees: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """Stack per-tree node arrays; child indices become absolute."""
    sizes = np.array([t[0].shape[0] for t in trees], dtype=np.int64)
    roots = np.zeros(len(trees), dtype=np.int64)
    roots[1:] = np.cumsum(sizes)[:-1]
    node_int = np.concatenate([t[0] for t in trees]).astype(np.int32)
    node_float = np.ascontiguousarray(np.concatenate([t[1] for t in trees]))
    for offset, size in zip(roots, sizes, strict=True):
        block = node_int[offset : offset + size]
        internal = block[:, LEFT] != -1
        block[internal, LEFT] += offset
        block[internal, RIGHT] += offset
    return np.ascontiguousarray(node_int), node_float, roots


def _shap_tree(node_int: np.ndarray, node_float: np.ndarray, offset: int) -> dict:
    """One tree in SHAP's custom format (local node ids, cover-weighted internal values)."""
    n = node_int.shape[0]
    is_leaf = node_int[:, LEFT] == -1
    left = np.where(is_leaf, -1, node_int[:, LEFT] - offset).astype(np.int32)
    right = np.where(is_leaf, -1, node_int[:, RIGHT] - offset).astype(np.int32)
    default = np.where(is_leaf, -1, np.where(node_int[:, MISSING_LEFT] != 0, left, right))
    cover = node_int[:, COUNT].astype(np.float64)
    values = node_float[:, VALUE].copy()
    # Children are created after their parent, so a reverse sweep sees them first.
    for node in range(n - 1, -1, -1):
        if not is_leaf[node]:
            values[node] = (
                cover[left[node]] * values[left[node]] + cover[right[node]] * values[right[node]]
            ) / cover[node]
    return {
        "children_left": left,
        "children_right": right,
        "children_default": default.astype(np.int32),
        "features": np.where(is_leaf, -2, node_int[:, FEATURE]).astype(np.int32),
        "thresholds": np.where(is_leaf, 0.0, node_float[:, THRESHOLD]),
        "values": values.reshape(-1, 1),
        "node_sample_weight": cover,
    }


__all__ = ["HistGradientBoostingClassifier"]
