"""LogisticRegression proven against scikit-learn's Newton-Cholesky solver."""

from __future__ import annotations

import numpy as np
import pytest
from _credit import credit_matrix
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression as ReferenceLR
from sklearn.preprocessing import StandardScaler

from riskloop.scratch import BaseEstimator, LogisticRegression

TOL_COEF = 1e-6


def _reference(C, class_weight, X, y, sample_weight=None):
    return ReferenceLR(
        solver="newton-cholesky", tol=1e-12, C=C, class_weight=class_weight, max_iter=1000
    ).fit(X, y, sample_weight=sample_weight)


@pytest.fixture(scope="module")
def binary_data():
    X, y = make_classification(
        n_samples=1500, n_features=12, n_informative=6, weights=[0.8], random_state=314
    )
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize("C", [0.003, 0.1, 1.0, 50.0])
@pytest.mark.parametrize("class_weight", [None, "balanced", {0: 1.0, 1: 4.0}])
def test_binary_coefficients_match_sklearn(binary_data, C, class_weight):
    X, y = binary_data
    ours = LogisticRegression(C=C, class_weight=class_weight, tol=1e-10).fit(X, y)
    ref = _reference(C, class_weight, X, y)
    assert np.max(np.abs(ours.coef_ - ref.coef_)) < TOL_COEF
    assert np.max(np.abs(ours.intercept_ - ref.intercept_)) < TOL_COEF
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), atol=1e-7)


def test_credit_data_matches_sklearn_with_sample_weight():
    X, y = credit_matrix()
    weights = np.random.default_rng(5).uniform(0.5, 2.0, size=len(y))
    ours = LogisticRegression(C=0.5, tol=1e-10).fit(X, y, sample_weight=weights)
    ref = _reference(0.5, None, X, y, sample_weight=weights)
    assert np.max(np.abs(ours.coef_ - ref.coef_)) < TOL_COEF
    assert np.max(np.abs(ours.intercept_ - ref.intercept_)) < TOL_COEF


@pytest.mark.parametrize("C", [0.05, 2.0])
def test_multinomial_matches_sklearn(C):
    X, y = make_classification(
        n_samples=900, n_features=6, n_informative=4, n_classes=3, random_state=2718
    )
    X = StandardScaler().fit_transform(X)
    ours = LogisticRegression(C=C, tol=1e-10).fit(X, y)
    ref = _reference(C, None, X, y)
    assert np.max(np.abs(ours.coef_ - ref.coef_)) < TOL_COEF
    assert np.max(np.abs(ours.intercept_ - ref.intercept_)) < TOL_COEF


def test_fast_paths_agree_with_predict_proba(binary_data):
    X, y = binary_data
    model = LogisticRegression().fit(X, y)
    full = model.predict_proba(X[:50])
    rows = np.array([model.predict_proba_row(x) for x in X[:50]])
    np.testing.assert_allclose(rows, full[:, 1], rtol=1e-12)
    np.testing.assert_allclose(model._predict_proba_fast(X[:50]), full, rtol=1e-12)
    # Extreme scores must not overflow.
    assert model.predict_proba_row(np.full(X.shape[1], 1e6) * np.sign(model.coef_[0])) == 1.0


def test_string_labels_and_save_load_roundtrip(binary_data, tmp_path):
    X, y = binary_data
    labels = np.where(y == 1, "bad", "good")
    model = LogisticRegression(C=0.3, class_weight={"bad": 2.0, "good": 1.0}).fit(X, labels)
    assert list(model.classes_) == ["bad", "good"]
    model.save(tmp_path / "lr")
    loaded = BaseEstimator.load(tmp_path / "lr")
    assert isinstance(loaded, LogisticRegression)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
