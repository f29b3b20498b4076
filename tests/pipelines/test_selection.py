"""Model selection on the bundled data with a tiny budget: the winner is the most profitable
candidate on validation, and its threshold is the most profitable fair one."""

import numpy as np
import pandas as pd
import pytest

from riskloop.data.schema import target_vector
from riskloop.evaluation import business
from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean
from riskloop.pipelines.training.nodes import fairness_constraint, select_and_calibrate
from tests.conftest import CREDIT_CSV


@pytest.fixture(scope="module")
def selection(credit_scenario):
    raw = pd.read_csv(CREDIT_CSV)
    raw.attrs.update(source=str(CREDIT_CSV), sha256="test")
    clean, lineage = validate_and_clean(raw, credit_scenario)
    train, validation, _ = split_applications(
        clean, credit_scenario, {"test_size": 0.2, "validation_size": 0.2, "seed": 42}
    )
    model = {
        "type": "select",
        "candidates": ["sklearn_logistic_regression", "scratch_decision_tree"],
    }
    tuning = {"folds": 2, "trials": 2, "seed": 1, "n_bootstrap": 100}
    candidates = {
        "sklearn_logistic_regression": {"C": 1.0, "max_iter": 1000},
        "scratch_decision_tree": {"max_depth": 4, "min_samples_leaf": 20, "random_state": 0},
    }
    spaces = {"scratch_decision_tree": {"max_depth": {"low": 2, "high": 6, "int": True}}}
    scorer, comparison, baselines = select_and_calibrate(
        train, validation, credit_scenario, model, tuning, candidates, spaces, lineage
    )
    return scorer, comparison, baselines, validation


def test_the_most_profitable_candidate_is_selected(selection):
    scorer, comparison, baselines, _ = selection
    models = comparison[comparison["kind"] == "model"]
    assert set(models["name"]) == {"sklearn_logistic_regression", "scratch_decision_tree"}
    assert set(comparison.loc[comparison["kind"] == "baseline", "name"]) == {
        "approve_all", "rule", "scorecard",
    }  # fmt: skip
    best = models.loc[models["validation_profit"].idxmax(), "name"]
    assert scorer.metadata["model_type"] == best
    assert comparison.loc[comparison["selected"], "name"].tolist() == [best]
    assert (models["n_trials"] == 2).all() and (models["cv_auc_mean"] > 0.7).all()
    assert (models["validation_profit_low"] < models["validation_profit"]).all()
    assert [p["name"] for p in baselines["policies"]] == ["approve_all", "rule", "scorecard"]
    assert set(scorer.reports) >= {"comparison", "calibration", "profit_curve"}


def test_threshold_is_the_most_profitable_fair_one(selection, credit_scenario):
    scorer, _, _, validation = selection
    y = target_vector(validation, credit_scenario)
    exposure, term = business.exposure_and_term(validation, credit_scenario)
    probability = scorer.predict_proba(validation)
    fair = fairness_constraint(validation, credit_scenario)
    assert fair(probability < scorer.threshold)
    chosen = business.expected_profit(
        y, probability < scorer.threshold, exposure, term, credit_scenario.costs
    )
    curve = scorer.reports["profit_curve"]
    assert curve["chosen_threshold"] == scorer.threshold
    # no fair threshold on a fine grid does much better (the choice used cross-fitted scores,
    # so a small in-sample gap is allowed: 2 % of the profit)
    grid_best = max(
        business.expected_profit(y, probability < t, exposure, term, credit_scenario.costs)
        for t in np.linspace(0.01, 0.99, 197)
        if fair(probability < t)
    )
    assert chosen >= grid_best - 0.02 * abs(grid_best)
