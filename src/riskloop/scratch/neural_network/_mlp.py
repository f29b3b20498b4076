"""Multi-layer perceptron classifier trained by mini-batch Adam or SGD with hand-written backprop.

The maths (loss, gradients, optimizers) is in ``_layers.py``, ``_optimizers.py`` and
``docs/algorithms/mlp.md``; this module is the estimator around them.
"""

from __future__ import annotations

import math
import warnings
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from .._base import BaseEstimator, ClassifierMixin
from .._validation import (
    ConvergenceWarning,
    Interval,
    Options,
    SequenceOf,
    StrOptions,
    check_classification_targets,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    encode_classes,
    validate_data,
)
from ._layers import ACTIVATIONS, HIDDEN_ACTIVATIONS, backprop, forward
from ._optimizers import AdamOptimizer, SGDOptimizer

# Rows per block when predicting: bounds the memory of the hidden activations on big inputs
# (1M rows x 100 units would otherwise be 800 MB) and keeps each block cache-friendly.
_PREDICT_BLOCK_ROWS = 32_768


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """Multi-layer perceptron classifier (log-loss, mini-batch Adam or SGD).

    Hidden layers are dense with a shared activation; the output is one sigmoid unit for two
    classes and a softmax over the classes otherwise. The loss is the (sample-weighted) mean
    cross-entropy plus ``alpha / 2 * sum ||W||^2 / n_batch``, exactly as in scikit-learn's
    ``MLPClassifier``, whose parameter names and defaults this class follows.

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Number of units in each hidden layer, input side first.
    activation : {"relu", "tanh", "logistic", "identity"}, default="relu"
        Activation of the hidden layers.
    solver : {"adam", "sgd"}, default="adam"
        Mini-batch optimizer.
    alpha : float, default=0.0001
        Strength of the L2 penalty on the weights (not the biases).
    batch_size : int or "auto", default="auto"
        Rows per mini-batch; ``"auto"`` means ``min(200, n_samples)``. Clipped to
        ``[1, n_samples]``.
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        Step-size schedule of the ``"sgd"`` solver (ignored by Adam): ``"invscaling"`` uses
        ``learning_rate_init / (t + 1) ** power_t`` after ``t`` rows seen; ``"adaptive"``
        divides the step by 5 whenever the loss plateaus instead of stopping.
    learning_rate_init : float, default=0.001
        Initial step size.
    power_t : float, default=0.5
        Exponent of the ``"invscaling"`` schedule.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training rows).
    shuffle : bool, default=True
        Reshuffle the rows before each epoch.
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialisation, the shuffling and the early-stopping split.
    tol : float, default=1e-4
        An epoch counts as an improvement when the training loss falls (or, with early
        stopping, the validation accuracy rises) by at least ``tol``.
    verbose : bool, default=False
        Print the loss after each epoch.
    momentum : float, default=0.9
        Momentum of the ``"sgd"`` solver, in [0, 1].
    nesterovs_momentum : bool, default=True
        Use Nesterov's momentum with the ``"sgd"`` solver.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the rows, stop when their accuracy has
        not improved for ``n_iter_no_change`` epochs, and keep the best weights seen.
    validation_fraction : float, default=0.1
        Share of rows held out when ``early_stopping`` is on, in (0, 1).
    beta_1 : float, default=0.9
        Adam's decay rate of the first-moment estimate, in [0, 1).
    beta_2 : float, default=0.999
        Adam's decay rate of the second-moment estimate, in [0, 1).
    epsilon : float, default=1e-8
        Adam's numerical-stability constant.
    n_iter_no_change : int, default=10
        Epochs without improvement (by ``tol``) before stopping.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coefs_ : list of ndarray
        ``coefs_[i]`` is the weight matrix from layer ``i`` to ``i + 1``, shape (fan_in, fan_out).
    intercepts_ : list of ndarray
        ``intercepts_[i]`` is the bias vector of layer ``i + 1``.
    loss_ : float
        Mean training loss (with the L2 term) over the last epoch.
    loss_curve_ : list of float
        ``loss_`` after every epoch.
    best_loss_ : float or None
        Lowest ``loss_`` seen; None with early stopping.
    validation_scores_ : list of float or None
        Validation accuracy after every epoch; None without early stopping.
    best_validation_score_ : float or None
        Best validation accuracy, whose weights are kept; None without early stopping.
    n_iter_ : int
        Epochs run.
    t_ : int
        Training rows processed in total.
    n_layers_ : int
        Layers including input and output.
    n_outputs_ : int
        Output units (1 for two classes, else n_classes).
    out_activation_ : {"logistic", "softmax"}
        Output link.
    n_features_in_ : int
        Number of input columns.
    feature_names_in_ : ndarray of str
        Column names, when fitted on a DataFrame with string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "hidden_layer_sizes": [
            Interval(Integral, 1, None, closed="left"),
            SequenceOf(Interval(Integral, 1, None, closed="left")),
        ],
        "activation": [StrOptions(HIDDEN_ACTIVATIONS)],
        "solver": [StrOptions({"adam", "sgd"})],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "learning_rate": [StrOptions({"constant", "invscaling", "adaptive"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "power_t": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "shuffle": ["boolean"],
        "random_state": ["random_state"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "verbose": ["verbose"],
        "momentum": [Interval(Real, 0, 1, closed="both")],
        "nesterovs_momentum": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "beta_1": [Interval(Real, 0, 1, closed="left")],
        "beta_2": [Interval(Real, 0, 1, closed="left")],
        "epsilon": [Interval(Real, 0, None, closed="neither")],
        "n_iter_no_change": [
            Interval(Integral, 1, None, closed="left"),
            Options(Real, {math.inf}),
        ],
    }

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change

    # ------------------------------------------------------------------ fit

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X``, ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (float64 is used unless X is float32, which is kept).
        y : array-like of shape (n_samples,)
            Class labels (at least two classes).
        sample_weight : array-like of shape (n_samples,), default=None
            Row weights in the loss; None means equal weights.

        Returns
        -------
        self : MLPClassifier
        """
        self._validate_params()
        sizes = self.hidden_layer_sizes
        hidden_sizes = [int(sizes)] if isinstance(sizes, Integral) else [int(s) for s in sizes]
        X, y = validate_data(self, X, y, dtype=[np.float64, np.float32])
        check_classification_targets(y)
        classes, y_encoded = encode_classes(y)
        if classes.shape[0] < 2:
            raise ValueError(
                "MLPClassifier can't train when only one class is present: y contains only "
                f"{classes[0]!r}. Provide rows of at least two classes."
            )
        X = np.ascontiguousarray(X)
        dtype = X.dtype
        if sample_weight is not None:
            sample_weight = check_sample_weight(sample_weight, X).astype(dtype, copy=False)

        self.classes_ = classes
        self.n_outputs_ = 1 if classes.shape[0] == 2 else int(classes.shape[0])
        self.out_activation_ = "logistic" if self.n_outputs_ == 1 else "softmax"
        layer_units = [X.shape[1], *hidden_sizes, self.n_outputs_]
        self.n_layers_ = len(layer_units)

        random_state = check_random_state(self.random_state)
        params, self.coefs_, self.intercepts_ = _glorot_init(
            layer_units, self.activation, dtype, random_state
        )
        grads, coef_grads, intercept_grads = _allocate_like(layer_units, dtype)
        self._fit_stochastic(
            X, y_encoded, sample_weight, params, grads, coef_grads, intercept_grads, random_state
        )
        if not np.isfinite(params).all():
            raise ValueError(
                "Solver produced non-finite parameter weights. The input data may contain "
                "large values and need to be standardised, or learning_rate_init is too large."
            )
        return self

    def _fit_stochastic(
        self, X, y, sample_weight, params, grads, coef_grads, intercept_grads, random_state
    ):
        # Tracked in locals (typed), mirrored into the public attributes as they change.
        validation_scores: list[float] = []
        best_score = -np.inf
        best_loss = np.inf
        if self.early_stopping:
            train, val = _stratified_holdout(y, self.validation_fraction, random_state)
            X_val, y_val = X[val], y[val]
            sw_val = None if sample_weight is None else sample_weight[val]
            X, y = X[train], y[train]
            sample_weight = None if sample_weight is None else sample_weight[train]
            self.validation_scores_: list[float] | None = validation_scores
            self.best_validation_score_: float | None = best_score
            self.best_loss_: float | None = None
            best_params = params.copy()
        else:
            self.validation_scores_ = None
            self.best_validation_score_ = None
            self.best_loss_ = best_loss

        n_samples = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, n_samples)
        else:
            if self.batch_size > n_samples:
                warnings.warn(
                    f"batch_size={self.batch_size} is larger than the {n_samples} training "
                    "rows; it is clipped to the number of rows.",
                    UserWarning,
                    stacklevel=3,
                )
            batch_size = int(np.clip(self.batch_size, 1, n_samples))

        optimizer: AdamOptimizer | SGDOptimizer
        if self.solver == "adam":
            optimizer = AdamOptimizer(
                params.shape[0],
                X.dtype,
                self.learning_rate_init,
                self.beta_1,
                self.beta_2,
                self.epsilon,
            )
        else:
            optimizer = SGDOptimizer(
                params.shape[0],
                X.dtype,
                self.learning_rate_init,
                self.learning_rate,
                self.momentum,
                self.nesterovs_momentum,
                self.power_t,
            )

        # Work buffers sized for the largest batch; smaller last batches use their first rows.
        activations = [np.empty((batch_size, W.shape[1]), X.dtype) for W in self.coefs_]
        deltas = [np.empty_like(a) for a in activations]
        X_batch_buffer = np.empty((batch_size, X.shape[1]), X.dtype)
        order = np.arange(n_samples)

        self.n_iter_ = 0
        self.t_ = 0
        self.loss_curve_ = []
        no_improvement = 0
        for _ in range(self.max_iter):
            if self.shuffle:
                # In-place Fisher-Yates: the same permutation scikit-learn draws from this seed.
                random_state.shuffle(order)
            accumulated_loss = 0.0
            for start in range(0, n_samples, batch_size):
                stop = min(start + batch_size, n_samples)
                rows: np.ndarray | slice
                if self.shuffle:
                    rows = order[start:stop]
                    X_batch = np.take(
                        X, rows, axis=0, out=X_batch_buffer[: stop - start], mode="clip"
                    )
                else:
                    rows = slice(start, stop)
                    X_batch = X[rows]
                sw_batch = None if sample_weight is None else sample_weight[rows]
                batch_loss = backprop(
                    X_batch,
                    y[rows],
                    sw_batch,
                    self.coefs_,
                    self.intercepts_,
                    self.activation,
                    self.out_activation_,
                    self.alpha,
                    activations,
                    deltas,
                    coef_grads,
                    intercept_grads,
                )
                accumulated_loss += batch_loss * (stop - start)
                optimizer.step(params, grads)

            self.n_iter_ += 1
            self.t_ += n_samples
            self.loss_ = accumulated_loss / n_samples
            self.loss_curve_.append(self.loss_)
            if self.verbose:
                print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")

            if self.early_stopping:
                score = self._accuracy(X_val, y_val, sw_val)
                validation_scores.append(score)
                improved_by_tol = score >= best_score + self.tol
                if score > best_score:
                    best_score = self.best_validation_score_ = score
                    best_params[:] = params
            else:
                improved_by_tol = self.loss_ <= best_loss - self.tol
                best_loss = self.best_loss_ = min(best_loss, self.loss_)
            no_improvement = 0 if improved_by_tol else no_improvement + 1

            optimizer.epoch_ends(self.t_)
            if no_improvement > self.n_iter_no_change:
                if optimizer.on_plateau():
                    break
                no_improvement = 0
            if self.n_iter_ == self.max_iter:
                warnings.warn(
                    f"Stochastic optimizer: maximum iterations ({self.max_iter}) reached and "
                    "the optimization hasn't converged yet. Increase max_iter or "
                    "learning_rate_init, or standardise the features.",
                    ConvergenceWarning,
                    stacklevel=3,
                )
        if self.early_stopping:
            params[:] = best_params

    def _accuracy(self, X, y_encoded, sample_weight) -> float:
        proba = self._forward_fast(X)
        if not np.isfinite(proba).all():
            return float("nan")
        correct = _argmax_class(proba) == y_encoded
        return float(np.average(correct, weights=sample_weight))

    # ------------------------------------------------------------- predict

    def _forward_fast(self, X: np.ndarray) -> np.ndarray:
        """Network output for validated ``X`` (no checks), in blocks of rows."""
        dtype = self.coefs_[0].dtype
        X = np.ascontiguousarray(X, dtype=dtype)
        n_samples = X.shape[0]
        out = np.empty((n_samples, self.n_outputs_), dtype=dtype)
        block = min(n_samples, _PREDICT_BLOCK_ROWS)
        buffers = [np.empty((block, W.shape[1]), dtype) for W in self.coefs_]
        for start in range(0, n_samples, block):
            stop = min(start + block, n_samples)
            out[start:stop] = forward(
                X[start:stop],
                self.coefs_,
                self.intercepts_,
                self.activation,
                self.out_activation_,
                buffers,
            )
        return out

    def _predict_proba_fast(self, X: np.ndarray) -> np.ndarray:
        """``predict_proba`` without validation, for callers that validated ``X`` already."""
        out = self._forward_fast(X)
        if self.n_outputs_ == 1:
            return np.hstack([1.0 - out, out])
        return out

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probability of each class, columns ordered as ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._predict_proba_fast(X)

    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def predict(self, X):
        """Most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to classify.

        Returns
        -------
        ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self.classes_[_argmax_class(self._forward_fast(X))]

    def predict_proba_row(self, x: np.ndarray) -> float:
        """Probability of ``classes_[1]`` for one row, without validation (serving path).

        Parameters
        ----------
        x : ndarray of shape (n_features,)
            One row, already validated by the caller (numeric, finite, right length).

        Returns
        -------
        float
            The positive-class probability. Binary models only.
        """
        if self.n_outputs_ != 1:
            raise ValueError(
                "predict_proba_row returns one probability and needs a binary model; "
                f"this one has {len(self.classes_)} classes, use predict_proba."
            )
        a = np.asarray(x, dtype=self.coefs_[0].dtype)
        hidden = ACTIVATIONS[self.activation]
        for W, b in zip(self.coefs_[:-1], self.intercepts_[:-1], strict=True):
            a = a @ W + b
            hidden(a)
        z = float(a @ self.coefs_[-1][:, 0] + self.intercepts_[-1][0])
        # Stable sigmoid for either sign of z.
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    # --------------------------------------------------------- persistence

    def _to_state(self):
        # n_features_in_ and feature_names_in_ are saved by BaseEstimator.save.
        arrays = {"classes_": self.classes_}
        for i, (W, b) in enumerate(zip(self.coefs_, self.intercepts_, strict=True)):
            arrays[f"coef_{i}"] = np.ascontiguousarray(W)
            arrays[f"intercept_{i}"] = np.ascontiguousarray(b)
        meta = {
            "n_layers_": int(self.n_layers_),
            "n_outputs_": int(self.n_outputs_),
            "out_activation_": self.out_activation_,
            "n_iter_": int(self.n_iter_),
            "t_": int(self.t_),
            "loss_": float(self.loss_),
            "loss_curve_": [float(v) for v in self.loss_curve_],
            "best_loss_": None if self.best_loss_ is None else float(self.best_loss_),
            "validation_scores_": (
                None
                if self.validation_scores_ is None
                else [float(v) for v in self.validation_scores_]
            ),
            "best_validation_score_": (
                None if self.best_validation_score_ is None else float(self.best_validation_score_)
            ),
        }
        return meta, arrays

    def _from_state(self, meta, arrays):
        for key, value in meta.items():
            setattr(self, key, value)
        self.classes_ = arrays["classes_"]
        n_weight_layers = self.n_layers_ - 1
        self.coefs_ = [arrays[f"coef_{i}"] for i in range(n_weight_layers)]
        self.intercepts_ = [arrays[f"intercept_{i}"] for i in range(n_weight_layers)]


def _glorot_init(layer_units, activation, dtype, random_state):
    """Glorot-uniform weights and biases in one flat vector, with per-layer views.

    ``U(-r, r)`` with ``r = sqrt(6 / (fan_in + fan_out))`` (``sqrt(2 / ...)`` for the logistic
    activation), drawn layer by layer, weights then biases, in float64 and in the same order as
    scikit-learn, so one seed gives both libraries the same starting network.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    params, coefs, intercepts = _allocate_like(layer_units, dtype)
    for W, b in zip(coefs, intercepts, strict=True):
        bound = np.sqrt(factor / (W.shape[0] + W.shape[1]))
        W[...] = random_state.uniform(-bound, bound, W.shape)
        b[...] = random_state.uniform(-bound, bound, b.shape)
    return params, coefs, intercepts


def _allocate_like(layer_units, dtype):
    """One flat vector holding [W_0, b_0, W_1, b_1, ...] and the list of views into it."""
    sizes = [
        (fan_in, fan_out) for fan_in, fan_out in zip(layer_units[:-1], layer_units[1:], strict=True)
    ]
    flat = np.zeros(sum(fi * fo + fo for fi, fo in sizes), dtype=dtype)
    coefs, intercepts, offset = [], [], 0
    for fan_in, fan_out in sizes:
        coefs.append(flat[offset : offset + fan_in * fan_out].reshape(fan_in, fan_out))
        offset += fan_in * fan_out
        intercepts.append(flat[offset : offset + fan_out])
        offset += fan_out
    return flat, coefs, intercepts


def _argmax_class(output: np.ndarray) -> np.ndarray:
    """Encoded class of each row: sigmoid output > 0.5, else the softmax argmax."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0.5).astype(np.int64)
    return output.argmax(axis=1)


def _stratified_holdout(y, fraction, random_state):
    """Indices (train, validation) with ``ceil(fraction * n)`` validation rows, stratified.

    Rows are shuffled, grouped by class (stable), and every ``1 / fraction``-th row of that
    order is held out, so each class keeps its share to within one row.
    """
    n = y.shape[0]
    n_val = math.ceil(fraction * n)
    if n_val < 2 or n - n_val < 1:
        raise ValueError(
            f"The validation set is too small: validation_fraction={fraction} of {n} rows "
            f"gives {n_val}. Increase validation_fraction or the size of your dataset."
        )
    permuted = random_state.permutation(n)
    grouped = permuted[np.argsort(y[permuted], kind="stable")]
    position = np.arange(n)
    held_out = (position + 1) * n_val // n - position * n_val // n == 1
    return np.sort(grouped[~held_out]), np.sort(grouped[held_out])
