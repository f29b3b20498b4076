"""L2-penalised logistic regression fitted by Newton's method (IRLS).

Maths and design: docs/algorithms/logistic_regression.md.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClassifierMixin
from riskloop.scratch._logistic_kernels import (
    binomial_loss,
    binomial_loss_gradient_curvature,
)
from riskloop.scratch._validation import (
    ConvergenceWarning,
    Interval,
    StrOptions,
    check_classification_targets,
    check_is_fitted,
    check_sample_weight,
    class_sample_weight,
    encode_classes,
    sklearn_compatible,
    validate_data,
)

__all__ = ["LogisticRegression"]

# Armijo sufficient-decrease constant and the smallest step tried.
_ARMIJO = 1e-4
_MIN_STEP = 2.0**-30
# Newton decrements below this (relative to the objective) are rounding noise.
_EPS_DECREASE = 16 * np.finfo(np.float64).eps


class LogisticRegression(ClassifierMixin, BaseEstimator):
    """Logistic regression with an L2 penalty, solved by Newton's method.

    Minimises ``C Σ_i s_i ℓ(y_i, x_i·w + b) + ½‖w‖²`` (the intercept is not
    penalised), which is scikit-learn's objective, so with the same ``C`` the
    two give the same coefficients. Two classes use the binomial loss; more
    classes use the multinomial (softmax) loss, also solved by Newton.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength (> 0): larger C, weaker penalty.
    fit_intercept : bool, default=True
        Whether to fit an (unpenalised) intercept.
    tol : float, default=1e-4
        Stop when the largest absolute gradient entry of the objective divided
        by the total sample weight falls to ``tol`` or below.
    max_iter : int, default=100
        Maximum number of Newton iterations; a ``ConvergenceWarning`` is
        issued if ``tol`` is not met by then.
    class_weight : dict, "balanced" or None, default=None
        Weights multiplying each sample's loss by its class: ``{label:
        weight}``, or "balanced" for ``n_samples / (n_classes * count)``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    coef_ : ndarray of shape (1, n_features) or (n_classes, n_features)
        One row for two classes (the log-odds of ``classes_[1]``), else one
        row per class (symmetric: rows sum to zero by the penalty).
    intercept_ : ndarray of shape (1,) or (n_classes,)
        Intercepts; for several classes centred to sum to zero.
    n_iter_ : ndarray of shape (1,)
        Newton iterations run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "fit_intercept": ["boolean"],
        "tol": [Interval(Real, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(self, *, C=1.0, fit_intercept=True, tol=1e-4, max_iter=100, class_weight=None):
        self.C = C
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.class_weight = class_weight

    # ------------------------------------------------------------------ fit
    def fit(self, X, y, sample_weight=None) -> LogisticRegression:
        """Fit the model to X (n_samples, n_features) and labels y."""
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        self.classes_, y_encoded = encode_classes(y)
        n_classes = len(self.classes_)
        if n_classes < 2:
            raise ValueError(
                "This solver needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {self.classes_[0]!r}"
            )
        weights = check_sample_weight(sample_weight, X) * class_sample_weight(
            self.class_weight, y_encoded, self.classes_
        )
        design = np.hstack([X, np.ones((X.shape[0], 1))]) if self.fit_intercept else X
        # Objective divided by the total weight, as scikit-learn does, so that
        # `tol` means the same thing whatever the sample size.
        scale = 1.0 / weights.sum()
        penalty = np.full(design.shape[1], scale / self.C)
        if self.fit_intercept:
            penalty[-1] = 0.0
        if n_classes == 2:
            theta, n_iter = self._fit_binomial(
                design, y_encoded.astype(np.float64), weights, scale, penalty
            )
            params = theta.reshape(1, -1)
        else:
            params, n_iter = self._fit_multinomial(design, y_encoded, weights, scale, penalty)
        n_features = X.shape[1]
        self.coef_ = np.ascontiguousarray(params[:, :n_features])
        self.intercept_ = (
            params[:, n_features].copy() if self.fit_intercept else np.zeros(params.shape[0])
        )
        self.n_iter_ = np.array([n_iter], dtype=np.int32)
        return self

    def _fit_binomial(self, design, y, weights, scale, penalty):
        n_samples, n_params = design.shape
        residual = np.empty(n_samples)
        curvature = np.empty(n_samples)

        def loss(theta):
            z = design @ theta
            return scale * binomial_loss(z, y, weights) + 0.5 * np.sum(penalty * theta**2)

        def loss_gradient_hessian(theta):
            z = design @ theta
            value = scale * binomial_loss_gradient_curvature(z, y, weights, residual, curvature)
            value += 0.5 * np.sum(penalty * theta**2)
            gradient = scale * (design.T @ residual) + penalty * theta
            root = design * np.sqrt(scale * curvature)[:, None]
            hessian = root.T @ root  # NumPy uses BLAS syrk for A.T @ A
            hessian[np.diag_indices(n_params)] += penalty
            return value, gradient, hessian

        theta0 = np.zeros(n_params)
        if self.fit_intercept:
            # Start from the weighted log-odds: one Newton step fewer, usually.
            p = np.clip(np.sum(weights * y) * scale, 1e-12, 1 - 1e-12)
            theta0[-1] = math.log(p / (1 - p))
        return self._newton(loss, loss_gradient_hessian, theta0)

    def _fit_multinomial(self, design, y_encoded, weights, scale, penalty):
        n_samples, n_dims = design.shape
        n_classes = len(self.classes_)
        onehot = np.zeros((n_samples, n_classes))
        onehot[np.arange(n_samples), y_encoded] = 1.0
        # The softmax is unchanged by adding a constant to all intercepts, so
        # the last class's intercept is held at 0 during the solve (the
        # Hessian would be singular otherwise) and all are centred at the end.
        free = np.ones((n_classes, n_dims), dtype=bool)
        if self.fit_intercept:
            free[-1, -1] = False
        free_flat = free.ravel()
        penalty_matrix = np.tile(penalty, (n_classes, 1))

        def unpack(theta_free):
            params = np.zeros(n_classes * n_dims)
            params[free_flat] = theta_free
            return params.reshape(n_classes, n_dims)

        def softmax_terms(params):
            scores = design @ params.T
            scores -= scores.max(axis=1, keepdims=True)
            log_norm = np.log(np.exp(scores).sum(axis=1))
            log_proba = scores - log_norm[:, None]
            value = -scale * np.sum(weights * np.sum(onehot * log_proba, axis=1))
            value += 0.5 * np.sum(penalty_matrix * params**2)
            return value, np.exp(log_proba)

        def loss(theta_free):
            return softmax_terms(unpack(theta_free))[0]

        def loss_gradient_hessian(theta_free):
            params = unpack(theta_free)
            value, proba = softmax_terms(params)
            residual = scale * weights[:, None] * (proba - onehot)
            gradient = (residual.T @ design + penalty_matrix * params).ravel()
            hessian = np.empty((n_classes * n_dims, n_classes * n_dims))
            sw = scale * weights
            for k in range(n_classes):
                for m in range(k, n_classes):
                    cross = sw * proba[:, k] * ((k == m) - proba[:, m])
                    block = design.T @ (design * cross[:, None])
                    hessian[k * n_dims : (k + 1) * n_dims, m * n_dims : (m + 1) * n_dims] = block
                    hessian[m * n_dims : (m + 1) * n_dims, k * n_dims : (k + 1) * n_dims] = block.T
            hessian[np.diag_indices_from(hessian)] += penalty_matrix.ravel()
            return value, gradient[free_flat], hessian[np.ix_(free_flat, free_flat)]

        theta, n_iter = self._newton(loss, loss_gradient_hessian, np.zeros(free_flat.sum()))
        params = unpack(theta)
        if self.fit_intercept:
            params[:, -1] -= params[:, -1].mean()
        return params, n_iter

    def _newton(
        self,
        loss: Callable[[np.ndarray], float],
        loss_gradient_hessian: Callable,
        theta: np.ndarray,
    ) -> tuple[np.ndarray, int]:
        """Damped Newton: solve H Δ = -g by Cholesky, backtrack until Armijo holds."""
        for iteration in range(1, self.max_iter + 1):
            value, gradient, hessian = loss_gradient_hessian(theta)
            if np.max(np.abs(gradient)) <= self.tol:
                return theta, iteration - 1
            step = _solve_positive_definite(hessian, -gradient)
            slope = float(gradient @ step)
            if -slope <= _EPS_DECREASE * max(abs(value), 1.0):
                # The Newton decrement is below what float64 can resolve in the
                # objective: the gradient is at its rounding floor, stop.
                return theta, iteration - 1
            t = 1.0
            while t >= _MIN_STEP:
                candidate = theta + t * step
                if loss(candidate) <= value + _ARMIJO * t * slope:
                    break
                t *= 0.5
            else:
                # No decrease is measurable any more: we are at the optimum to
                # machine precision.
                return theta, iteration
            theta = candidate
        _, gradient, _ = loss_gradient_hessian(theta)
        if np.max(np.abs(gradient)) > self.tol:
            warnings.warn(
                f"LogisticRegression did not converge in max_iter={self.max_iter} Newton "
                f"iterations (max |gradient| = {np.max(np.abs(gradient)):.3g} > "
                f"tol={self.tol}). Increase max_iter or scale the features.",
                sklearn_compatible(ConvergenceWarning),
                stacklevel=3,
            )
        return theta, self.max_iter

    # -------------------------------------------------------------- predict
    def decision_function(self, X) -> np.ndarray:
        """Linear scores: shape (n_samples,) for two classes, else (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._decision(X)

    def _decision(self, X: np.ndarray) -> np.ndarray:
        scores = X @ self.coef_.T + self.intercept_
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns as ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._predict_proba_fast(X)

    def _predict_proba_fast(self, X: np.ndarray) -> np.ndarray:
        """``predict_proba`` without validation, for an already validated 2-D float array."""
        scores = self._decision(X)
        if scores.ndim == 1:
            positive = _stable_sigmoid(scores)
            return np.column_stack([1.0 - positive, positive])
        scores = scores - scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict_proba_row(self, x: np.ndarray) -> float:
        """Probability of ``classes_[1]`` for one row — the serving fast path.

        No validation: ``x`` must be a 1-D float array of ``n_features_in_``
        values in training column order, already checked by the caller. Two
        classes only.
        """
        z = float(np.dot(self.coef_[0], x)) + float(self.intercept_[0])
        if z >= 0.0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of :meth:`predict_proba`."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores > 0).astype(np.int64)]
        return self.classes_[np.argmax(scores, axis=1)]

    # ---------------------------------------------------------- persistence
    def _to_state(self):
        arrays = {
            "classes_": self.classes_,
            "coef_": self.coef_,
            "intercept_": self.intercept_,
            "n_iter_": self.n_iter_,
        }
        return {}, arrays

    def _from_state(self, meta, arrays):
        for name in ("classes_", "coef_", "intercept_", "n_iter_"):
            setattr(self, name, arrays[name])


def _stable_sigmoid(z: np.ndarray) -> np.ndarray:
    # exp of a non-positive number never overflows.
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _solve_positive_definite(hessian: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    try:
        lower = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        # Only without penalty on some direction (e.g. a constant column
        # colliding with the intercept): fall back to least squares.
        return np.linalg.lstsq(hessian, rhs, rcond=None)[0]
    return np.linalg.solve(lower.T, np.linalg.solve(lower, rhs))
