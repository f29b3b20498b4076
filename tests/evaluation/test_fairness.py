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


# --------------------------------------------------------------------------- against references
def test_bootstrap_replicates_are_the_rates_of_the_resampled_rows():
    from sklearn.metrics import roc_auc_score

    from riskloop.evaluation.fairness import _bootstrap_group

    rows = np.equal(GROUP, "a")
    y_good, approved, probability = 1 - Y_BAD[rows], APPROVED[rows], PROBABILITY[rows]
    draws = _bootstrap_group(y_good, approved, probability, 300, np.random.default_rng(9))
    # the reference draws the same indices and computes each replicate the plain way
    index = np.random.default_rng(9).integers(0, 6, size=(300, 6))
    for b, rows_b in enumerate(index):
        good, chosen = y_good[rows_b], approved[rows_b]
        assert draws["selection_rate"][b] == pytest.approx(chosen.mean())
        tpr = chosen[good == 1].mean() if (good == 1).any() else np.nan
        fpr = chosen[good == 0].mean() if (good == 0).any() else np.nan
        assert draws["tpr"][b] == pytest.approx(tpr, nan_ok=True)
        assert draws["fpr"][b] == pytest.approx(fpr, nan_ok=True)
        both = 0 < good.sum() < 6
        auc = roc_auc_score(1 - good, probability[rows_b]) if both else np.nan
        assert draws["auc"][b] == pytest.approx(auc, nan_ok=True)
    assert np.isnan(draws["tpr"]).any() and np.isnan(draws["fpr"]).any()  # both edges were hit


def test_intervals_are_the_central_95_percent_of_the_defined_replicates(hand_report):
    from riskloop.evaluation.fairness import _bootstrap_group, _interval

    assert _interval(np.r_[np.arange(1001.0), np.nan, np.inf]) == [25.0, 975.0]
    assert _interval(np.array([np.nan, np.inf])) is None
    # the report's intervals, recomputed from the same draws (groups in sorted order, one
    # generator for the whole report)
    rng = np.random.default_rng(0)
    rates = {"selection_rate": [], "tpr": [], "fpr": []}
    for group in "abc":
        rows = np.equal(GROUP, group)
        draws = _bootstrap_group(1 - Y_BAD[rows], APPROVED[rows], PROBABILITY[rows], 200, rng)
        entry = hand_report["G"]["by_group"][group]
        for metric in ("selection_rate", "tpr", "fpr", "auc"):
            finite = draws[metric][np.isfinite(draws[metric])]
            assert entry[f"{metric}_ci"] == pytest.approx(np.percentile(finite, [2.5, 97.5]))
        for metric in rates:
            rates[metric].append(draws[metric])
    selection = np.column_stack(rates["selection_rate"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = selection.min(axis=1) / selection.max(axis=1)
    assert hand_report["G"]["demographic_parity_ratio_ci"] == pytest.approx(
        np.percentile(ratio[np.isfinite(ratio)], [2.5, 97.5])
    )
    tpr, fpr = np.column_stack(rates["tpr"]), np.column_stack(rates["fpr"])
    odds = np.fmax(
        np.nanmax(tpr, axis=1) - np.nanmin(tpr, axis=1),
        np.nanmax(fpr, axis=1) - np.nanmin(fpr, axis=1),
    )
    assert hand_report["G"]["equalized_odds_difference_ci"] == pytest.approx(
        np.percentile(odds[np.isfinite(odds)], [2.5, 97.5])
    )


def test_spread_skips_undefined_groups_and_needs_two():
    from riskloop.evaluation.fairness import _spread

    values = np.array([[0.2, 0.5, np.nan], [0.4, np.nan, np.nan], [0.0, 0.0, 0.0], [0.3, 0.6, 0.9]])
    ratio = _spread(values, "ratio")
    assert ratio[0] == pytest.approx(0.4) and ratio[3] == pytest.approx(1 / 3)
    assert np.isnan(ratio[1]) and np.isnan(ratio[2])  # one defined group; all rates 0
    difference = _spread(values, "difference")
    assert difference[[0, 2, 3]] == pytest.approx([0.3, 0.0, 0.6])
    assert np.isnan(difference[1])


def test_report_refuses_inputs_of_different_lengths():
    with pytest.raises(ValueError) as error:
        fairness_report(Y_BAD, APPROVED[:-1], PROBABILITY, pd.DataFrame({"G": GROUP}))
    assert str(error.value) == "lengths differ: y_bad 18, approved 17, probability 18, groups 18"


def test_missing_sensitive_column_message_names_the_setting_and_the_columns(credit_scenario):
    with pytest.raises(KeyError) as error:
        sensitive_groups(pd.DataFrame({"Age": [30], "Income": [1]}), credit_scenario)
    assert error.value.args[0] == (
        "sensitive attribute 'Marital' (scenario data.sensitive) is not a column of the data;"
        " columns: Age, Income"
    )


def test_gate_bounds_are_inclusive_and_an_unmeasurable_attribute_fails(credit_scenario):
    at_bounds = {"G": {"demographic_parity_ratio": 0.8, "equalized_odds_difference": 0.1}}
    assert fairness_gate(at_bounds, credit_scenario) == (True, [])
    unknown = {"G": {"demographic_parity_ratio": None, "equalized_odds_difference": None}}
    passed, failures = fairness_gate(unknown, credit_scenario)
    assert not passed
    assert failures == [
        "G: demographic_parity_ratio cannot be computed (fewer than two groups); bound is >= 0.8",
        "G: equalized_odds_difference cannot be computed (fewer than two groups with both"
        " outcomes); bound is <= 0.1",
    ]


def test_repayment_score_is_the_given_column():
    from riskloop.evaluation.fairness import _RepaymentScore

    model = _RepaymentScore()
    assert model.fit(np.zeros((2, 1))) is model
    X = np.array([[0.2], [0.5], [0.499]])
    np.testing.assert_allclose(model.predict_proba(X), [[0.8, 0.2], [0.5, 0.5], [0.501, 0.499]])
    assert model.predict(X).tolist() == [0, 1, 0]


def test_threshold_optimizer_report_names_its_settings_and_uses_the_seed():
    rng = np.random.default_rng(1)
    n = 400
    group = pd.Series(rng.choice(["x", "y"], n))  # unnamed: no attribute name to report
    y_bad = (rng.random(n) < 0.3).astype(int)
    probability = np.clip(0.3 * y_bad + 0.2 * (group == "y") + rng.random(n) * 0.5, 0, 1)
    approved = (probability < 0.4).astype(int)

    def profit(decisions):
        return float(np.sum(decisions * np.where(y_bad == 1, -5.0, 1.0)))

    result = mitigate_with_threshold_optimizer(
        y_bad, probability, approved, group, profit, constraint="equalized_odds", seed=3
    )
    assert result["attribute"] is None
    assert (result["constraint"], result["objective"]) == (
        "equalized_odds",
        "balanced_accuracy_score",
    )
    before = fairness_report(y_bad, approved, probability, pd.DataFrame({"g": group}), 0)["g"]
    assert result["before"]["equalized_odds_difference"] == before["equalized_odds_difference"]
    assert result["before"]["demographic_parity_ratio"] == before["demographic_parity_ratio"]
    assert result["after"]["equalized_odds_difference"] < before["equalized_odds_difference"]
    again = mitigate_with_threshold_optimizer(
        y_bad, probability, approved, group, profit, constraint="equalized_odds", seed=3
    )
    assert again == result


def test_cut_keeps_the_rows_index_and_name_and_short_labels_whole():
    from riskloop.evaluation.fairness import cut_numeric

    ages = pd.Series([24, 40, 60, 61, "n/a", None], index=[10, 11, 12, 13, 14, 15], name="Age")
    groups = cut_numeric(ages, [25, 40, 60], ["a", "b", "c", "d"])
    # three edges: 40 opens the third group, 60 closes it; text that is no number is missing
    assert groups.tolist() == ["a", "c", "c", "d", "missing", "missing"]
    assert groups.index.tolist() == [10, 11, 12, 13, 14, 15] and groups.name == "Age"


def test_sensitive_groups_line_up_with_the_frames_rows(credit_scenario):
    frame = pd.DataFrame({"Age": [70, 20], "Marital": ["widow", "single"]}, index=[7, 3])
    groups = sensitive_groups(frame, credit_scenario)
    assert groups.index.tolist() == [7, 3]
    assert groups.loc[3].tolist() == ["under 25", "single"]
