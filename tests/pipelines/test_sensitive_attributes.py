"""Protected attributes out of the decision (ML Test Score D4).

By default a scenario's sensitive attributes are analysed, never model inputs; a scenario that
opts in still never gets one of them, or a feature it marks as their proxy, as a reason code.
"""

import numpy as np
import pytest

from riskloop.evaluation.explain import reason_codes
from riskloop.pipelines.evaluation.nodes import sensitive_inputs_comparison
from tests.conftest import train_one_candidate

SENSITIVE = {"Age", "Marital"}
PROXY = "Seniority"  # years with the current employer grows with age


@pytest.fixture(scope="module")
def aware_scenario(credit_scenario):
    """The credit scenario opting in to sensitive inputs, with Seniority marked as a proxy."""
    fairness = credit_scenario.fairness.model_copy(
        update={"allow_sensitive_attributes_as_model_inputs": True, "proxies": [PROXY]}
    )
    return credit_scenario.model_copy(update={"fairness": fairness})


@pytest.fixture(scope="module")
def aware_scorer(aware_scenario, credit_splits):
    train, validation, _ = credit_splits
    return train_one_candidate(
        aware_scenario,
        train,
        validation,
        "sklearn_logistic_regression",
        {"C": 1.0, "max_iter": 1000},
    )


def test_default_scenario_gives_no_sensitive_column_to_the_estimator(credit_scorer, credit_splits):
    """D4: the scorer trained with the default scenario (``credit_scorer``) has no sensitive
    attribute among the model-matrix columns the estimator sees, and ignores them."""
    features_of_columns = credit_scorer.column_features()
    assert credit_scorer.estimator.n_features_in_ == len(features_of_columns)
    assert SENSITIVE.isdisjoint(features_of_columns)
    assert SENSITIVE.isdisjoint(credit_scorer.input_schema.names)
    # still accepted with an application (optional), for fairness monitoring
    assert set(credit_scorer.analysed_schema.names) == SENSITIVE
    # Behavioural: any age or marital status gives the same probability.
    _, _, test = credit_splits
    altered = test.copy()
    altered["Age"] = 99
    altered["Marital"] = "widow"
    np.testing.assert_array_equal(
        credit_scorer.predict_proba(altered), credit_scorer.predict_proba(test)
    )


def test_opting_in_makes_them_inputs_but_never_reasons(aware_scorer, credit_splits):
    _, _, test = credit_splits
    assert set(aware_scorer.column_features()) >= SENSITIVE
    assert aware_scorer.analysed_schema.names == []
    rows = test[aware_scorer.input_schema.names].head(300).astype(object)
    records = rows.where(rows.notna(), None).to_dict("records")  # missing values as None
    reasons = aware_scorer.score_records(records).reasons
    assert reasons is not None
    given = {reason["feature"] for row in reasons for reason in row}
    assert given, "no reasons at all: the test would prove nothing"
    assert given.isdisjoint(SENSITIVE | {PROXY})
    # The explanation still shows them, and without the filter they would be reasons.
    explanations = aware_scorer.explain_records(records)
    top_k = aware_scorer.explanation.top_k
    unfiltered = {
        reason["feature"]
        for explanation in explanations
        for reason in reason_codes(explanation["contributions"], {}, top_k)
    }
    assert SENSITIVE & unfiltered and PROXY in unfiltered


def test_reason_codes_skip_the_features_never_given_as_reasons():
    contributions = {"Age": 0.9, "Income": 0.5, "Seniority": 0.4, "Debt": 0.1, "Assets": -0.2}
    reasons = reason_codes(contributions, {"Income": "Low income"}, 2, ["Age", "Seniority"])
    assert [r["feature"] for r in reasons] == ["Income", "Debt"]
    assert reasons[0]["text"] == "Low income"


def test_never_reasons_survive_save_and_load(tmp_path, aware_scorer):
    from riskloop.scorer import Scorer

    aware_scorer.save(tmp_path / "s")
    loaded = Scorer.load(tmp_path / "s")
    assert set(loaded.explanation.never_reasons) == SENSITIVE | {PROXY}


def test_analysed_attributes_survive_save_and_load(tmp_path, credit_scorer):
    from riskloop.scorer import Scorer

    credit_scorer.save(tmp_path / "s")
    loaded = Scorer.load(tmp_path / "s")
    assert loaded.analysed_schema == credit_scorer.analysed_schema
    assert loaded.analysed_schema["Age"].min == 18


def test_comparison_trains_the_other_variant_on_the_same_split(
    credit_scorer, credit_scenario, credit_splits
):
    train, validation, test = credit_splits
    tuning = {"folds": 3, "seed": 42, "n_bootstrap": 50}
    report = sensitive_inputs_comparison(
        credit_scorer, train, validation, test, credit_scenario, tuning
    )
    assert report["champion"] == "without"
    without, with_ = report["variants"]["without"], report["variants"]["with"]
    assert without["inputs"] == credit_scorer.input_schema.names
    assert set(with_["inputs"]) - set(without["inputs"]) == SENSITIVE
    from riskloop.evaluation.metrics import classification_metrics

    y = (test["Status"] == "bad").astype(int).to_numpy()
    expected_auc = classification_metrics(y, credit_scorer.predict_proba(test))["auc"]
    assert without["auc"] == pytest.approx(expected_auc)
    assert with_["auc"] != pytest.approx(expected_auc)
    for variant in (without, with_):
        assert set(variant["fairness"]) == SENSITIVE
        assert 0.0 < variant["fairness"]["Age"]["demographic_parity_ratio"] <= 1.0
