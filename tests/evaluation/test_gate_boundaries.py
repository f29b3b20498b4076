"""The promotion gate at its edges: every bound is inclusive, each gate's sentence is exact, a
missing number changes which gate applies, and the fairness evidence is right when one kind
of error (TPR or FPR) is what differs between groups."""

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import demographic_parity_ratio, equalized_odds_difference

from riskloop.evaluation.gates import (
    GateThresholds,
    ModelEvidence,
    _spread,
    group_masks,
    promotion_gate,
    worst_group_fairness,
    worst_group_fairness_from_report,
)

# Values exact in binary floating point, so "at the bound" means exactly at it.
THRESHOLDS = GateThresholds(
    min_profit_improvement=50.0,
    auc_tolerance=0.25,
    min_auc_improvement=0.125,
    brier_tolerance=0.125,
)
FAIRNESS = {"dp_ratio_min": 0.75, "eo_difference_max": 0.125}
CHAMPION = ModelEvidence(
    profit_per_1000=1000.0, auc=0.75, dp_ratio=1.0, eo_difference=0.0, brier=0.25
)


def _gate(challenger, champion=CHAMPION):
    return promotion_gate(challenger, champion, THRESHOLDS, **FAIRNESS)


def test_a_challenger_exactly_at_every_bound_is_promoted_with_each_reason():
    at_bounds = ModelEvidence(1050.5, auc=0.5, dp_ratio=0.75, eo_difference=0.125, brier=0.375)
    decision = _gate(at_bounds)
    assert decision.promote and decision.failures == []
    assert decision.reason == (
        "profit 1,050.5 per 1,000 beats champion's 1,000.0; validation AUC 0.5000 vs champion's"
        " 0.7500; Brier score 0.3750 vs champion's 0.2500; fairness within bounds"
    )


def test_just_past_every_bound_is_refused_naming_each_gate():
    past = ModelEvidence(1050.0, auc=0.49, dp_ratio=0.74, eo_difference=0.126, brier=0.376)
    decision = _gate(past)
    assert not decision.promote
    assert decision.failures == [
        "fairness: demographic-parity ratio 0.740 is below 0.75",
        "fairness: equalised-odds difference 0.126 is above 0.125",
        "profit: 1,050.0 per 1,000 does not beat champion's 1,000.0 by more than 50",
        "AUC: 0.4900 is lower than champion's 0.7500 by more than 0.25",
        "calibration: Brier score 0.3760 is worse than champion's 0.2500 by more than 0.125",
    ]
    assert decision.reason == "refused — " + "; ".join(decision.failures)


def test_an_equal_brier_score_passes_the_calibration_gate():
    same = ModelEvidence(2000.0, auc=0.75, brier=0.25)
    assert _gate(same).promote
    # without both Brier scores, or without a tolerance, calibration is not gated
    assert _gate(ModelEvidence(2000.0, auc=0.75, brier=0.9), ModelEvidence(1000.0, 0.75)).promote
    untolerant = THRESHOLDS.model_copy(update={"brier_tolerance": None})
    worse = ModelEvidence(2000.0, auc=0.75, brier=0.9)
    assert promotion_gate(worse, CHAMPION, untolerant, **FAIRNESS).promote


def test_without_a_champion_only_fairness_decides_and_the_reason_says_so():
    assert _gate(ModelEvidence(None, 0.5), None) == (
        promotion_gate(ModelEvidence(None, 0.5), None, THRESHOLDS, **FAIRNESS)
    )
    decision = _gate(ModelEvidence(None, 0.5), None)
    assert (decision.promote, decision.reason, decision.failures) == (
        True,
        "no comparable champion",
        [],
    )
    unfair = _gate(ModelEvidence(None, 0.9, dp_ratio=0.5, eo_difference=0.5), None)
    assert unfair.promote is False
    assert unfair.failures == [
        "fairness: demographic-parity ratio 0.500 is below 0.75",
        "fairness: equalised-odds difference 0.500 is above 0.125",
    ]
    assert unfair.reason == "no comparable champion, but " + "; ".join(unfair.failures)


def test_auc_decides_when_either_side_has_no_profit():
    # the challenger has a profit but the champion does not: profits cannot be compared
    decision = _gate(ModelEvidence(5000.0, auc=0.9), ModelEvidence(None, auc=0.75))
    assert decision.promote
    assert decision.reason == (
        "validation AUC 0.9000 beats champion's 0.7500 by more than 0.125; fairness within bounds"
    )
    # beating by exactly the margin is not beating it
    at_the_margin = _gate(ModelEvidence(None, auc=0.875), ModelEvidence(5000.0, auc=0.75))
    assert at_the_margin.failures == [
        "AUC: validation AUC 0.8750 does not beat champion's 0.7500 by more than 0.125"
    ]


def test_spread_edge_cases():
    # nobody approved in any group: no disparity in approvals
    assert _spread([0.0, 0.0], [None, None], [None, None]) == (0.0, 0.0)  # nobody approved
    # undefined rates (None or NaN) are left out; one defined rate has no spread
    assert _spread([0.5, 0.25], [0.9, None], [np.nan, 0.5]) == (0.5, 0.0)
    assert _spread([0.5, 0.5], [0.9, 0.6, None], [0.1, np.nan, 0.3]) == pytest.approx((1.0, 0.3))


# Two groups of 8: both approve the same share of defaulters (FPR 1/2), but x approves all its
# repayers and y half of them, so equalised odds is decided by the TPR gap of 1/2.
GROUPS = pd.DataFrame(
    {
        "single": ["all"] * 16,  # one group only: cannot be compared, skipped
        "g": ["x"] * 8 + ["y"] * 8,
    }
)
Y_BAD = np.array([0, 0, 0, 0, 1, 1, 1, 1] * 2)
APPROVED = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0], dtype=bool)


def test_worst_group_fairness_sees_a_true_positive_rate_gap():
    ratio, odds = worst_group_fairness(APPROVED, Y_BAD, group_masks(GROUPS, 1))
    reference = {
        "ratio": demographic_parity_ratio(1 - Y_BAD, APPROVED, sensitive_features=GROUPS["g"]),
        "odds": equalized_odds_difference(1 - Y_BAD, APPROVED, sensitive_features=GROUPS["g"]),
    }
    assert (ratio, odds) == pytest.approx((reference["ratio"], reference["odds"]))
    assert (ratio, odds) == pytest.approx((4 / 6, 0.5))
    # the mirror case: equal TPR, an FPR gap of 1/2
    mirrored = worst_group_fairness(APPROVED, 1 - Y_BAD, group_masks(GROUPS, 1))
    assert mirrored == pytest.approx((4 / 6, 0.5))


def test_a_group_without_repayers_or_defaulters_has_no_rate():
    y_bad = np.array([0, 0, 0, 0, 1, 1, 1, 1] + [1] * 8)  # group y: defaulters only
    ratio, odds = worst_group_fairness(APPROVED, y_bad, group_masks(GROUPS, 1))
    # TPR only in x (1.0): no gap; FPR x 1/2, y 1/2: no gap
    assert (ratio, odds) == pytest.approx((4 / 6, 0.0))


def test_groups_exactly_at_the_minimum_size_are_gated():
    masks = group_masks(GROUPS, 8)
    assert [len(m) for m in masks] == [1, 2]
    assert [len(m) for m in group_masks(GROUPS, 9)] == [1, 0]
    assert worst_group_fairness(APPROVED, Y_BAD, group_masks(GROUPS, 9)) == (None, None)
    report = {
        "g": {
            "by_group": {
                "x": {"count": 8, "selection_rate": 0.75, "tpr": 1.0, "fpr": 0.5},
                "y": {"count": 8, "selection_rate": 0.5, "tpr": 0.5, "fpr": 0.5},
                "z": {"count": 7, "selection_rate": 0.0, "tpr": 0.0, "fpr": 0.0},
            }
        }
    }
    assert worst_group_fairness_from_report(report, 8) == pytest.approx((4 / 6, 0.5))
    assert worst_group_fairness_from_report(report, 9) == (None, None)
    assert worst_group_fairness_from_report(None, 1) == (None, None)
