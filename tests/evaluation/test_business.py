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
