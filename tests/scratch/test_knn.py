"""KNeighborsClassifier proven against scikit-learn's brute-force k-NN."""

from __future__ import annotations

import numpy as np
import pytest
from _credit import credit_matrix
from sklearn.datasets import make_classification
from sklearn.neighbors import KNeighborsClassifier as ReferenceKNN

from riskloop.scratch import BaseEstimator, KNeighborsClassifier


@pytest.mark.parametrize("weights", ["uniform", "distance"])
@pytest.mark.parametrize("n_neighbors", [1, 7])
def test_matches_sklearn_on_continuous_data(weights, n_neighbors):
    X, y = make_classification(
        n_samples=1400, n_features=7, n_informative=5, n_classes=3, random_state=4242
    )
    X_train, y_train, X_test = X[:1000], y[:1000], X[1000:]
    ours = KNeighborsClassifier(n_neighbors, weights=weights).fit(X_train, y_train)
    ref = ReferenceKNN(n_neighbors=n_neighbors, weights=weights, algorithm="brute")
    ref.fit(X_train, y_train)
    np.testing.assert_array_equal(ours.predict(X_test), ref.predict(X_test))
    np.testing.assert_allclose(ours.predict_proba(X_test), ref.predict_proba(X_test), atol=1e-12)
    dist, idx = ours.kneighbors(X_test)
    ref_dist, ref_idx = ref.kneighbors(X_test)
    np.testing.assert_array_equal(idx, ref_idx)
    np.testing.assert_allclose(dist, ref_dist, rtol=1e-9, atol=1e-12)


def test_matches_sklearn_on_credit_data():
    X, y = credit_matrix()
    # Jitter breaks the exact ties that duplicated rows and one-hot columns create.
    X = X + np.random.default_rng(3).normal(scale=1e-6, size=X.shape)
    ours = KNeighborsClassifier(15, weights="distance").fit(X[:3000], y[:3000])
    ref = ReferenceKNN(n_neighbors=15, weights="distance").fit(X[:3000], y[:3000])
    np.testing.assert_array_equal(ours.predict(X[3000:]), ref.predict(X[3000:]))
    np.testing.assert_allclose(
        ours.predict_proba(X[3000:]), ref.predict_proba(X[3000:]), atol=1e-10
    )


def test_zero_distance_neighbour_takes_the_vote():
    X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.1]])
    model = KNeighborsClassifier(3, weights="distance").fit(X, [0, 1, 1])
    np.testing.assert_array_equal(model.predict_proba([[0.0, 0.0]]), [[1.0, 0.0]])


def test_too_many_neighbours_is_explained():
    model = KNeighborsClassifier(4).fit(np.eye(3), [0, 1, 1])
    with pytest.raises(ValueError, match="n_neighbors = 4, n_samples_fit = 3"):
        model.predict(np.eye(3))


def test_save_load_roundtrip(tmp_path):
    X, y = make_classification(n_samples=300, random_state=17)
    model = KNeighborsClassifier(5, weights="distance").fit(X, y)
    model.save(tmp_path / "knn")
    loaded = BaseEstimator.load(tmp_path / "knn")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
