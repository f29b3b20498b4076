"""The cost model, profit curve and best threshold on hand-computed cases."""

import numpy as np
import pandas as pd
import pytest

from riskloop.data.scenario import CostSpec, Scenario
from riskloop.evaluation import business

COSTS = CostSpec(loss_given_default=0.5, margin=0.01, term=12, exposure=1.0, review_cost=2.0)


def test_expected_profit_by_hand():
    # rows: good 1000×10 months, bad 2000, good 500×20 months, bad 100 (declined)
    y_bad = np.array([0, 1, 0, 1])
    exposure = np.array([1000.0, 2000.0, 500.0, 100.0])
    term = np.array([10.0, 10.0, 20.0, 10.0])
    approved = np.array([True, True, True, False])
    # +0.01·1000·10 = 100; −0.5·2000 = −1000; +0.01·500·20 = 100; declined 0; review 4 × 2
    assert business.expected_profit(y_bad, approved, exposure, term, COSTS) == pytest.approx(-808)
    assert business.profit_per_1000(y_bad, approved, exposure, term, COSTS) == pytest.approx(
        -808 / 4 * 1000
    )
    summary = business.policy_summary(y_bad, approved, exposure, term, COSTS)
    assert summary["approval_rate"] == 0.75
    assert summary["bad_rate_approved"] == pytest.approx(1 / 3)
    # declining everyone still pays the review cost
    nobody = np.zeros(4, dtype=bool)
    assert business.expected_profit(y_bad, nobody, exposure, term, COSTS) == -8.0


def test_best_threshold_declines_exactly_the_loss_makers():
    # scores sorted with the outcome: approving the two lowest (goods) earns 100 each, the
    # third (bad) loses 500, the fourth (good) earns 100 → best is approve the first two.
    probability = np.array([0.1, 0.2, 0.6, 0.7])
    y_bad = np.array([0, 0, 1, 0])
    exposure = np.array([1000.0, 1000.0, 1000.0, 1000.0])
    term = np.full(4, 10.0)
    threshold, profit = business.best_threshold(probability, y_bad, exposure, term, COSTS)
    assert threshold == pytest.approx(0.4)  # midway between 0.2 and 0.6
    assert profit == pytest.approx(200 - 8)
    # with an approval floor of 100 % the only eligible choice is approve everyone
    threshold, profit = business.best_threshold(
        probability, y_bad, exposure, term, COSTS, min_approval_rate=1.0
    )
    assert threshold > 0.7 and profit == pytest.approx(300 - 500 - 8)
    # a floor of 60 % rules out approving two; of three (−308) and four (−208), four wins
    threshold, profit = business.best_threshold(
        probability, y_bad, exposure, term, COSTS, min_approval_rate=0.6
    )
    assert threshold > 0.7 and profit == pytest.approx(-208)
    # if the fourth applicant defaults too, approving three is the better eligible choice
    threshold, profit = business.best_threshold(
        probability, np.array([0, 0, 1, 1]), exposure, term, COSTS, min_approval_rate=0.6
    )
    assert threshold == pytest.approx(0.65) and profit == pytest.approx(200 - 500 - 8)


def test_best_threshold_matches_brute_force_on_random_data():
    rng = np.random.default_rng(3)
    probability = np.round(rng.random(300), 2)  # ties on purpose
    y_bad = (rng.random(300) < probability).astype(int)
    exposure = rng.uniform(100, 5000, 300)
    term = rng.integers(6, 60, 300).astype(float)
    threshold, profit = business.best_threshold(probability, y_bad, exposure, term, COSTS)
    brute = max(
        business.expected_profit(y_bad, probability < t, exposure, term, COSTS)
        for t in np.r_[np.unique(probability), 1.01]
    )
    assert profit == pytest.approx(brute)
    assert business.expected_profit(
        y_bad, probability < threshold, exposure, term, COSTS
    ) == pytest.approx(profit)


def test_profit_curve_points_agree_with_the_summary():
    probability = np.array([0.1, 0.2, 0.6, 0.7])
    y_bad = np.array([0, 0, 1, 0])
    exposure, term = np.full(4, 1000.0), np.full(4, 10.0)
    curve = business.profit_curve(probability, y_bad, exposure, term, COSTS, [0.0, 0.5, 1.0])
    assert curve["approval_rate"] == [0.0, 0.5, 1.0]
    assert curve["profit_per_1000"] == pytest.approx([-2000.0, 48000.0, -52000.0])
    assert curve["bad_rate_approved"] == pytest.approx([0.0, 0.0, 0.25])


def test_bootstrap_interval_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small = business.bootstrap_ci(rng.normal(5, 1, 100), n_bootstrap=500, scale=1.0)
    large = business.bootstrap_ci(rng.normal(5, 1, 10_000), n_bootstrap=500, scale=1.0)
    assert small["low"] < small["estimate"] < small["high"]
    # the 95 % interval of a mean of N(5, 1) has half-width ≈ 1.96/√n
    assert (small["high"] - small["low"]) / 2 == pytest.approx(1.96 / 10, rel=0.2)
    assert (large["high"] - large["low"]) < (small["high"] - small["low"]) / 5


def test_exposure_and_term_come_from_the_scenario(credit_scenario):
    frame = pd.DataFrame({"Amount": [1000, None], "Time": [36, 24]})
    exposure, term = business.exposure_and_term(frame, credit_scenario)
    assert exposure.tolist() == [1000.0, credit_scenario.costs.exposure]
    assert term.tolist() == [36.0, 24.0]
    bare = Scenario.model_validate(
        {"name": "x", "model_name": "x", "data": {"path": "x", "target": "y", "positive_class": 1}}
    )
    exposure, term = business.exposure_and_term(frame, bare)
    assert exposure.tolist() == [1.0, 1.0] and term.tolist() == [12.0, 12.0]


# --------------------------------------------------------------------------- edges of the model
def _scenario(**extra):
    base = {
        "name": "x",
        "model_name": "x",
        "data": {"path": "x", "target": "y", "positive_class": 1},
    }
    return Scenario.model_validate({**base, **extra})


def test_a_cost_model_exists_only_when_the_scenario_file_sets_one():
    assert not business.has_cost_model(_scenario())
    assert business.has_cost_model(_scenario(costs={"margin": 0.02}))


def test_named_columns_missing_from_the_frame_fall_back_to_the_constants():
    scenario = _scenario(
        data={"path": "x", "target": "y", "positive_class": 1, "exposure": "Amount"},
        costs={"exposure": 7.0, "term": 3.0, "term_column": "Months"},
    )
    frame = pd.DataFrame({"Other": [1, 2]})
    exposure, term = business.exposure_and_term(frame, scenario)
    assert exposure.tolist() == [7.0, 7.0] and term.tolist() == [3.0, 3.0]
    with_columns = pd.DataFrame({"Amount": [10, None], "Months": [None, 24]})
    exposure, term = business.exposure_and_term(with_columns, scenario)
    assert exposure.tolist() == [10.0, 7.0] and term.tolist() == [3.0, 24.0]
    # text that is not a number (a CSV's "n/a") counts as missing, not as an error
    junk = pd.DataFrame({"Amount": ["n/a", "25"], "Months": ["36", "?"]})
    exposure, term = business.exposure_and_term(junk, scenario)
    assert exposure.tolist() == [7.0, 25.0] and term.tolist() == [36.0, 3.0]


def test_row_gain_and_profit_by_hand():
    y_bad = np.array([0, 1, 0])
    exposure, term = np.array([1000.0, 2000.0, 500.0]), np.array([10.0, 10.0, 20.0])
    gain = business.approval_gain(y_bad, exposure, term, COSTS)
    assert gain.tolist() == pytest.approx([100.0, -1000.0, 100.0])
    rows = business.row_profit(y_bad, np.array([1, 1, 0]), exposure, term, COSTS)
    assert rows.tolist() == pytest.approx([98.0, -1002.0, -2.0])
    summary = business.policy_summary(y_bad, np.array([1, 1, 0]), exposure, term, COSTS)
    assert summary["profit_total"] == pytest.approx(-906.0)
    assert summary["profit_per_1000"] == pytest.approx(-906.0 / 3 * 1000)
    assert summary["n"] == 3
    nobody = business.policy_summary(y_bad, np.zeros(3, bool), exposure, term, COSTS)
    assert nobody["bad_rate_approved"] == 0.0 and nobody["approval_rate"] == 0.0


def test_threshold_table_lists_every_reachable_decision():
    probability = np.array([0.7, 0.2, 0.2, 0.5])  # a tie: 1 of the two 0.2s alone is unreachable
    y_bad = np.array([1, 0, 1, 0])
    exposure, term = np.full(4, 1000.0), np.full(4, 10.0)
    table = business._threshold_table(probability, y_bad, exposure, term, COSTS)
    assert table["approved"].tolist() == [0.0, 2.0, 3.0, 4.0]
    assert table["threshold"].tolist() == pytest.approx([0.2, 0.35, 0.6, np.nextafter(0.7, 1)])
    assert table["threshold"][-1] > 0.7
    # gains in score order: 100 and −500 (the tie), 100, −500; review 4 × 2
    assert table["profit_total"].tolist() == pytest.approx([-8.0, -408.0, -308.0, -808.0])
    assert table["approval_rate"].tolist() == [0.0, 0.5, 0.75, 1.0]
    assert table["bad_rate_approved"].tolist() == pytest.approx([0.0, 0.5, 1 / 3, 0.5])


def test_approval_floor_tolerates_the_rounding_of_a_computed_share():
    probability = np.linspace(0.05, 0.95, 10)
    y_bad = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    exposure, term = np.full(10, 1000.0), np.full(10, 10.0)
    # 0.1 · 3 is 0.30000000000000004 in floating point, a hair above 3 / 10
    threshold, profit = business.best_threshold(
        probability, y_bad, exposure, term, COSTS, min_approval_rate=0.1 * 3
    )
    assert profit == pytest.approx(300 - 20)
    assert probability[2] < threshold < probability[3]


def test_acceptable_picks_the_most_profitable_allowed_threshold():
    probability = np.array([0.1, 0.2, 0.6, 0.7])
    y_bad = np.array([0, 0, 1, 0])
    exposure, term = np.full(4, 1000.0), np.full(4, 10.0)
    # profits by approvals 0..4: −8, 92, 192, −308, −208
    tried = []

    def below(limit):
        def acceptable(threshold):
            tried.append(threshold)
            return threshold < limit

        return acceptable

    assert business.best_threshold(
        probability, y_bad, exposure, term, COSTS, acceptable=below(0.3)
    ) == pytest.approx((0.15, 92.0))
    assert tried == pytest.approx([0.4, 0.15])  # by profit, best first
    # nothing acceptable: the unconstrained best, for the gate to report
    assert business.best_threshold(
        probability, y_bad, exposure, term, COSTS, acceptable=lambda t: False
    ) == pytest.approx((0.4, 192.0))
    # thresholds ruled out by the approval floor are never offered to `acceptable`
    tried.clear()
    floored = business.best_threshold(
        probability, y_bad, exposure, term, COSTS, min_approval_rate=0.75, acceptable=below(0.0)
    )
    assert tried == pytest.approx([np.nextafter(0.7, 1), 0.65])
    assert floored == pytest.approx((np.nextafter(0.7, 1), -208.0))  # the best eligible one


def test_acceptable_prefers_more_approvals_among_equal_profits():
    probability = np.array([0.1, 0.2, 0.3, 0.4])
    y_bad = np.array([0, 1, 0, 0])
    exposure = np.array([1000.0, 200.0, 1000.0, 1000.0])  # the bad one loses exactly 100
    term = np.full(4, 10.0)
    # profits by approvals 0..4: −8, 92, −8, 92, 192 at thresholds 0.1, 0.15, 0.25, 0.35, >0.4
    tried = []

    def acceptable(threshold):
        tried.append(threshold)
        return threshold < 0.4

    threshold, profit = business.best_threshold(
        probability, y_bad, exposure, term, COSTS, acceptable=acceptable
    )
    assert (threshold, profit) == pytest.approx((0.35, 92.0))  # 3 approved, not 1
    assert tried == pytest.approx([np.nextafter(0.4, 1), 0.35])


def test_profit_curve_defaults_to_a_hundredth_grid():
    probability = np.array([0.1, 0.2, 0.6, 0.7])
    curve = business.profit_curve(
        probability, np.array([0, 0, 1, 0]), np.full(4, 1000.0), np.full(4, 10.0), COSTS
    )
    assert curve["thresholds"] == pytest.approx(np.linspace(0, 1, 101).tolist())
    assert curve["approval_rate"][15] == 0.25 and curve["approval_rate"][-1] == 1.0
    # a score equal to the threshold is declined (approve means probability < threshold)
    at = business.profit_curve(
        probability, np.array([0, 0, 1, 0]), np.full(4, 1000.0), np.full(4, 10.0), COSTS, [0.2]
    )
    assert at["approval_rate"] == [0.25]


def test_bootstrap_interval_level_and_paired_difference():
    rng = np.random.default_rng(1)
    values = rng.normal(2.0, 1.0, 1000)
    ci = business.bootstrap_ci(values, n_bootstrap=2000, seed=4, level=0.5)
    assert ci["estimate"] == pytest.approx(1000 * values.mean())
    assert (ci["level"], ci["n_bootstrap"]) == (0.5, 2000)
    # the 50 % interval of a mean of N(2, 1) has half-width ≈ 0.6745/√n (×1000 per 1,000)
    assert (ci["high"] - ci["low"]) / 2 == pytest.approx(1000 * 0.6745 / np.sqrt(1000), rel=0.1)
    assert ci["low"] < ci["estimate"] < ci["high"]
    assert business.bootstrap_ci(values, n_bootstrap=2000, seed=4, level=0.5) == ci
    assert business.bootstrap_ci(values, n_bootstrap=2000, seed=5, level=0.5) != ci

    y_bad = (rng.random(2500) < 0.2).astype(int)
    exposure, term = rng.uniform(100, 3000, 2500), np.full(2500, 12.0)
    approved_a, approved_b = rng.random(2500) < 0.8, rng.random(2500) < 0.6
    difference = business.paired_difference(
        y_bad, approved_a, approved_b, exposure, term, COSTS, n_bootstrap=300, seed=2
    )
    expected = business.profit_per_1000(
        y_bad, approved_a, exposure, term, COSTS
    ) - business.profit_per_1000(y_bad, approved_b, exposure, term, COSTS)
    assert difference["estimate"] == pytest.approx(expected)
    assert difference["n_bootstrap"] == 300
    rows = business.row_profit(y_bad, approved_a, exposure, term, COSTS) - business.row_profit(
        y_bad, approved_b, exposure, term, COSTS
    )
    assert difference == business.bootstrap_ci(rows, n_bootstrap=300, seed=2)
