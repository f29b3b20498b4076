"""The promotion gate refuses a worse or unfair challenger, saying which gate failed, and
accepts a better one."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

from riskloop.evaluation.fairness import fairness_report
from riskloop.evaluation.gates import (
    ModelEvidence,
    group_masks,
    promotion_gate,
    worst_group_fairness,
    worst_group_fairness_from_report,
)

CHAMPION = ModelEvidence(profit_per_1000=1000.0, auc=0.85, dp_ratio=0.9, eo_difference=0.05)
BOUNDS = {"auc_tolerance": 0.01, "dp_ratio_min": 0.8, "eo_difference_max": 0.1}


def test_better_and_fair_challenger_is_promoted():
    better = ModelEvidence(1100.0, 0.845, 0.85, 0.08)  # AUC lower, but within the tolerance
    decision = promotion_gate(better, CHAMPION, **BOUNDS)
    assert decision.promote and not decision.failures


def test_equal_profit_is_not_better():
    decision = promotion_gate(CHAMPION, CHAMPION, **BOUNDS)
    assert not decision.promote
    assert decision.failures == [
        "profit: 1,000.0 per 1,000 does not beat champion's 1,000.0 by more than 0"
    ]


def test_more_profit_but_much_lower_auc_is_refused():
    decision = promotion_gate(ModelEvidence(1200.0, 0.83, 0.9, 0.05), CHAMPION, **BOUNDS)
    assert not decision.promote
    assert decision.failures == ["AUC: 0.8300 is lower than champion's 0.8500 by more than 0.01"]


def test_unfair_challenger_is_refused_with_its_numbers():
    unfair = ModelEvidence(1500.0, 0.9, dp_ratio=0.7, eo_difference=0.25)
    decision = promotion_gate(unfair, CHAMPION, **BOUNDS)
    assert not decision.promote
    assert decision.failures == [
        "fairness: demographic-parity ratio 0.700 is below 0.8",
        "fairness: equalised-odds difference 0.250 is above 0.1",
    ]
    assert "0.700" in decision.reason
    # also without a champion: an unfair first model does not become champion
    assert not promotion_gate(unfair, None, **BOUNDS).promote
    assert promotion_gate(ModelEvidence(1.0, 0.6, 0.95, 0.01), None, **BOUNDS).promote


def test_without_a_cost_model_auc_decides():
    challenger = ModelEvidence(None, 0.86)
    champion = ModelEvidence(None, 0.85)
    assert promotion_gate(challenger, champion, min_auc_improvement=0.0).promote
    refused = promotion_gate(challenger, champion, min_auc_improvement=0.02)
    assert not refused.promote and refused.failures[0].startswith("AUC: validation AUC 0.8600")


def test_gate_fairness_numbers_match_fairlearn_and_the_fairness_report():
    rng = np.random.default_rng(7)
    n = 600
    groups = pd.DataFrame(
        {"a": rng.choice(["x", "y", "z"], n, p=[0.5, 0.45, 0.05]), "b": rng.choice(["u", "v"], n)}
    )
    y_bad = (rng.random(n) < 0.3).astype(int)
    approved = rng.random(n) < np.where(groups["a"] == "x", 0.8, 0.6)
    ratio, odds = worst_group_fairness(approved, y_bad, group_masks(groups, 1))
    expected_ratio = min(
        demographic_parity_ratio(1 - y_bad, approved, sensitive_features=groups[c]) for c in groups
    )
    expected_odds = max(
        equalized_odds_difference(1 - y_bad, approved, sensitive_features=groups[c]) for c in groups
    )
    assert ratio == pytest.approx(expected_ratio) and odds == pytest.approx(expected_odds)
    report = fairness_report(y_bad, approved, np.full(n, 0.5), groups, n_bootstrap=0)
    assert worst_group_fairness_from_report(report, 1) == pytest.approx((ratio, odds))
    # leaving out the small group "z" (≈ 30 rows) changes the numbers the gate sees
    big = worst_group_fairness(approved, y_bad, group_masks(groups, 60))
    assert big == pytest.approx(worst_group_fairness_from_report(report, 60))
