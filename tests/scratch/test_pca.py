"""PCA proven against scikit-learn's full-SVD PCA."""

from __future__ import annotations

import numpy as np
import pytest
from _credit import credit_matrix
from sklearn.decomposition import PCA as ReferencePCA

from riskloop.scratch import PCA, BaseEstimator


def _correlated(n_samples=500, n_features=8, seed=1234):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n_samples, n_features)) @ rng.normal(size=(n_features, n_features))


@pytest.mark.parametrize("solver", ["full", "covariance_eigh"])
@pytest.mark.parametrize("n_components", [None, 3, 0.9])
@pytest.mark.parametrize("whiten", [False, True])
def test_matches_sklearn(n_components, whiten, solver):
    X = _correlated()
    ours = PCA(n_components, whiten=whiten, svd_solver=solver).fit(X)
    ref = ReferencePCA(n_components, whiten=whiten, svd_solver="full").fit(X)
    assert ours.n_components_ == ref.n_components_
    # Same sign convention as svd_flip, so equal outright (not only up to sign).
    np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)
    np.testing.assert_allclose(
        ours.explained_variance_ratio_, ref.explained_variance_ratio_, rtol=1e-10
    )
    np.testing.assert_allclose(ours.singular_values_, ref.singular_values_, rtol=1e-10)
    assert ours.noise_variance_ == pytest.approx(ref.noise_variance_, rel=1e-8, abs=1e-12)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X), atol=1e-8)
    np.testing.assert_allclose(
        PCA(n_components, whiten=whiten, svd_solver=solver).fit_transform(X),
        ref.fit_transform(X),
        atol=1e-8,
    )
    np.testing.assert_allclose(
        ours.inverse_transform(ours.transform(X)),
        ref.inverse_transform(ref.transform(X)),
        atol=1e-8,
    )


def test_credit_data_components_equal_up_to_sign():
    X, _ = credit_matrix()
    ours = PCA(6).fit(X)  # "auto": the covariance route for this tall matrix
    ref = ReferencePCA(6, svd_solver="full").fit(X)
    signs = np.sign(np.sum(ours.components_ * ref.components_, axis=1))
    np.testing.assert_allclose(ours.components_ * signs[:, None], ref.components_, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-10)


def test_float32_in_float32_out():
    X = _correlated().astype(np.float32)
    assert PCA(2).fit(X).transform(X).dtype == np.float32


def test_save_load_roundtrip(tmp_path):
    X = _correlated()
    model = PCA(0.95, whiten=True).fit(X)
    model.save(tmp_path / "pca")
    loaded = BaseEstimator.load(tmp_path / "pca")
    assert loaded.n_components == 0.95
    np.testing.assert_array_equal(loaded.transform(X), model.transform(X))
