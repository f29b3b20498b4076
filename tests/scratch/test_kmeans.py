"""KMeans proven against scikit-learn's Lloyd k-means."""

from __future__ import annotations

import numpy as np
import pytest
from _credit import credit_matrix
from sklearn.cluster import KMeans as ReferenceKMeans
from sklearn.datasets import make_blobs

from riskloop.scratch import BaseEstimator, KMeans


@pytest.mark.parametrize("n_clusters", [3, 6])
def test_same_labels_and_centres_from_same_initial_centres(n_clusters):
    X, _ = make_blobs(n_samples=2000, n_features=5, centers=n_clusters + 1, random_state=909)
    init = X[np.random.default_rng(n_clusters).choice(len(X), n_clusters, replace=False)]
    ours = KMeans(n_clusters, init=init, n_init=1, max_iter=300, tol=1e-4).fit(X)
    ref = ReferenceKMeans(n_clusters, init=init, n_init=1, max_iter=300, tol=1e-4).fit(X)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-9, atol=1e-9)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    assert ours.n_iter_ == ref.n_iter_
    np.testing.assert_array_equal(ours.predict(X[:100]), ref.predict(X[:100]))
    np.testing.assert_allclose(ours.transform(X[:100]), ref.transform(X[:100]), rtol=1e-9)


def test_same_labels_on_credit_data_with_weights():
    X, _ = credit_matrix()
    weights = np.random.default_rng(21).uniform(0.5, 1.5, size=len(X))
    init = X[[5, 500, 1500, 2500, 3500]]
    kwargs = dict(n_clusters=5, init=init, n_init=1, max_iter=100, tol=0.0)
    ours = KMeans(**kwargs).fit(X, sample_weight=weights)
    ref = ReferenceKMeans(**kwargs).fit(X, sample_weight=weights)
    np.testing.assert_array_equal(ours.labels_, ref.labels_)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)


def test_kmeans_plusplus_finds_separated_blobs():
    # k-means++ with several restarts must recover well-separated clusters exactly.
    X, truth = make_blobs(n_samples=600, centers=4, cluster_std=0.3, random_state=77)
    ours = KMeans(4, n_init=3, random_state=0).fit(X)
    ref = ReferenceKMeans(4, n_init=3, random_state=0).fit(X)
    assert ours.inertia_ == pytest.approx(ref.inertia_, rel=1e-9)
    pairs = set(zip(ours.labels_.tolist(), truth.tolist(), strict=True))
    assert len(pairs) == 4  # a one-to-one relabelling of the truth


def test_save_load_roundtrip(tmp_path):
    X, _ = make_blobs(n_samples=300, random_state=3)
    model = KMeans(3, random_state=1).fit(X)
    model.save(tmp_path / "km")
    loaded = BaseEstimator.load(tmp_path / "km")
    np.testing.assert_array_equal(loaded.cluster_centers_, model.cluster_centers_)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
