"""HistGradientBoostingClassifier proven against scikit-learn's.

Reference: ``sklearn.ensemble.HistGradientBoostingClassifier(early_stopping=False)``
with equal settings. Data sets and seeds were not used while writing the code.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _credit import CREDIT_CSV
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier as SkHGB
from sklearn.metrics import roc_auc_score

from riskloop.scratch.gbdt import HistGradientBoostingClassifier
from riskloop.scratch.gbdt.binning import fit_thresholds, map_to_bins, pack_thresholds
from riskloop.scratch.gbdt.histogram import (
    build_histogram,
    build_histogram_root,
    subtract_histogram,
)
from riskloop.scratch.gbdt.predictor import predict_raw_binned


@pytest.fixture(autouse=True)
def _single_threaded_reference():
    # scikit-learn's OpenMP threads spin-wait; on a shared 2-core machine that makes
    # the reference fits (not ours: these data sizes run our serial kernels) crawl.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


SETTINGS = [
    dict(learning_rate=0.1, max_iter=60, max_leaf_nodes=31, min_samples_leaf=20),
    dict(
        learning_rate=0.3,
        max_iter=40,
        max_leaf_nodes=8,
        min_samples_leaf=5,
        l2_regularization=2.0,
        max_bins=63,
    ),
    dict(learning_rate=0.05, max_iter=60, max_leaf_nodes=None, max_depth=3, min_samples_leaf=30),
]


def _both(settings, X, y, **extra):
    ours = HistGradientBoostingClassifier(early_stopping=False, **settings, **extra).fit(X, y)
    ref = SkHGB(early_stopping=False, **settings, **extra).fit(X, y)
    return ours, ref


def _split(X, y, n_train):
    return X[:n_train], X[n_train:], y[:n_train], y[n_train:]


def _credit_numeric():
    """Numeric columns of the bundled credit data, NaNs kept (Income/Assets/Debt have some)."""
    frame = pd.read_csv(CREDIT_CSV)
    y = (frame.pop("Status") == "bad").to_numpy(dtype=np.int64)
    X = frame.select_dtypes("number").to_numpy(np.float64)
    order = np.random.RandomState(5).permutation(len(y))
    return X[order], y[order]


@pytest.mark.parametrize("settings", SETTINGS)
def test_test_auc_matches_sklearn(settings):
    X, y = make_classification(
        n_samples=5000, n_features=15, n_informative=7, flip_y=0.05, random_state=4021
    )
    X_train, X_test, y_train, y_test = _split(X, y, 3500)
    ours, ref = _both(settings, X_train, y_train)
    auc_ours = roc_auc_score(y_test, ours.predict_proba(X_test)[:, 1])
    auc_ref = roc_auc_score(y_test, ref.predict_proba(X_test)[:, 1])
    assert abs(auc_ours - auc_ref) < 0.002, (auc_ours, auc_ref)
    assert auc_ours > 0.9


@pytest.mark.parametrize("settings", SETTINGS)
def test_prebinned_probabilities_match_sklearn(settings):
    # Integer features with < max_bins distinct values: both libraries bin identically,
    # so the trees (and probabilities) must agree up to float rounding.
    X, y = make_classification(n_samples=4000, n_features=10, n_informative=6, random_state=777)
    X = np.round(X * (8 if settings.get("max_bins", 255) == 255 else 3))
    assert max(len(np.unique(c)) for c in X.T) < settings.get("max_bins", 255)
    X_train, X_test, y_train, _ = _split(X, y, 3000)
    ours, ref = _both(settings, X_train, y_train)
    diff = np.abs(ours.predict_proba(X_test) - ref.predict_proba(X_test))
    assert np.mean(diff > 1e-3) < 0.01
    assert diff.max() < 1e-9  # in practice they agree to rounding


def test_multiclass_prebinned_matches_sklearn():
    X, y = make_classification(
        n_samples=3000, n_features=8, n_informative=5, n_classes=3, random_state=1234
    )
    X = np.round(X * 6)
    X_train, X_test, y_train, _ = _split(X, y, 2000)
    ours, ref = _both(dict(max_iter=30, learning_rate=0.2), X_train, y_train)
    diff = np.abs(ours.predict_proba(X_test) - ref.predict_proba(X_test))
    assert ours.n_trees_per_iteration_ == 3
    assert np.mean(diff > 1e-3) < 0.01 and diff.max() < 1e-9


def test_class_and_sample_weights_match_sklearn():
    X, y = make_classification(n_samples=3000, n_features=8, weights=[0.85], random_state=99)
    X = np.round(X * 5)
    w = np.random.RandomState(0).uniform(0.5, 2.0, size=len(y))
    settings = dict(max_iter=30, class_weight="balanced")
    ours = HistGradientBoostingClassifier(early_stopping=False, **settings).fit(
        X, y, sample_weight=w
    )
    ref = SkHGB(early_stopping=False, **settings).fit(X, y, sample_weight=w)
    diff = np.abs(ours.predict_proba(X) - ref.predict_proba(X))
    assert diff.max() < 1e-9


def test_missing_values_auc_matches_sklearn_on_injected_nans():
    X, y = make_classification(n_samples=5000, n_features=12, n_informative=6, random_state=2718)
    rng = np.random.RandomState(31)
    X[rng.rand(*X.shape) < 0.2] = np.nan
    # Informative missingness on one column: NaN more likely for the positive class.
    X[(y == 1) & (rng.rand(len(y)) < 0.4), 0] = np.nan
    X_train, X_test, y_train, y_test = _split(X, y, 3500)
    ours, ref = _both(SETTINGS[0], X_train, y_train)
    auc_ours = roc_auc_score(y_test, ours.predict_proba(X_test)[:, 1])
    auc_ref = roc_auc_score(y_test, ref.predict_proba(X_test)[:, 1])
    assert abs(auc_ours - auc_ref) < 0.002, (auc_ours, auc_ref)
    # Missing values were routed both ways across the ensemble (learned per split).
    internal = ours.node_int_[:, 3] != -1
    assert 0 < ours.node_int_[internal, 2].mean() < 1


def test_credit_data_with_native_nans_matches_sklearn():
    X, y = _credit_numeric()
    assert np.isnan(X).any()
    X_train, X_test, y_train, y_test = _split(X, y, 3300)
    ours, ref = _both(dict(max_iter=80, learning_rate=0.05), X_train, y_train)
    auc_ours = roc_auc_score(y_test, ours.predict_proba(X_test)[:, 1])
    auc_ref = roc_auc_score(y_test, ref.predict_proba(X_test)[:, 1])
    assert abs(auc_ours - auc_ref) < 0.002, (auc_ours, auc_ref)


def test_early_stopping_stops_on_noisy_problem():
    X, y = make_classification(
        n_samples=3000, n_features=10, n_informative=3, flip_y=0.4, random_state=8080
    )
    model = HistGradientBoostingClassifier(
        early_stopping=True, max_iter=300, learning_rate=0.3, n_iter_no_change=5, random_state=0
    ).fit(X, y)
    assert model.do_early_stopping_
    assert model.n_iter_ < 300
    scores = model.validation_score_
    assert scores.shape == (model.n_iter_ + 1,) == model.train_score_.shape
    assert scores[0] == pytest.approx(-np.log(2), abs=0.01)  # balanced classes, baseline model
    # The stopping rule: none of the last 5 scores beats the one before them by tol.
    assert scores[-5:].max() <= scores[-6] + model.tol
    assert model.tree_roots_.shape == (model.n_iter_,)
    # "auto" keeps it off on small data, as scikit-learn does.
    auto = HistGradientBoostingClassifier(max_iter=5).fit(X, y)
    assert not auto.do_early_stopping_ and auto.n_iter_ == 5 and auto.validation_score_.size == 0


def test_shap_additivity():
    shap = pytest.importorskip("shap")
    X, y = make_classification(n_samples=1500, n_features=6, random_state=606)
    X[np.random.RandomState(1).rand(*X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=20).fit(X, y)
    explainer = shap.TreeExplainer(model.shap_model())
    values = explainer.shap_values(X[:200])
    total = values.sum(axis=1) + explainer.expected_value
    np.testing.assert_allclose(total, model.decision_function(X[:200]), atol=1e-6)


def test_raw_and_binned_predictions_agree():
    X, y = make_classification(n_samples=2000, n_features=6, random_state=5150)
    X[np.random.RandomState(2).rand(*X.shape) < 0.1] = np.nan
    model = HistGradientBoostingClassifier(max_iter=20, max_bins=31).fit(X, y)
    X_binned = map_to_bins(X, model.bin_edges_, model.bin_offsets_, model.max_bins)
    raw_binned = predict_raw_binned(
        X_binned,
        model.node_int_,
        model.node_float_,
        model.tree_roots_,
        model.baseline_,
        model.max_bins,
    )
    np.testing.assert_array_equal(raw_binned[:, 0], model.decision_function(X))


def test_histogram_kernels_match_bincount():
    rng = np.random.RandomState(17)
    X = rng.randn(3000, 4)
    X[rng.rand(*X.shape) < 0.05] = np.nan
    edges = fit_thresholds(X, 20, rng)
    X_binned = map_to_bins(X, *pack_thresholds(edges), 20)
    assert X_binned.flags.f_contiguous and X_binned.dtype == np.uint8
    np.testing.assert_array_equal(
        X_binned[:, 1], np.where(np.isnan(X[:, 1]), 20, np.searchsorted(edges[1], X[:, 1]))
    )
    g = rng.randn(3000).astype(np.float32)
    h = rng.rand(3000).astype(np.float32)
    child = np.sort(rng.choice(3000, 1000, replace=False)).astype(np.int32)
    parent_hist = build_histogram_root(X_binned, g, h, 21)
    child_hist = build_histogram(X_binned, child, g, h, 21)
    sibling = np.setdiff1d(np.arange(3000), child)
    for j in range(4):
        expected = np.bincount(
            X_binned[sibling, j], weights=g[sibling].astype(np.float64), minlength=21
        )
        np.testing.assert_allclose(
            subtract_histogram(parent_hist, child_hist)[j, :, 0], expected, atol=1e-9
        )
        np.testing.assert_array_equal(
            child_hist[j, :, 2], np.bincount(X_binned[child, j], minlength=21)
        )


def test_single_row_fast_path_and_persistence_round_trip(tmp_path):
    X, y = make_classification(n_samples=1500, n_features=7, random_state=909)
    X[::7, 2] = np.nan
    labels = np.array(["good", "bad"])[y]
    model = HistGradientBoostingClassifier(max_iter=25).fit(X, labels)
    proba = model.predict_proba(X)
    rows = np.array([model.predict_proba_row(x) for x in X[:50]])
    np.testing.assert_allclose(rows, proba[:50, 1], rtol=0, atol=1e-15)
    model.save(tmp_path / "hgb")
    loaded = HistGradientBoostingClassifier.load(tmp_path / "hgb")
    np.testing.assert_array_equal(loaded.predict_proba(X), proba)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.n_iter_ == 25 and list(loaded.classes_) == ["bad", "good"]


def test_threaded_partition_equals_serial():
    from riskloop.scratch.gbdt.splitting import _partition_parallel, _partition_serial

    rng = np.random.RandomState(23)
    column = rng.randint(0, 64, 60_000).astype(np.uint8)
    column[::11] = 63  # the missing bin
    for missing_left in (False, True):
        serial = rng.permutation(60_000).astype(np.int32)
        threaded = serial.copy()
        buffer = np.empty(120_000, dtype=np.int32)
        mid_serial = _partition_serial(serial, 500, 59_000, column, 20, missing_left, 63, buffer)
        mid_threaded = _partition_parallel(
            threaded, 500, 59_000, column, 20, missing_left, 63, buffer
        )
        assert mid_serial == mid_threaded
        np.testing.assert_array_equal(serial, threaded)
        left = column[serial[500:mid_serial]]
        assert np.all((left <= 20) | (missing_left & (left == 63)))
