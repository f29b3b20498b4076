"""The promotion gate refuses a worse or unfair challenger, saying which gate failed, and
accepts a better one."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

from riskloop.config import ConfigError
from riskloop.evaluation.fairness import fairness_report
from riskloop.evaluation.gates import (
    GateThresholds,
    ModelEvidence,
    group_masks,
    load_gate_thresholds,
    promotion_gate,
    worst_group_fairness,
    worst_group_fairness_from_report,
)
from riskloop.pipelines.registration.pipeline import (
    create_pipeline as create_registration_pipeline,
)
from riskloop.retraining.config import load_retraining_config
from tests.conftest import PROJECT_DIR

CHAMPION = ModelEvidence(profit_per_1000=1000.0, auc=0.85, dp_ratio=0.9, eo_difference=0.05)
THRESHOLDS = GateThresholds(
    min_profit_improvement=0.0, auc_tolerance=0.01, min_auc_improvement=0.0, brier_tolerance=None
)
FAIRNESS = {"dp_ratio_min": 0.8, "eo_difference_max": 0.1}


def test_better_and_fair_challenger_is_promoted():
    better = ModelEvidence(1100.0, 0.845, 0.85, 0.08)  # AUC lower, but within the tolerance
    decision = promotion_gate(better, CHAMPION, THRESHOLDS, **FAIRNESS)
    assert decision.promote and not decision.failures


def test_equal_profit_is_not_better():
    decision = promotion_gate(CHAMPION, CHAMPION, THRESHOLDS, **FAIRNESS)
    assert not decision.promote
    assert decision.failures == [
        "profit: 1,000.0 per 1,000 does not beat champion's 1,000.0 by more than 0"
    ]


def test_more_profit_but_much_lower_auc_is_refused():
    decision = promotion_gate(
        ModelEvidence(1200.0, 0.83, 0.9, 0.05), CHAMPION, THRESHOLDS, **FAIRNESS
    )
    assert not decision.promote
    assert decision.failures == ["AUC: 0.8300 is lower than champion's 0.8500 by more than 0.01"]


def test_unfair_challenger_is_refused_with_its_numbers():
    unfair = ModelEvidence(1500.0, 0.9, dp_ratio=0.7, eo_difference=0.25)
    decision = promotion_gate(unfair, CHAMPION, THRESHOLDS, **FAIRNESS)
    assert not decision.promote
    assert decision.failures == [
        "fairness: demographic-parity ratio 0.700 is below 0.8",
        "fairness: equalised-odds difference 0.250 is above 0.1",
    ]
    assert "0.700" in decision.reason
    # also without a champion: an unfair first model does not become champion
    assert not promotion_gate(unfair, None, THRESHOLDS, **FAIRNESS).promote
    assert promotion_gate(ModelEvidence(1.0, 0.6, 0.95, 0.01), None, THRESHOLDS, **FAIRNESS).promote


def test_without_a_cost_model_auc_decides():
    challenger = ModelEvidence(None, 0.86)
    champion = ModelEvidence(None, 0.85)
    assert promotion_gate(challenger, champion, THRESHOLDS, **FAIRNESS).promote
    stricter = THRESHOLDS.model_copy(update={"min_auc_improvement": 0.02})
    refused = promotion_gate(challenger, champion, stricter, **FAIRNESS)
    assert not refused.promote and refused.failures[0].startswith("AUC: validation AUC 0.8600")


@pytest.mark.parametrize(
    ("candidate", "champion", "margin", "promote"),
    [
        (0.80, None, 0.0, True),
        (0.81, 0.80, 0.0, True),
        (0.80, 0.80, 0.0, False),
        (0.805, 0.80, 0.01, False),
        (0.79, 0.80, 0.0, False),
    ],
)
def test_auc_must_beat_the_champion_by_more_than_the_margin(candidate, champion, margin, promote):
    thresholds = THRESHOLDS.model_copy(update={"min_auc_improvement": margin})
    current = None if champion is None else ModelEvidence(None, champion)
    decision = promotion_gate(ModelEvidence(None, candidate), current, thresholds, **FAIRNESS)
    assert decision.promote is promote


def test_calibration_gate_refuses_a_worse_brier_score_only_when_set():
    champion = ModelEvidence(1000.0, 0.85, brier=0.150)
    challenger = ModelEvidence(1100.0, 0.85, brier=0.170)
    assert promotion_gate(challenger, champion, THRESHOLDS, **FAIRNESS).promote
    calibrated = THRESHOLDS.model_copy(update={"brier_tolerance": 0.01})
    refused = promotion_gate(challenger, champion, calibrated, **FAIRNESS)
    assert refused.failures == [
        "calibration: Brier score 0.1700 is worse than champion's 0.1500 by more than 0.01"
    ]


def test_the_shipped_thresholds_are_one_section_every_promotion_reads():
    shipped = PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml"
    thresholds = load_gate_thresholds(shipped)
    assert thresholds == GateThresholds(
        min_profit_improvement=0.0,
        auc_tolerance=0.01,
        min_auc_improvement=0.0,
        brier_tolerance=0.01,
    )
    # the registration pipeline takes the same section from Kedro's parameters, and the
    # retraining workflow loads the same file
    registration = create_registration_pipeline()
    assert any("params:promotion_gate" in node.inputs for node in registration.nodes)
    retraining = load_retraining_config(PROJECT_DIR / "conf" / "base" / "retraining.yml", shipped)
    assert retraining.gates == thresholds
    # and no other configuration file repeats a threshold, under its name or an older one
    names = [*GateThresholds.model_fields, "min_improvement"]
    for path in (PROJECT_DIR / "conf").rglob("*.yml"):
        if path != shipped:
            repeated = [name for name in names if f"{name}:" in path.read_text()]
            assert not repeated, f"{path.name} repeats {repeated}"


def test_a_broken_threshold_is_named(tmp_path):
    path = tmp_path / "parameters_promotion.yml"
    path.write_text("promotion_gate: {min_profit_improvement: 0, auc_tolerance: -1}\n")
    with pytest.raises(ConfigError) as caught:
        load_gate_thresholds(path)
    message = str(caught.value)
    assert "promotion_gate.auc_tolerance: Input should be greater than or equal to 0" in message
    assert "promotion_gate.min_auc_improvement: required, but missing" in message


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
