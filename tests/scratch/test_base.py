"""The base layer: params, validation messages (as scikit-learn's), safe persistence."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression as ReferenceLR

from riskloop.scratch import (
    BaseEstimator,
    DataConversionWarning,
    KMeans,
    LogisticRegression,
    NotFittedError,
    registered_estimators,
)
from riskloop.scratch._validation import (
    check_random_state,
    class_sample_weight,
    encode_classes,
    validate_data,
)


def _messages_of(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value)


@pytest.mark.parametrize(
    "X",
    [
        np.array([[1.0, np.nan], [2.0, 3.0]]),
        np.array([[1.0, np.inf], [2.0, 3.0]]),
        np.array([[1 + 2j, 3.0], [2.0, 3.0]]),
        np.empty((0, 3)),
        np.array([1.0, 2.0, 3.0]),
        np.ones((2, 2, 2)),
    ],
    ids=["nan", "inf", "complex", "empty", "1d", "3d"],
)
def test_fit_errors_read_like_sklearn(X):
    y = np.arange(len(X)) % 2 if X.ndim else None
    ours_type, ours_msg = _messages_of(lambda: LogisticRegression().fit(X, y))
    ref_type, ref_msg = _messages_of(lambda: ReferenceLR().fit(X, y))
    assert issubclass(ours_type, ValueError) and issubclass(ref_type, ValueError)
    # The first line carries the rule; the rest is advice worded per library.
    first = ref_msg.split("\n")[0].replace("LogisticRegression", "")
    assert first.split(" by ")[0] in ours_msg


def test_y_none_and_column_vector_y():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="requires y to be passed, but the target y is None"):
        LogisticRegression().fit(X, None)
    with pytest.warns(DataConversionWarning, match="A column-vector y was passed"):
        LogisticRegression().fit(X, (np.arange(20) % 2)[:, None])


def test_feature_names_are_recorded_and_checked():
    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.5]})
    model = LogisticRegression().fit(frame, [0, 1, 0, 1])
    np.testing.assert_array_equal(model.feature_names_in_, ["a", "b"])
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.predict(frame[["b", "a"]])
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(frame.to_numpy())
    with (
        pytest.raises(ValueError, match="X has 3 features, but LogisticRegression is expecting 2"),
        pytest.warns(UserWarning, match="X does not have valid feature names"),
    ):
        model.predict(np.ones((2, 3)))


def test_not_fitted_is_both_value_and_attribute_error():
    with pytest.raises(NotFittedError, match="This LogisticRegression instance is not fitted"):
        LogisticRegression().predict(np.ones((1, 2)))
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_get_set_params_clone_and_repr():
    model = LogisticRegression(C=0.5)
    assert model.get_params() == {
        "C": 0.5,
        "class_weight": None,
        "fit_intercept": True,
        "max_iter": 100,
        "tol": 1e-4,
    }
    assert repr(model) == "LogisticRegression(C=0.5)"
    assert model.set_params(max_iter=7) is model and model.max_iter == 7
    with pytest.raises(ValueError, match="Invalid parameter 'penalty'"):
        model.set_params(penalty="l1")
    copy = clone(model)
    assert copy is not model and copy.get_params() == model.get_params()


def test_validation_helpers():
    classes, encoded = encode_classes(np.array(["b", "a", "b", "c"], dtype=object))
    assert classes.tolist() == ["a", "b", "c"] and encoded.tolist() == [1, 0, 1, 2]
    np.testing.assert_allclose(
        class_sample_weight("balanced", np.array([0, 0, 0, 1]), np.array([0, 1])),
        [4 / 6, 4 / 6, 4 / 6, 2.0],
    )
    assert check_random_state(3).randint(1000) == np.random.RandomState(3).randint(1000)
    X32 = np.ones((3, 2), dtype=np.float32)
    assert validate_data(KMeans(), X32, dtype=[np.float64, np.float32]).dtype == np.float32
    assert validate_data(KMeans(), X32, dtype=np.float64).dtype == np.float64


def test_save_writes_json_and_npz_and_restores_tricky_params(tmp_path):
    X = np.random.default_rng(1).normal(size=(60, 2))
    y = (X[:, 0] > 0).astype(int)
    model = LogisticRegression(class_weight={0: 1.5, 1: 1.0}).fit(X, y)
    model.save(tmp_path / "m")
    document = json.loads((tmp_path / "m" / "model.json").read_text())
    assert document["class"] == "LogisticRegression" and document["format_version"] == 1
    loaded = BaseEstimator.load(tmp_path / "m")
    assert loaded.class_weight == {0: 1.5, 1: 1.0}  # int keys survive JSON
    assert loaded.n_features_in_ == 2

    init = np.array([[0.0, 0.0], [1.0, 1.0]])
    km = KMeans(2, init=init).fit(X)
    km.save(tmp_path / "km")
    km_loaded = KMeans.load(tmp_path / "km")
    np.testing.assert_array_equal(km_loaded.init, init)  # array param via npz


def test_load_refuses_unknown_classes_versions_and_wrong_types(tmp_path):
    X = np.random.default_rng(1).normal(size=(30, 2))
    LogisticRegression().fit(X, (X[:, 0] > 0).astype(int)).save(tmp_path / "m")
    path = tmp_path / "m" / "model.json"
    document = json.loads(path.read_text())

    with pytest.raises(TypeError, match="not a KMeans"):
        KMeans.load(tmp_path / "m")
    path.write_text(json.dumps({**document, "class": "os.system"}))
    with pytest.raises(ValueError, match="unknown estimator class 'os.system'"):
        BaseEstimator.load(tmp_path / "m")
    path.write_text(json.dumps({**document, "format_version": 99}))
    with pytest.raises(ValueError, match="format_version 99"):
        BaseEstimator.load(tmp_path / "m")
    with pytest.raises(NotFittedError):
        LogisticRegression().save(tmp_path / "unfitted")
    assert "LogisticRegression" in registered_estimators()


def test_import_does_not_pull_in_sklearn_or_pandas():
    code = (
        "import sys, riskloop.scratch; "
        "bad = [m for m in ('sklearn', 'pandas') if m in sys.modules]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_warning_from_a_clean_fit():
    X = np.random.default_rng(2).normal(size=(100, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LogisticRegression().fit(X, (X[:, 1] > 0).astype(int)).predict_proba(X)
