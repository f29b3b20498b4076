"""Principal component analysis by the SVD of the centred data. Maths: docs/algorithms/pca.md."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, TransformerMixin
from riskloop.scratch._validation import (
    Interval,
    RealNotInt,
    StrOptions,
    check_is_fitted,
    validate_data,
)

__all__ = ["PCA"]


class PCA(TransformerMixin, BaseEstimator):
    """Project onto the directions of largest variance.

    With ``X - mean = U S Vᵀ`` (thin SVD, or the eigendecomposition of
    ``(X - mean)ᵀ(X - mean) = V S² Vᵀ`` for tall data), the components are the rows of
    ``Vᵀ`` and the explained variances ``S² / (n - 1)``. Signs are fixed like
    scikit-learn's ``svd_flip(u_based_decision=False)``: the entry of largest
    absolute value in each component is positive.

    Parameters
    ----------
    n_components : int, float or None, default=None
        Components kept: an int k (``1 ≤ k ≤ min(n_samples, n_features)``), a
        float in (0, 1) for the smallest k explaining more than that share of
        the variance, or None for ``min(n_samples, n_features)``.
    whiten : bool, default=False
        Divide the projections by the square roots of the explained variances
        so that each has unit variance.
    svd_solver : {"auto", "full", "covariance_eigh"}, default="auto"
        "full": LAPACK SVD of the centred data. "covariance_eigh": eigen-
        decomposition of the d×d matrix ``XcᵀXc`` — one BLAS pass over the data,
        far faster for tall data, slightly less accurate for tiny variances.
        "auto" picks "covariance_eigh" when ``n_samples >= 10 * n_features``
        and ``n_features <= 1000`` (scikit-learn's rule), else "full".

    Attributes
    ----------
    components_ : ndarray of shape (n_components_, n_features)
    explained_variance_ : ndarray of shape (n_components_,)
    explained_variance_ratio_ : ndarray of shape (n_components_,)
    singular_values_ : ndarray of shape (n_components_,)
    mean_ : ndarray of shape (n_features,)
    n_components_ : int
    n_samples_ : int
    noise_variance_ : float
        Mean of the discarded variances (0 when none is discarded).
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_components": [
            Interval(Integral, 1, None, closed="left"),
            Interval(RealNotInt, 0, 1, closed="neither"),
            None,
        ],
        "whiten": ["boolean"],
        "svd_solver": [StrOptions({"auto", "full", "covariance_eigh"})],
    }

    def __init__(self, n_components=None, *, whiten=False, svd_solver="auto"):
        self.n_components = n_components
        self.whiten = whiten
        self.svd_solver = svd_solver

    def fit(self, X, y=None) -> PCA:
        """Compute the principal axes of X (n_samples, n_features); ``y`` is ignored."""
        self._fit(X)
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit and return the projections of X."""
        centred, dtype = self._fit(X)
        projected = centred @ self.components_.T
        if self.whiten:
            projected /= np.sqrt(self.explained_variance_)
        return projected.astype(dtype, copy=False)

    def _fit(self, X):
        self._validate_params()
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        dtype = X.dtype
        n_samples, n_features = X.shape
        n_components = self._n_components_bound(n_samples, n_features)
        data = X.astype(np.float64)
        self.mean_ = data.mean(axis=0)
        data -= self.mean_
        use_eigh = self.svd_solver == "covariance_eigh" or (
            self.svd_solver == "auto" and n_samples >= 10 * n_features and n_features <= 1000
        )
        if use_eigh:
            # Xcᵀ Xc = V S² Vᵀ: eigenvalues are the squared singular values.
            eigenvalues, eigenvectors = np.linalg.eigh(data.T @ data)
            order = np.argsort(eigenvalues)[::-1]
            S = np.sqrt(np.clip(eigenvalues[order], 0.0, None))
            Vt = eigenvectors[:, order].T[: min(n_samples, n_features)]
            S = S[: Vt.shape[0]]
        else:
            _, S, Vt = np.linalg.svd(data, full_matrices=False)
        Vt = _flip_signs(Vt)

        variance = S**2 / max(n_samples - 1, 1)
        total = variance.sum()
        ratio = variance / total if total > 0 else np.zeros_like(variance)
        if isinstance(n_components, float):
            # Smallest k whose cumulative ratio strictly exceeds the threshold.
            n_components = int(np.searchsorted(np.cumsum(ratio), n_components, side="right")) + 1
            n_components = min(n_components, len(S))
        k = n_components
        self.n_components_ = k
        self.n_samples_ = n_samples
        self.components_ = Vt[:k].copy()
        self.explained_variance_ = variance[:k].copy()
        self.explained_variance_ratio_ = ratio[:k].copy()
        self.singular_values_ = S[:k].copy()
        rest = variance[k:]
        self.noise_variance_ = float(rest.mean()) if rest.size else 0.0
        return data, dtype

    def _n_components_bound(self, n_samples: int, n_features: int) -> int | float:
        """An int count checked against X's shape, or the float variance share as given."""
        limit = min(n_samples, n_features)
        n = self.n_components
        if n is None:
            return limit
        if isinstance(n, Integral):
            if int(n) > limit:
                raise ValueError(
                    f"n_components={n} must be between 1 and min(n_samples, n_features)={limit}"
                )
            return int(n)
        return float(n)

    def transform(self, X) -> np.ndarray:
        """Project X onto the components, shape (n_samples, n_components_)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        projected = (X - self.mean_) @ self.components_.T
        if self.whiten:
            projected /= np.sqrt(self.explained_variance_)
        return projected.astype(X.dtype, copy=False)

    def inverse_transform(self, X) -> np.ndarray:
        """Map projections back to the original feature space."""
        check_is_fitted(self)
        X = np.asarray(X, dtype=np.float64)
        if self.whiten:
            X = X * np.sqrt(self.explained_variance_)
        return X @ self.components_ + self.mean_

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Output names ``pca0, pca1, ...``."""
        check_is_fitted(self)
        return np.asarray([f"pca{i}" for i in range(self.n_components_)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    def _to_state(self):
        meta = {
            "n_components_": self.n_components_,
            "n_samples_": self.n_samples_,
            "noise_variance_": self.noise_variance_,
        }
        names = (
            "components_",
            "explained_variance_",
            "explained_variance_ratio_",
            "singular_values_",
            "mean_",
        )
        return meta, {name: getattr(self, name) for name in names}

    def _from_state(self, meta, arrays):
        for name, value in meta.items():
            setattr(self, name, value)
        for name, value in arrays.items():
            setattr(self, name, value)


def _flip_signs(Vt: np.ndarray) -> np.ndarray:
    """Make the largest-|value| entry of each row of Vt positive (sklearn's svd_flip)."""
    rows = np.argmax(np.abs(Vt), axis=1)
    signs = np.sign(Vt[np.arange(Vt.shape[0]), rows])
    signs[signs == 0] = 1.0
    return Vt * signs[:, None]
