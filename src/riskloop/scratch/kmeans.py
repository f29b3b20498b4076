"""k-means clustering: k-means++ seeding and Lloyd iterations. Maths: docs/algorithms/kmeans.md."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any, ClassVar

import numpy as np

from riskloop.scratch._base import BaseEstimator, ClusterMixin, TransformerMixin
from riskloop.scratch._kmeans_kernels import assign_to_nearest, weighted_cluster_sums
from riskloop.scratch._validation import (
    Interval,
    StrOptions,
    check_is_fitted,
    check_random_state,
    check_sample_weight,
    validate_data,
)

__all__ = ["KMeans"]


class KMeans(TransformerMixin, ClusterMixin, BaseEstimator):
    """k-means: minimise the within-cluster sum of squared distances (inertia).

    Parameters
    ----------
    n_clusters : int, default=8
        Number of clusters k.
    init : {"k-means++", "random"} or array of shape (n_clusters, n_features), default="k-means++"
        Initial centres: k-means++ seeding (greedy, ``2 + ln k`` candidates per
        centre), k distinct random rows, or the given array.
    n_init : int or "auto", default="auto"
        Number of initialisations; the run with the lowest inertia wins.
        "auto" means 1 for "k-means++" or an array, 10 for "random".
    max_iter : int, default=300
        Maximum Lloyd iterations per run.
    tol : float, default=1e-4
        Stop when the squared centre shift, summed over centres, is at most
        ``tol`` times the mean per-feature variance of X (or when no label changes).
    random_state : int, RandomState or None, default=None
        Seed of the initialisations.

    Attributes
    ----------
    cluster_centers_ : ndarray of shape (n_clusters, n_features)
    labels_ : ndarray of shape (n_samples,)
        Cluster index of each training sample.
    inertia_ : float
        Weighted sum of squared distances of samples to their centre.
    n_iter_ : int
        Lloyd iterations of the winning run.
    n_features_in_ : int
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Only when X had string column names.
    """

    _parameter_constraints: ClassVar[dict[str, list[Any]]] = {
        "n_clusters": [Interval(Integral, 1, None, closed="left")],
        "init": [StrOptions({"k-means++", "random"}), "array-like"],
        "n_init": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init="auto",
        max_iter=300,
        tol=1e-4,
        random_state=None,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def fit(self, X, y=None, sample_weight=None) -> KMeans:
        """Cluster X (n_samples, n_features); ``y`` is ignored."""
        self._validate_params()
        X = validate_data(self, X, dtype=np.float64, order="C")
        n_init = self._n_init_for(X)
        weights = check_sample_weight(sample_weight, X)
        rng = check_random_state(self.random_state)
        # Centre X once: distances are unchanged and rounding is smaller.
        mean = X.mean(axis=0)
        X_centered = X - mean
        variance_mean = float(np.mean(np.var(X, axis=0)))
        tol = variance_mean * self.tol

        runs = [
            _lloyd(
                X_centered,
                weights,
                self._initial_centers(X_centered, weights, rng, mean),
                self.max_iter,
                tol,
            )
            for _ in range(n_init)
        ]
        # The lowest inertia wins; on a tie, the earliest run (min keeps the first).
        labels, inertia, centers, n_iter = min(runs, key=lambda run: run[1])
        self.cluster_centers_ = centers + mean
        self.labels_ = labels
        self.inertia_ = float(inertia)
        self.n_iter_ = n_iter
        return self

    def _n_init_for(self, X: np.ndarray) -> int:
        """Check the parameters against X's shape; the number of initialisations to run."""
        if X.shape[0] < self.n_clusters:
            raise ValueError(f"n_samples={X.shape[0]} should be >= n_clusters={self.n_clusters}.")
        is_array = not isinstance(self.init, str)
        if is_array:
            init = np.asarray(self.init)
            if init.shape != (self.n_clusters, X.shape[1]):
                raise ValueError(
                    f"The shape of the initial centers {init.shape} does not match the "
                    f"number of clusters {self.n_clusters} and features {X.shape[1]}."
                )
            return 1
        if self.n_init == "auto":
            return 10 if self.init == "random" else 1
        return int(self.n_init)

    def _initial_centers(self, X, weights, rng, mean) -> np.ndarray:
        if not isinstance(self.init, str):
            return np.asarray(self.init, dtype=np.float64) - mean
        if self.init == "random":
            chosen = rng.choice(X.shape[0], size=self.n_clusters, replace=False)
            return X[chosen].copy()
        return _kmeans_plusplus(X, weights, self.n_clusters, rng)

    def _assign(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        labels = np.empty(X.shape[0], dtype=np.int32)
        sq_dist = np.empty(X.shape[0])
        assign_to_nearest(X, self.cluster_centers_, labels, sq_dist)
        return labels, sq_dist

    def predict(self, X) -> np.ndarray:
        """Index of the nearest centre for each row of X."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        return self._assign(X)[0]

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each row to each centre, shape (n_samples, n_clusters)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        diff = X[:, None, :] - self.cluster_centers_[None, :, :]
        return np.sqrt(np.einsum("ikj,ikj->ik", diff, diff))

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return the distances of X to the centres."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit and return ``labels_``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def score(self, X, y=None, sample_weight=None) -> float:
        """Opposite of the inertia of X under the fitted centres (higher is better)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        weights = check_sample_weight(sample_weight, X)
        return -float(weights @ self._assign(X)[1])

    def _to_state(self):
        meta = {"inertia_": self.inertia_, "n_iter_": self.n_iter_}
        return meta, {"cluster_centers_": self.cluster_centers_, "labels_": self.labels_}

    def _from_state(self, meta, arrays):
        self.inertia_ = meta["inertia_"]
        self.n_iter_ = meta["n_iter_"]
        self.cluster_centers_ = arrays["cluster_centers_"]
        self.labels_ = arrays["labels_"]


def _kmeans_plusplus(X, weights, n_clusters, rng) -> np.ndarray:
    """Greedy k-means++: of ``2 + ln k`` D²-sampled candidates keep the best one."""
    n_samples = X.shape[0]
    n_trials = 2 + int(math.log(n_clusters))
    centers = np.empty((n_clusters, X.shape[1]))
    first = rng.choice(n_samples, p=weights / weights.sum())
    centers[0] = X[first]
    closest_sq = np.sum((X - X[first]) ** 2, axis=1)
    potential = float(weights @ closest_sq)
    for c in range(1, n_clusters):
        draws = rng.uniform(size=n_trials) * potential
        candidates = np.searchsorted(np.cumsum(weights * closest_sq), draws)
        np.clip(candidates, None, n_samples - 1, out=candidates)
        cand_sq = (
            np.sum(X**2, axis=1)[None, :]
            + np.sum(X[candidates] ** 2, axis=1)[:, None]
            - 2.0 * X[candidates] @ X.T
        )
        np.minimum(closest_sq, np.maximum(cand_sq, 0.0), out=cand_sq)
        potentials = cand_sq @ weights
        best = int(np.argmin(potentials))
        potential = float(potentials[best])
        closest_sq = cand_sq[best]
        centers[c] = X[candidates[best]]
    return centers


def _lloyd(X, weights, centers, max_iter, tol):
    """Lloyd iterations: assign, then move centres to their clusters' weighted means."""
    n_samples = X.shape[0]
    n_clusters = centers.shape[0]
    labels = np.empty(n_samples, dtype=np.int32)
    previous = np.full(n_samples, -1, dtype=np.int32)
    sq_dist = np.empty(n_samples)
    converged_exactly = False
    n_iter = 0
    for iteration in range(1, max_iter + 1):
        n_iter = iteration
        assign_to_nearest(X, centers, labels, sq_dist)
        sums, totals = weighted_cluster_sums(X, weights, labels, n_clusters)
        new_centers = _centers_from_sums(sums, totals, centers, X, labels, sq_dist)
        shift = float(np.sum((new_centers - centers) ** 2))
        centers = new_centers
        if np.array_equal(labels, previous):
            converged_exactly = True
            break
        if shift <= tol:
            break
        previous[:] = labels
    if not converged_exactly:
        # The centres moved after the last assignment: re-assign so labels_
        # agree with cluster_centers_.
        assign_to_nearest(X, centers, labels, sq_dist)
    return labels, float(weights @ sq_dist), centers, n_iter


def _centers_from_sums(sums, totals, old_centers, X, labels, sq_dist):
    empty = np.flatnonzero(totals == 0)
    centers = np.empty_like(old_centers)
    filled = totals > 0
    centers[filled] = sums[filled] / totals[filled, None]
    if empty.size:
        # An empty cluster takes one of the points farthest from its centre.
        far = np.argsort(sq_dist)[::-1][: empty.size]
        centers[empty] = X[far]
    return centers
