"""Baseline policies: the rule comes from the scenario, the scorecard is integer points whose
ranking matches the WoE logistic regression it came from."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskloop.data.schema import infer_input_schema, target_vector
from riskloop.evaluation import policies


def test_rule_policy_declines_exactly_the_configured_rows(credit_scenario, credit_frame):
    rule = policies.rule_policy(credit_scenario, list(credit_frame.columns))
    assert rule["rules"] == [{"column": "Records", "equals": "yes"}]
    approved = policies.policy_decisions(rule, credit_frame)
    np.testing.assert_array_equal(approved, (credit_frame["Records"] != "yes").to_numpy())
    # a scenario whose rule names a missing column has no rule baseline
    assert policies.rule_policy(credit_scenario, ["Age"]) is None
    numeric = {"name": "rule", "kind": "rule", "rules": [{"column": "Age", "above": 60}]}
    frame = pd.DataFrame({"Age": [30, 61, None]})
    assert policies.policy_decisions(numeric, frame).tolist() == [True, False, True]


def test_scorecard_points_are_integers_and_rank_like_a_model(credit_scenario, credit_frame):
    frame = credit_frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    train, test = frame.iloc[:3000], frame.iloc[3000:]
    schema = infer_input_schema(train, credit_scenario)
    card = policies.fit_scorecard(
        train[schema.names], target_vector(train, credit_scenario), schema.numeric,
        schema.categorical, n_bins=5,
    )  # fmt: skip
    for spec in card["features"].values():
        assert all(isinstance(p, int) for p in spec["points"])
    # Records == "yes" (past arrears) must cost points relative to "no"
    records = card["features"]["Records"]
    points = dict(zip(records["categories"], records["points"], strict=False))
    assert points["yes"] < points["no"]
    y_test = target_vector(test, credit_scenario)
    probability = policies.policy_probability(card, test)
    assert roc_auc_score(y_test, probability) > 0.78  # a scorecard is a real competitor
    # probability is σ(−(score − offset)/factor): 20 more points halve the odds of default
    score = policies.scorecard_points(card, test.iloc[:1])[0]
    odds = probability[0] / (1 - probability[0])
    assert odds == pytest.approx(np.exp(-(score - card["offset"]) / card["factor"]))
    assert card["factor"] * np.log(2) == pytest.approx(20.0)
