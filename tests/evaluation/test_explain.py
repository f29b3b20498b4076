"""Explanations: additivity per model family, exact linear values, reason codes, LIME overlap.

Additivity (base + Σ contributions = the model's own output, 1e-6) is checked against the
model's ``predict_proba`` — not against the explainer's arithmetic — by mapping the explained
output back to a probability (sigmoid for log-odds).
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression as SklearnLogisticRegression

from riskloop import scratch
from riskloop.evaluation.explain import (
    Explainer,
    ExplanationSetup,
    aggregate_to_features,
    lime_agreement,
    model_family,
    reason_codes,
)


@pytest.fixture(scope="module")
def data():
    """400 rows: 4 numeric columns (not centred) and a 3-level one-hot block."""
    rng = np.random.default_rng(7)
    numeric = rng.normal(loc=[1.0, -2.0, 0.5, 3.0], scale=1.0, size=(400, 4))
    level = rng.integers(0, 3, 400)
    onehot = np.eye(3)[level]
    X = np.column_stack([numeric, onehot])
    logit = 1.5 * numeric[:, 0] - numeric[:, 1] * numeric[:, 2] * 0.5 + (level == 2) - 1.0
    y = (rng.random(400) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


def _setup(X):
    return ExplanationSetup.from_training_matrix(X, n_sample=30, seed=0)


def _lightgbm():
    import lightgbm

    return lightgbm.LGBMClassifier(n_estimators=20, n_jobs=1, verbose=-1, deterministic=True)


MODELS = {
    "sklearn_lr": (lambda: SklearnLogisticRegression(max_iter=1000), "linear", "log_odds"),
    "scratch_lr": (lambda: scratch.LogisticRegression(), "linear", "log_odds"),
    "scratch_tree": (
        lambda: scratch.DecisionTreeClassifier(max_depth=4, random_state=0),
        "tree",
        "probability",
    ),
    "scratch_forest": (
        lambda: scratch.RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
        "tree",
        "probability",
    ),
    "scratch_hgbt": (
        lambda: scratch.HistGradientBoostingClassifier(max_iter=20, random_state=0),
        "tree",
        "log_odds",
    ),
    "lightgbm": (_lightgbm, "tree", "log_odds"),
    "agnostic_nb": (lambda: scratch.GaussianNB(), "agnostic", "probability"),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_base_plus_contributions_is_the_model_output(name, data):
    X, y = data
    build, family, space = MODELS[name]
    model = build().fit(X, y)
    setup = _setup(X)
    explainer = Explainer(model, setup.background_mean, setup.background_sample)
    rows = X[:8] if family == "agnostic" else X[:50]
    base, contributions = explainer.explain_matrix(rows)
    assert (explainer.family, explainer.output_space) == (family, space)
    assert contributions.shape == rows.shape and base.shape == (len(rows),)
    output = base + contributions.sum(axis=1)
    probability = model.predict_proba(rows)[:, 1]
    if space == "log_odds":
        np.testing.assert_allclose(1 / (1 + np.exp(-output)), probability, atol=1e-6)
    else:
        np.testing.assert_allclose(output, probability, atol=1e-6)
    np.testing.assert_allclose(output, explainer.model_output(rows), atol=1e-6)
    # Every family hands some signal to the strongest input (column 0).
    assert np.abs(contributions[:, 0]).mean() > 0


@pytest.mark.parametrize("make", [SklearnLogisticRegression, scratch.LogisticRegression])
def test_linear_contributions_are_weight_times_distance_from_the_training_mean(make, data):
    X, y = data
    model = make().fit(X, y)
    setup = _setup(X)
    base, contributions = Explainer(
        model, setup.background_mean, setup.background_sample
    ).explain_matrix(X[:5])
    w, b = np.ravel(model.coef_), float(np.ravel(model.intercept_)[0])
    mean = X.mean(axis=0)
    assert abs(mean[0]) > 0.5  # the background is not centred: E[x] matters
    np.testing.assert_allclose(contributions, w * (X[:5] - mean), atol=1e-12)
    np.testing.assert_allclose(base, w @ mean + b, atol=1e-12)


def test_a_stump_gives_all_credit_to_its_split_feature(data):
    X, y = data
    stump = scratch.DecisionTreeClassifier(max_depth=1, random_state=0).fit(X, y)
    setup = _setup(X)
    base, contributions = Explainer(
        stump, setup.background_mean, setup.background_sample
    ).explain_matrix(X[:20])
    split = int(stump.tree_.feature[0])
    others = np.delete(contributions, split, axis=1)
    np.testing.assert_array_equal(others, 0.0)
    np.testing.assert_allclose(contributions[:, split], stump.predict_proba(X[:20])[:, 1] - base)
    # Base: the training share of the risky class (cover-weighted mean of the leaves).
    assert base[0] == pytest.approx(y.mean())


def test_agnostic_explanations_repeat_with_the_seed(data):
    X, y = data
    model = scratch.GaussianNB().fit(X, y)
    setup = _setup(X)
    first = Explainer(model, setup.background_mean, setup.background_sample, seed=3)
    second = Explainer(model, setup.background_mean, setup.background_sample, seed=3)
    np.testing.assert_array_equal(first.explain_matrix(X[:3])[1], second.explain_matrix(X[:3])[1])
    # Base: mean predicted probability over the background sample.
    assert first.explain_matrix(X[:1])[0][0] == pytest.approx(
        model.predict_proba(setup.background_sample)[:, 1].mean()
    )


def test_model_families():
    assert model_family(SklearnLogisticRegression()) == "agnostic"  # unfitted: no coef_
    assert model_family(scratch.KNeighborsClassifier()) == "agnostic"
    assert model_family(scratch.DecisionTreeClassifier()) == "tree"


def test_one_hot_columns_are_summed_back_to_their_feature():
    contributions = np.array([[0.5, 0.1, 0.2, -0.4], [1.0, 0.0, 0.0, 0.0]])
    by_feature = aggregate_to_features(
        contributions, ["Income", "Home", "Home", "Job"], ["Income", "Home", "Job", "Empty"]
    )
    np.testing.assert_allclose(by_feature, [[0.5, 0.3, -0.4, 0.0], [1.0, 0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="not listed"):
        aggregate_to_features(contributions, ["Income", "Home", "Home", "Other"], ["Income"])


def test_reason_codes_are_positive_ordered_and_worded():
    contributions = {"Income": 0.4, "Age": -0.9, "Debt": 1.2, "Home": 0.0, "Job": 0.05}
    texts = {"Income": "Low or unreported income", "Debt": "Outstanding debt"}
    assert reason_codes(contributions, texts, top_k=4) == [
        {"feature": "Debt", "text": "Outstanding debt", "contribution": 1.2},
        {"feature": "Income", "text": "Low or unreported income", "contribution": 0.4},
        {"feature": "Job", "text": "Job", "contribution": 0.05},
    ]
    assert [r["feature"] for r in reason_codes(contributions, texts, top_k=1)] == ["Debt"]
    assert reason_codes({"Age": -1.0}, texts, top_k=3) == []


def test_lime_agrees_with_shap_on_a_linear_model_and_repeats_with_the_seed(data):
    X, y = data
    model = SklearnLogisticRegression(max_iter=1000).fit(X, y)
    setup = _setup(X)
    _, shap_values = Explainer(
        model, setup.background_mean, setup.background_sample
    ).explain_matrix(X[:4])
    names = ["a", "b", "c", "d", "level0", "level1", "level2"]
    kwargs = dict(top_k=2, seed=0, training_matrix=X, num_samples=300)
    result = lime_agreement(model.predict_proba, X[:4], names, shap_values, **kwargs)
    assert len(result["per_applicant"]) == 4
    assert all(len(a["lime"]) == len(a["shap"]) == 2 for a in result["per_applicant"])
    assert result["mean_overlap"] >= 0.5
    assert lime_agreement(model.predict_proba, X[:4], names, shap_values, **kwargs) == result


def test_fast_tree_attribution_is_additive_and_agrees_with_exact_shap_on_the_top_feature():
    """Per-request reason codes of tree models use path attribution (Saabas): exactly additive,
    much cheaper than exact Tree SHAP, and close to it on which feature matters most."""
    from sklearn.datasets import make_classification

    from riskloop.scratch import RandomForestClassifier

    X, y = make_classification(600, 6, n_informative=3, random_state=17)
    forest = RandomForestClassifier(n_estimators=30, min_samples_leaf=5, random_state=0).fit(X, y)
    explainer = Explainer(forest, X.mean(axis=0), X[:20])
    base_fast, fast = explainer.explain_matrix(X[:50], fast=True)
    base_exact, exact = explainer.explain_matrix(X[:50])
    output = explainer.model_output(X[:50])
    np.testing.assert_allclose(base_fast + fast.sum(axis=1), output, atol=1e-6)
    np.testing.assert_allclose(base_exact + exact.sum(axis=1), output, atol=1e-6)
    assert not np.allclose(fast, exact)  # a different attribution, not the same numbers
    same_top = np.mean(np.argmax(np.abs(fast), axis=1) == np.argmax(np.abs(exact), axis=1))
    assert same_top >= 0.8
