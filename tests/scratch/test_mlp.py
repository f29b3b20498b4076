"""MLPClassifier proven against references: finite differences and scikit-learn.

- Backprop: analytic gradients of the regularised loss match central finite differences.
- Training: with the same seed and settings, the whole Adam/SGD trajectory reproduces
  scikit-learn's MLPClassifier (same Glorot draws, same shuffles, same update rule).
- Statistics: with early stopping (where the validation split is drawn differently from
  scikit-learn's), the mean test AUC over 5 seeds is within 0.005 of scikit-learn's.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import make_classification
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.preprocessing import StandardScaler

from riskloop.scratch import BaseEstimator
from riskloop.scratch._validation import ConvergenceWarning
from riskloop.scratch.neural_network import MLPClassifier
from riskloop.scratch.neural_network._layers import backprop
from riskloop.scratch.neural_network._mlp import (
    _allocate_like,
    _glorot_init,
    _stratified_holdout,
)

CREDIT_CSV = Path(__file__).resolve().parents[2] / "data" / "01_raw" / "credit_data.csv"


def _quiet_fit(model, X, y, **fit_kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # both libraries' convergence warnings
        return model.fit(X, y, **fit_kwargs)


def _max_param_diff(ours, theirs) -> float:
    return max(
        float(np.max(np.abs(a - b)))
        for a, b in zip(
            ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True
        )
    )


# --------------------------------------------------------------------------- gradients


def _loss_and_grads(flat, layer_units, X, y, sw, activation, alpha):
    """Loss and flat gradient of the network whose parameters are ``flat`` (copied)."""
    params, coefs, intercepts = _allocate_like(layer_units, np.float64)
    params[:] = flat
    grads, coef_grads, intercept_grads = _allocate_like(layer_units, np.float64)
    out_activation = "logistic" if layer_units[-1] == 1 else "softmax"
    activations = [np.empty((X.shape[0], u)) for u in layer_units[1:]]
    deltas = [np.empty_like(a) for a in activations]
    loss = backprop(
        X,
        y,
        sw,
        coefs,
        intercepts,
        activation,
        out_activation,
        alpha,
        activations,
        deltas,
        coef_grads,
        intercept_grads,
    )
    return loss, grads.copy()


@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic"])
@pytest.mark.parametrize("n_classes", [2, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_backprop_gradient_matches_central_differences(activation, n_classes, weighted):
    rng = np.random.RandomState(20240611)
    n_samples, n_features = 25, 4
    X = rng.normal(size=(n_samples, n_features))
    y = rng.randint(0, n_classes, size=n_samples)
    sw = rng.uniform(0.2, 3.0, size=n_samples) if weighted else None
    layer_units = [n_features, 5, 3, 1 if n_classes == 2 else n_classes]
    flat, _, _ = _glorot_init(layer_units, activation, np.float64, rng)
    flat = flat + 0.1 * rng.normal(size=flat.shape)  # biases away from their init range
    alpha = 0.3  # large enough that a wrong L2 scaling would show

    _, analytic = _loss_and_grads(flat, layer_units, X, y, sw, activation, alpha)
    step = 1e-6
    numeric = np.empty_like(flat)
    for i in range(flat.shape[0]):
        up, down = flat.copy(), flat.copy()
        up[i] += step
        down[i] -= step
        loss_up, _ = _loss_and_grads(up, layer_units, X, y, sw, activation, alpha)
        loss_down, _ = _loss_and_grads(down, layer_units, X, y, sw, activation, alpha)
        numeric[i] = (loss_up - loss_down) / (2 * step)

    # Absolute error on every weight and bias; the gradients here are O(0.01..1) and the
    # measured worst error is ~4e-10 (central-difference truncation + rounding).
    np.testing.assert_allclose(analytic, numeric, rtol=0, atol=1e-8)
    assert np.abs(analytic).max() > 1e-2  # the comparison is not between two zero vectors


def test_loss_includes_sklearn_scaled_l2_term():
    rng = np.random.RandomState(7)
    X, y = rng.normal(size=(30, 3)), rng.randint(0, 2, size=30)
    layer_units = [3, 4, 1]
    flat, coefs, _ = _glorot_init(layer_units, "relu", np.float64, rng)
    loss_0, _ = _loss_and_grads(flat, layer_units, X, y, None, "relu", 0.0)
    loss_a, _ = _loss_and_grads(flat, layer_units, X, y, None, "relu", 2.0)
    squared_norm = sum(float((W**2).sum()) for W in coefs)
    assert loss_a - loss_0 == pytest.approx(2.0 / 2 * squared_norm / 30, rel=1e-12)


# --------------------------------------------------------------------------- vs sklearn


@pytest.mark.parametrize(
    "params",
    [
        dict(activation="relu", solver="adam"),
        dict(activation="tanh", solver="adam", alpha=0.01, batch_size=64),
        dict(activation="logistic", solver="sgd", learning_rate="adaptive", shuffle=False),
        dict(
            activation="relu",
            solver="sgd",
            learning_rate="invscaling",
            momentum=0.5,
            nesterovs_momentum=False,
            learning_rate_init=0.05,
        ),
    ],
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_training_trajectory_reproduces_sklearn(params, n_classes):
    X, y = make_classification(
        n_samples=600, n_features=8, n_informative=5, n_classes=n_classes, random_state=4242
    )
    sw = np.random.RandomState(5).uniform(0.5, 2.0, size=y.shape[0])
    settings = dict(hidden_layer_sizes=(16, 8), max_iter=30, random_state=11, **params)
    ours = _quiet_fit(MLPClassifier(**settings), X, y, sample_weight=sw)
    theirs = _quiet_fit(SklearnMLP(**settings), X, y, sample_weight=sw)

    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10, atol=0)
    assert _max_param_diff(ours, theirs) < 1e-10
    np.testing.assert_allclose(ours.predict_proba(X), theirs.predict_proba(X), atol=1e-10)
    np.testing.assert_array_equal(ours.predict(X), theirs.predict(X))


def _auc_over_seeds(estimator_class, X_train, X_test, y_train, y_test, seeds, **settings):
    """Test AUC and epochs run for each seed."""
    aucs, n_iters = [], []
    for seed in seeds:
        model = _quiet_fit(estimator_class(random_state=seed, **settings), X_train, y_train)
        aucs.append(roc_auc_score(y_test, model.predict_proba(X_test)[:, 1]))
        n_iters.append(model.n_iter_)
    return np.array(aucs), np.array(n_iters)


@pytest.fixture(scope="module")
def synthetic_split():
    X, y = make_classification(
        n_samples=2000, n_features=10, n_informative=6, flip_y=0.05, random_state=9001
    )
    return train_test_split(X, y, test_size=0.3, random_state=9002, stratify=y)


# tol=1e-3 lets both libraries stop on a training-loss plateau well before max_iter.
CONVERGING = dict(hidden_layer_sizes=(32,), max_iter=200, tol=1e-3)


def test_mean_auc_over_five_seeds_matches_sklearn(synthetic_split):
    ours, ours_iters = _auc_over_seeds(MLPClassifier, *synthetic_split, range(5), **CONVERGING)
    theirs, their_iters = _auc_over_seeds(SklearnMLP, *synthetic_split, range(5), **CONVERGING)
    assert (ours_iters < 200).all() and (their_iters < 200).all()  # both converged
    assert ours.mean() > 0.9
    assert abs(ours.mean() - theirs.mean()) < 0.005, (ours.mean(), theirs.mean())


def _credit_data():
    pd = pytest.importorskip("pandas")
    frame = pd.read_csv(CREDIT_CSV)
    y = (frame.pop("Status") == "bad").to_numpy(dtype=np.int64)
    X = pd.get_dummies(frame, dtype=float)
    X = X.fillna(X.median()).to_numpy(dtype=np.float64)
    return X, y


def test_credit_data_mean_auc_matches_sklearn():
    X, y = _credit_data()
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, random_state=31, stratify=y
    )
    scaler = StandardScaler().fit(X_train)
    split = scaler.transform(X_train), scaler.transform(X_test), y_train, y_test
    ours, ours_iters = _auc_over_seeds(MLPClassifier, *split, range(5), **CONVERGING)
    theirs, their_iters = _auc_over_seeds(SklearnMLP, *split, range(5), **CONVERGING)
    assert (ours_iters < 200).all() and (their_iters < 200).all()
    assert ours.mean() > 0.75
    assert abs(ours.mean() - theirs.mean()) < 0.005, (ours.mean(), theirs.mean())


def test_early_stopping_auc_matches_sklearn_statistically(synthetic_split):
    """Early stopping holds out a different (equally stratified) split than scikit-learn's,
    so runs differ; the per-seed AUC spread here is about 0.023, so the difference of two
    20-seed means has a standard deviation near 0.0073 and 0.025 is a ~3.4 sigma bound."""
    settings = dict(hidden_layer_sizes=(32,), max_iter=200, early_stopping=True)
    ours, _ = _auc_over_seeds(MLPClassifier, *synthetic_split, range(20), **settings)
    theirs, _ = _auc_over_seeds(SklearnMLP, *synthetic_split, range(20), **settings)
    assert abs(ours.mean() - theirs.mean()) < 0.025, (ours.mean(), theirs.mean())


# --------------------------------------------------------------------------- behaviour


@pytest.fixture(scope="module")
def binary_data():
    X, y = make_classification(n_samples=300, n_features=6, random_state=77)
    return X, np.where(y == 1, "bad", "good")


def test_early_stopping_keeps_best_validation_weights(binary_data):
    X, y = binary_data
    model = MLPClassifier(
        hidden_layer_sizes=(8,), early_stopping=True, validation_fraction=0.2, random_state=3
    ).fit(X, y)
    assert model.best_loss_ is None
    assert len(model.validation_scores_) == model.n_iter_ < 200
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert np.argmax(model.validation_scores_) < model.n_iter_ - 1  # it did roll back

    # Rebuild the held-out rows from the same seed (initialisation draws come first) and check
    # that the kept weights score exactly the best validation accuracy on them.
    random_state = np.random.RandomState(3)
    _glorot_init([6, 8, 1], "relu", np.float64, random_state)
    y_encoded = (y == "good").astype(np.int64)
    _, held_out = _stratified_holdout(y_encoded, 0.2, random_state)
    assert held_out.shape[0] == 60
    # Stratified: each class keeps 20 % of its rows to within one row (149 and 151 rows here).
    share = 0.2 * np.bincount(y_encoded)
    assert np.all(np.abs(np.bincount(y_encoded[held_out]) - share) < 1)
    assert model.score(X[held_out], y[held_out]) == model.best_validation_score_


def test_convergence_warning_when_max_iter_is_hit(binary_data):
    X, y = binary_data
    with pytest.warns(ConvergenceWarning, match="maximum iterations \\(3\\)"):
        model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    assert model.n_iter_ == 3 and len(model.loss_curve_) == 3


def test_float32_input_trains_in_float32(binary_data):
    X, y = binary_data
    model = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0), X.astype(np.float32), y
    )
    reference = _quiet_fit(
        MLPClassifier(hidden_layer_sizes=(8,), max_iter=20, random_state=0), X, y
    )
    assert all(W.dtype == np.float32 for W in model.coefs_ + model.intercepts_)
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X), atol=1e-4)


def test_predict_proba_row_matches_predict_proba(binary_data):
    X, y = binary_data
    model = _quiet_fit(MLPClassifier(hidden_layer_sizes=(8, 4), max_iter=30, random_state=0), X, y)
    proba = model.predict_proba(X[:20])[:, 1]
    rows = np.array([model.predict_proba_row(x) for x in X[:20]])
    np.testing.assert_allclose(rows, proba, rtol=1e-12, atol=1e-15)
    assert isinstance(model.predict_proba_row(X[0]), float)


def test_predict_proba_row_rejects_multiclass():
    X, y = make_classification(
        n_samples=90, n_features=5, n_informative=3, n_classes=3, random_state=1
    )
    model = _quiet_fit(MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0), X, y)
    with pytest.raises(ValueError, match="binary"):
        model.predict_proba_row(X[0])


def test_single_class_is_refused():
    with pytest.raises(ValueError, match="only one class"):
        MLPClassifier().fit(np.zeros((5, 2)), np.ones(5))


@pytest.mark.parametrize(
    "bad",
    [
        dict(hidden_layer_sizes=(4, 0)),
        dict(activation="gelu"),
        dict(solver="lbfgs"),
        dict(batch_size=0),
        dict(beta_1=1.0),
        dict(learning_rate_init=0.0),
    ],
)
def test_invalid_parameters_are_explained(binary_data, bad):
    X, y = binary_data
    with pytest.raises(ValueError, match=next(iter(bad))):
        MLPClassifier(**bad).fit(X, y)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_save_load_round_trip(tmp_path, n_classes):
    X, y = make_classification(
        n_samples=120, n_features=5, n_informative=3, n_classes=n_classes, random_state=8
    )
    labels = np.array(["low", "mid", "high"], dtype=object)[y]
    model = _quiet_fit(
        MLPClassifier(
            hidden_layer_sizes=(6, 3),
            activation="tanh",
            early_stopping=True,
            max_iter=15,
            random_state=2,
        ),
        X,
        labels,
    )
    model.save(tmp_path / "mlp")
    loaded = BaseEstimator.load(tmp_path / "mlp")
    assert isinstance(loaded, MLPClassifier)
    assert loaded.get_params() == model.get_params()
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.loss_curve_ == model.loss_curve_
    assert loaded.best_validation_score_ == model.best_validation_score_
    assert not any(p.suffix == ".pkl" for p in (tmp_path / "mlp").iterdir())
