"""k-nearest-neighbours classification by brute force. Maths: docs/algorithms/knn.md."""

from __future__ import annotations

from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClassifierMixin
from riskloop.scratch._neighbors_kernels import weighted_vote
from riskloop.scratch._validation import (
    Interval,
    StrOptions,
    check_classification_targets,
    check_is_fitted,
    encode_classes,
    validate_data,
)

__all__ = ["KNeighborsClassifier"]

# Rows of queries per distance block: keeps a block's distance matrix near
# 2**24 floats (128 MiB) whatever the training-set size.
_BLOCK_FLOATS = 2**24


class KNeighborsClassifier(ClassifierMixin, BaseEstimator):
    """Vote among the k nearest training samples (Euclidean distance).

    Distances are computed by matrix products, ``‖a - b‖² = ‖a‖² + ‖b‖² -
    2 a·b``, in blocks of query rows, and the k smallest are selected with a
    partial sort.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours that vote.
    weights : {"uniform", "distance"}, default="uniform"
        "uniform": every neighbour counts once; "distance": a neighbour counts
        ``1 / distance`` (neighbours at distance 0, if any, take the whole vote).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    n_samples_fit_ : int
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "weights": [StrOptions({"uniform", "distance"})],
    }

    def __init__(self, n_neighbors=5, *, weights="uniform"):
        self.n_neighbors = n_neighbors
        self.weights = weights

    def fit(self, X, y) -> KNeighborsClassifier:
        """Store the training samples and their labels."""
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64, order="C")
        check_classification_targets(y)
        self.classes_, self._y_encoded = encode_classes(y)
        self._fit_X = X.copy()  # our own copy: later changes to the caller's X don't leak in
        self._fit_sq_norms = np.einsum("ij,ij->i", self._fit_X, self._fit_X)
        self.n_samples_fit_ = X.shape[0]
        return self

    def kneighbors(self, X, n_neighbors=None, return_distance=True):
        """Indices (and distances) of each query row's nearest training samples.

        Returns ``(distances, indices)`` sorted by increasing distance, each of
        shape (n_queries, n_neighbors), or only ``indices`` if not
        ``return_distance``.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if k > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {self.n_samples_fit_}, n_samples = {X.shape[0]}"
            )
        distances, indices = self._kneighbors(X, k)
        return (distances, indices) if return_distance else indices

    def _kneighbors(self, X: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        n_queries = X.shape[0]
        distances = np.empty((n_queries, k))
        indices = np.empty((n_queries, k), dtype=np.int64)
        block = max(1, _BLOCK_FLOATS // max(self.n_samples_fit_, 1))
        for start in range(0, n_queries, block):
            stop = min(start + block, n_queries)
            query = X[start:stop]
            sq = np.einsum("ij,ij->i", query, query)[:, None] + self._fit_sq_norms
            sq -= 2.0 * (query @ self._fit_X.T)
            if k < sq.shape[1]:
                nearest = np.argpartition(sq, k - 1, axis=1)[:, :k]
            else:
                nearest = np.broadcast_to(np.arange(sq.shape[1]), sq.shape).copy()
            near_sq = np.take_along_axis(sq, nearest, axis=1)
            order = np.argsort(near_sq, axis=1, kind="stable")
            indices[start:stop] = np.take_along_axis(nearest, order, axis=1)
            # Rounding can make a tiny squared distance negative.
            distances[start:stop] = np.sqrt(
                np.maximum(np.take_along_axis(near_sq, order, axis=1), 0.0)
            )
        return distances, indices

    def predict_proba(self, X) -> np.ndarray:
        """Share of (weighted) neighbour votes per class, shape (n_samples, n_classes)."""
        distances, indices = self.kneighbors(X)
        if self.weights == "uniform":
            vote_weights = np.ones_like(distances)
        else:
            with np.errstate(divide="ignore"):
                vote_weights = 1.0 / distances
            exact = np.isinf(vote_weights)
            has_exact = exact.any(axis=1)
            vote_weights[has_exact] = exact[has_exact].astype(np.float64)
        labels = np.ascontiguousarray(self._y_encoded[indices])
        return weighted_vote(labels, np.ascontiguousarray(vote_weights), len(self.classes_))

    def predict(self, X) -> np.ndarray:
        """Class with the largest (weighted) vote; ties go to the first class."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def _to_state(self):
        arrays = {
            "classes_": self.classes_,
            "fit_X": self._fit_X,
            "y_encoded": self._y_encoded,
        }
        return {"n_samples_fit_": self.n_samples_fit_}, arrays

    def _from_state(self, meta, arrays):
        self.classes_ = arrays["classes_"]
        self._fit_X = arrays["fit_X"]
        self._y_encoded = arrays["y_encoded"]
        self._fit_sq_norms = np.einsum("ij,ij->i", self._fit_X, self._fit_X)
        self.n_samples_fit_ = meta["n_samples_fit_"]
