"""GaussianNB proven against scikit-learn's GaussianNB."""

from __future__ import annotations

import numpy as np
import pytest
from _credit import credit_matrix
from sklearn.datasets import make_classification
from sklearn.naive_bayes import GaussianNB as ReferenceNB

from riskloop.scratch import BaseEstimator, GaussianNB

RTOL = 1e-10


def _assert_same_fit(ours, ref):
    np.testing.assert_allclose(ours.theta_, ref.theta_, rtol=RTOL, atol=1e-13)
    np.testing.assert_allclose(ours.var_, ref.var_, rtol=RTOL)
    np.testing.assert_allclose(ours.class_prior_, ref.class_prior_, rtol=RTOL)
    assert ours.epsilon_ == pytest.approx(ref.epsilon_, rel=RTOL)


@pytest.mark.parametrize("var_smoothing", [1e-9, 1e-3])
def test_matches_sklearn_on_synthetic_multiclass(var_smoothing):
    X, y = make_classification(
        n_samples=1200, n_features=9, n_informative=5, n_classes=4, random_state=161
    )
    X[:, 0] = X[:, 0] * 1e3 + 5e3  # a large-scale, off-centre feature
    ours = GaussianNB(var_smoothing=var_smoothing).fit(X, y)
    ref = ReferenceNB(var_smoothing=var_smoothing).fit(X, y)
    _assert_same_fit(ours, ref)
    np.testing.assert_allclose(ours.predict_proba(X), ref.predict_proba(X), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(
        ours.predict_joint_log_proba(X), ref.predict_joint_log_proba(X), rtol=1e-10
    )
    np.testing.assert_array_equal(ours.predict(X), ref.predict(X))


def test_matches_sklearn_on_credit_data_with_priors_and_weights():
    X, y = credit_matrix(standardise=False)
    weights = np.random.default_rng(11).uniform(0.2, 3.0, size=len(y))
    ours = GaussianNB(priors=[0.6, 0.4]).fit(X, y, sample_weight=weights)
    ref = ReferenceNB(priors=[0.6, 0.4]).fit(X, y, sample_weight=weights)
    _assert_same_fit(ours, ref)
    np.testing.assert_allclose(ours.predict_log_proba(X), ref.predict_log_proba(X), rtol=1e-9)


def test_bad_priors_are_rejected():
    X, y = make_classification(n_samples=50, random_state=1)
    with pytest.raises(ValueError, match="sum of the priors"):
        GaussianNB(priors=[0.5, 0.6]).fit(X, y)
    with pytest.raises(ValueError, match="must match number of classes"):
        GaussianNB(priors=[1.0]).fit(X, y)


def test_save_load_roundtrip(tmp_path):
    X, y = make_classification(n_samples=200, n_classes=3, n_informative=4, random_state=8)
    model = GaussianNB().fit(X, y)
    model.save(tmp_path / "nb")
    loaded = BaseEstimator.load(tmp_path / "nb")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
