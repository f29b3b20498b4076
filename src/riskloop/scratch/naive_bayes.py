"""Gaussian naive Bayes, in log space. Maths: docs/algorithms/gaussian_nb.md."""

from __future__ import annotations

from numbers import Real
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClassifierMixin
from riskloop.scratch._validation import (
    Interval,
    check_classification_targets,
    check_is_fitted,
    check_sample_weight,
    encode_classes,
    validate_data,
)

__all__ = ["GaussianNB"]


class GaussianNB(ClassifierMixin, BaseEstimator):
    """Gaussian naive Bayes: features independent and normal within each class.

    Parameters
    ----------
    priors : array-like of shape (n_classes,), default=None
        Prior probability of each class (in the order of ``classes_``). None
        estimates them from the (weighted) class frequencies.
    var_smoothing : float, default=1e-9
        Fraction of the largest feature variance added to every variance, so
        that a constant feature does not give a zero variance.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    class_count_ : ndarray of shape (n_classes,)
        Weighted number of training samples per class.
    class_prior_ : ndarray of shape (n_classes,)
    theta_ : ndarray of shape (n_classes, n_features)
        Per-class feature means.
    var_ : ndarray of shape (n_classes, n_features)
        Per-class feature variances, ``epsilon_`` included.
    epsilon_ : float
        The absolute variance added: ``var_smoothing * max_j Var(X_j)``.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "priors": ["array-like", None],
        "var_smoothing": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, *, priors=None, var_smoothing=1e-9):
        self.priors = priors
        self.var_smoothing = var_smoothing

    def fit(self, X, y, sample_weight=None) -> GaussianNB:
        """Estimate class priors, means and variances from X and y."""
        self._validate_params()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)
        X = X.astype(np.float64, copy=False)
        weights = check_sample_weight(sample_weight, X)
        self.classes_, y_encoded = encode_classes(y)
        n_classes, n_features = len(self.classes_), X.shape[1]

        self.epsilon_ = float(self.var_smoothing * np.var(X, axis=0).max())
        self.theta_ = np.zeros((n_classes, n_features))
        self.var_ = np.zeros((n_classes, n_features))
        self.class_count_ = np.zeros(n_classes)
        for k in range(n_classes):
            rows = y_encoded == k
            w = weights[rows]
            total = w.sum()
            mean = (w @ X[rows]) / total
            self.theta_[k] = mean
            self.var_[k] = (w @ (X[rows] - mean) ** 2) / total
            self.class_count_[k] = total
        self.var_ += self.epsilon_

        if self.priors is None:
            self.class_prior_ = self.class_count_ / self.class_count_.sum()
        else:
            priors = np.asarray(self.priors, dtype=np.float64)
            if priors.shape != (n_classes,):
                raise ValueError("Number of priors must match number of classes.")
            if not np.isclose(priors.sum(), 1.0):
                raise ValueError("The sum of the priors should be 1.")
            if (priors < 0).any():
                raise ValueError("Priors must be non-negative.")
            self.class_prior_ = priors
        return self

    def predict_joint_log_proba(self, X) -> np.ndarray:
        """``log P(x, c)`` for every sample and class, shape (n_samples, n_classes)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return self._joint_log_likelihood(X.astype(np.float64, copy=False))

    def _joint_log_likelihood(self, X: np.ndarray) -> np.ndarray:
        # log N(x | θ_k, σ²_k) summed over features, one class at a time so the
        # work stays O(n·d) memory; the direct (x-θ)² form avoids the cancellation
        # an expanded quadratic would suffer when |θ| >> σ.
        joint = np.empty((X.shape[0], len(self.classes_)))
        for k in range(len(self.classes_)):
            log_norm = -0.5 * np.sum(np.log(2.0 * np.pi * self.var_[k]))
            joint[:, k] = (
                np.log(self.class_prior_[k])
                + log_norm
                - 0.5 * np.sum((X - self.theta_[k]) ** 2 / self.var_[k], axis=1)
            )
        return joint

    def predict_log_proba(self, X) -> np.ndarray:
        """Log posterior class probabilities, shape (n_samples, n_classes)."""
        joint = self.predict_joint_log_proba(X)
        top = joint.max(axis=1, keepdims=True)
        return joint - (top + np.log(np.exp(joint - top).sum(axis=1, keepdims=True)))

    def predict_proba(self, X) -> np.ndarray:
        """Posterior class probabilities, shape (n_samples, n_classes)."""
        return np.exp(self.predict_log_proba(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class of each sample."""
        joint = self.predict_joint_log_proba(X)
        return self.classes_[np.argmax(joint, axis=1)]

    def _to_state(self):
        meta = {"epsilon_": self.epsilon_}
        arrays = {
            "classes_": self.classes_,
            "class_count_": self.class_count_,
            "class_prior_": self.class_prior_,
            "theta_": self.theta_,
            "var_": self.var_,
        }
        return meta, arrays

    def _from_state(self, meta, arrays):
        self.epsilon_ = meta["epsilon_"]
        for name in ("classes_", "class_count_", "class_prior_", "theta_", "var_"):
            setattr(self, name, arrays[name])
