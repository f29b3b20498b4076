"""Fairness layer: numbers against fairlearn, group cutting, the gate, bootstrap, mitigation.

Convention under test: a selection is an APPROVAL and the true label is REPAYMENT
(y_good = 1 - y_bad), so fairlearn is always called with ``y_true=1 - y_bad``,
``y_pred=approved``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_ratio,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from riskloop.evaluation.fairness import (
    fairness_gate,
    fairness_report,
    mitigate_with_threshold_optimizer,
    sensitive_groups,
)

# Hand-made: 3 groups of 6; y_bad (1 = default) and approved (1 = approved).
#            a a a a a a | b b b b b b | c c c c c c
GROUP = np.array(list("aaaaaabbbbbbcccccc"))
Y_BAD = np.array([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 1])
APPROVED = np.array([1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0])
PROBABILITY = np.array(
    [0.1, 0.2, 0.6, 0.3, 0.7, 0.8, 0.1, 0.2, 0.3, 0.4, 0.3, 0.9, 0.2, 0.6, 0.7, 0.8, 0.6, 0.9]
)


@pytest.fixture()
def hand_report():
    return fairness_report(
        Y_BAD, APPROVED, PROBABILITY, pd.DataFrame({"G": GROUP}), n_bootstrap=200, seed=0
    )


def test_numbers_equal_fairlearn_under_the_approval_repayment_convention(hand_report):
    y_good = 1 - Y_BAD
    report = hand_report["G"]
    assert report["demographic_parity_ratio"] == pytest.approx(
        demographic_parity_ratio(y_good, APPROVED, sensitive_features=GROUP), abs=1e-12
    )
    assert report["equalized_odds_difference"] == pytest.approx(
        equalized_odds_difference(y_good, APPROVED, sensitive_features=GROUP), abs=1e-12
    )
    reference = MetricFrame(
        metrics={"sr": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y_good,
        y_pred=APPROVED,
        sensitive_features=GROUP,
    ).by_group
    for group in "abc":
        entry = report["by_group"][group]
        assert entry["count"] == 6
        assert entry["selection_rate"] == pytest.approx(reference.loc[group, "sr"], abs=1e-12)
        assert entry["tpr"] == pytest.approx(reference.loc[group, "tpr"], abs=1e-12)
        assert entry["fpr"] == pytest.approx(reference.loc[group, "fpr"], abs=1e-12)
    # By hand, group a: 2 of 3 repayers approved (TPR), 1 of 3 defaulters approved (FPR).
    a = report["by_group"]["a"]
    assert (a["selection_rate"], a["tpr"], a["fpr"]) == pytest.approx((0.5, 2 / 3, 1 / 3))
    # Selection rates 3/6, 5/6, 1/6 → DP ratio 0.2; TPR spread 1 − 0.5, FPR spread 0.5 − 0.
    assert report["demographic_parity_ratio"] == pytest.approx(0.2)
    assert report["equalized_odds_difference"] == pytest.approx(0.5)


def test_group_auc_matches_sklearn(hand_report):
    from sklearn.metrics import roc_auc_score

    for group in "abc":
        rows = np.equal(GROUP, group)
        assert hand_report["G"]["by_group"][group]["auc"] == pytest.approx(
            roc_auc_score(Y_BAD[rows], PROBABILITY[rows]), abs=1e-12
        )


def test_bootstrap_intervals_contain_the_estimate_and_repeat_with_the_seed(hand_report):
    for entry in hand_report["G"]["by_group"].values():
        for metric in ("selection_rate", "tpr", "fpr"):
            low, high = entry[f"{metric}_ci"]
            assert low <= entry[metric] <= high
    low, high = hand_report["G"]["demographic_parity_ratio_ci"]
    assert low <= hand_report["G"]["demographic_parity_ratio"] <= high
    again = fairness_report(
        Y_BAD, APPROVED, PROBABILITY, pd.DataFrame({"G": GROUP}), n_bootstrap=200, seed=0
    )
    assert again == hand_report
    other = fairness_report(
        Y_BAD, APPROVED, PROBABILITY, pd.DataFrame({"G": GROUP}), n_bootstrap=200, seed=1
    )
    assert other != hand_report  # another seed draws other replicates...
    assert other["G"]["demographic_parity_ratio"] == hand_report["G"]["demographic_parity_ratio"]


def test_one_class_group_gets_none_not_a_crash():
    groups = pd.DataFrame({"G": ["x", "x", "x", "y", "y", "y"]})
    y_bad = np.array([0, 0, 0, 0, 1, 1])  # group x has no defaulters
    report = fairness_report(y_bad, np.array([1, 1, 0, 1, 0, 1]), np.linspace(0, 1, 6), groups)
    x = report["G"]["by_group"]["x"]
    assert x["fpr"] is None and x["auc"] is None and x["tpr"] == pytest.approx(2 / 3)
    assert report["G"]["undefined"] == {"fpr": ["x"]}
    # Only TPR is comparable across groups: |2/3 − 1/1|.
    assert report["G"]["equalized_odds_difference"] == pytest.approx(1 / 3)


def test_age_is_cut_at_inner_edges_with_edges_in_the_middle_group(credit_scenario):
    frame = pd.DataFrame(
        {"Age": [24, 25, 60, 61, None], "Marital": ["single", None, "married", "widow", "x"]}
    )
    groups = sensitive_groups(frame, credit_scenario)
    assert list(groups.columns) == ["Age", "Marital"]
    assert groups["Age"].tolist() == ["under 25", "25-60", "25-60", "over 60", "missing"]
    assert groups["Marital"].tolist() == ["single", "missing", "married", "widow", "x"]


def test_missing_sensitive_column_is_named(credit_scenario):
    with pytest.raises(KeyError, match="'Marital'"):
        sensitive_groups(pd.DataFrame({"Age": [30]}), credit_scenario)


def test_gate_refuses_an_unfair_report_and_names_what_broke(credit_scenario, hand_report):
    passed, failures = fairness_gate(hand_report, credit_scenario)
    assert not passed
    assert failures == [
        "G: demographic_parity_ratio 0.200 is below the minimum 0.8",
        "G: equalized_odds_difference 0.500 is above the maximum 0.1",
    ]


def test_gate_accepts_a_fair_report(credit_scenario):
    groups = np.repeat(["a", "b"], 8)
    y_bad = np.tile([0, 0, 0, 0, 0, 0, 1, 1], 2)
    approved = np.tile([1, 1, 1, 1, 1, 0, 0, 0], 2)  # identical rates in both groups
    report = fairness_report(y_bad, approved, np.tile(np.linspace(0, 1, 8), 2),
                             pd.DataFrame({"G": groups}), n_bootstrap=0)  # fmt: skip
    assert report["G"]["demographic_parity_ratio"] == pytest.approx(1.0)
    assert report["G"]["equalized_odds_difference"] == pytest.approx(0.0)
    assert fairness_gate(report, credit_scenario) == (True, [])


def test_threshold_optimizer_improves_parity_on_a_biased_example():
    rng = np.random.default_rng(0)
    n = 2000
    group = pd.Series(rng.choice(["majority", "minority"], n, p=[0.7, 0.3]), name="G")
    # The model over-states the minority's risk: a shared threshold approves few of them.
    true_risk = rng.beta(2, 6, n)
    y_bad = (rng.random(n) < true_risk).astype(int)
    probability = np.clip(true_risk + 0.3 * (group == "minority").to_numpy(), 0, 0.99)
    approved = (probability < 0.3).astype(int)
    calls = []

    def profit(decisions):
        calls.append(decisions.copy())
        return float(np.sum(decisions * np.where(y_bad == 1, -6.0, 1.0)))

    result = mitigate_with_threshold_optimizer(y_bad, probability, approved, group, profit)
    before, after = result["before"], result["after"]
    assert result["report_only"] is True and result["attribute"] == "G"
    assert before["demographic_parity_ratio"] < 0.3
    assert after["demographic_parity_ratio"] > 0.8
    assert before["approval_rate"] == pytest.approx(approved.mean())
    assert before["profit"] == profit(approved.astype(bool))
    assert len(calls) == 3 and calls[0].dtype == bool
