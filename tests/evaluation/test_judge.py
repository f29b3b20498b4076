"""The retraining judge: refusals that say which, floors, decisions on the lower bound of paired
bootstrap intervals, and a fairness verdict that degenerate models cannot pass."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from riskloop.evaluation.gates import (
    GateThresholds,
    ModelEvidence,
    load_judge_thresholds,
    promotion_gate,
)
from riskloop.evaluation.judge import (
    FairnessBounds,
    FairnessFigures,
    JudgedRows,
    ScoredRows,
    fairness_verdict,
    judge_promotion,
)
from riskloop.evaluation.paired_bootstrap import resample_counts, weighted_auc

PROMOTION = Path(__file__).parents[2] / "conf" / "base" / "parameters_promotion.yml"
GATES = GateThresholds(
    min_profit_improvement=0.0, auc_tolerance=0.01, min_auc_improvement=0.0, brier_tolerance=None
)
# the project's thresholds, with a small bootstrap (the decision rule is the same)
JUDGE = load_judge_thresholds(PROMOTION).model_copy(update={"n_resamples": 300})
BOUNDS = FairnessBounds(0.8, 0.1, 0.05, 0.05)


def _world(n: int, seed: int, noise_champion: float, noise_challenger: float):
    """Outcomes from a known risk, two models that see it through different noise, their
    approvals at PD < 0.5, a gain of +100 per approved repayer and -300 per approved bad."""
    rng = np.random.default_rng(seed)
    risk = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(3 * risk - 1.0)))).astype(int)

    def model(noise):
        p = 1 / (1 + np.exp(-(3 * risk - 1.0 + rng.normal(scale=noise, size=n))))
        return ScoredRows(p, p < 0.35)

    groups = pd.DataFrame({"age": np.where(rng.random(n) < 0.5, "young", "old")})
    rows = JudgedRows(y, np.where(y == 1, -300.0, 100.0), 0.0, groups, 30)
    return rows, model(noise_champion), model(noise_challenger)


def test_weighted_auc_is_the_auc_of_the_resampled_rows():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 400)
    score = np.round(rng.random(400) + 0.4 * y, 1)  # many ties
    assert weighted_auc(y, score, np.ones(400)) == pytest.approx(roc_auc_score(y, score))
    counts = resample_counts(400, 4, seed=1)
    for b in range(4):
        rows = np.repeat(np.arange(400), counts[b])
        assert weighted_auc(y, score, counts)[b] == pytest.approx(
            roc_auc_score(y[rows], score[rows])
        )
    assert np.isnan(weighted_auc(np.zeros(5), np.arange(5.0), np.ones(5)))


@pytest.mark.slow
def test_the_interval_covers_the_true_auc_difference():
    """On 120 worlds of 300 rows, the 90 % interval of the AUC difference covers the
    difference measured on 200,000 rows of the same world about 90 % of the time."""
    big, champion, challenger = _world(200_000, 0, 1.5, 0.5)
    ones = np.ones(len(big.y_bad))
    truth = weighted_auc(big.y_bad, challenger.probability, ones) - weighted_auc(
        big.y_bad, champion.probability, ones
    )
    covered = 0
    thresholds = JUDGE.model_copy(update={"n_resamples": 200, "level": 0.9})
    for seed in range(1, 121):
        rows, champion, challenger = _world(300, seed, 1.5, 0.5)
        judgement = judge_promotion(challenger, champion, rows, GATES, thresholds, BOUNDS)
        interval = judgement.intervals["auc_difference"]
        covered += interval["low"] <= truth <= interval["high"]
    assert 0.82 <= covered / 120 <= 0.97


def test_a_clearly_better_challenger_is_promoted_with_its_intervals():
    rows, champion, challenger = _world(1500, 5, 2.0, 0.3)
    judgement = judge_promotion(challenger, champion, rows, GATES, JUDGE, BOUNDS)
    assert judgement.promote, judgement.reason
    profit = judgement.intervals["profit_difference"]
    assert profit["low"] > 0 and profit["n_resamples"] == 300 and profit["level"] == JUDGE.level
    assert {"auc_difference", "dp_ratio_change", "eo_difference_change"} <= set(judgement.intervals)


def test_a_better_point_estimate_is_refused_when_the_lower_bound_misses_the_margin():
    rows, champion, challenger = _world(300, 18, 1.0, 0.8)  # a little better, few rows
    judgement = judge_promotion(challenger, champion, rows, GATES, JUDGE, BOUNDS)
    profit = judgement.intervals["profit_difference"]
    assert profit["estimate"] == pytest.approx(2000.0)  # the point estimate says "promote"
    assert profit["low"] < 0 < profit["high"]
    assert judgement.failures == [
        "profit: the lower bound of the profit difference per 1,000, -4,666.7, does not clear 0"
        " (estimate 2,000.0 (90% interval -4,666.7 to 8,016.7, 300 paired resamples))"
    ]


@pytest.mark.parametrize(
    ("y", "approved", "probability", "message"),
    [
        (np.zeros(200), None, None, "one-class holdout: all 200 outcomes are 0 (repaid)"),
        (None, np.ones(200, bool), None, "degenerate model: it approves 100.0% of the 200"),
        (None, np.zeros(200, bool), None, "degenerate model: it declines 100.0% of the 200"),
        (None, None, np.full(200, np.nan), "NaN metric"),
    ],
)
def test_unjudgeable_cases_are_refused_with_a_message_that_says_which(
    y, approved, probability, message
):
    rows, champion, challenger = _world(200, 2, 1.0, 1.0)
    if y is not None:
        rows = JudgedRows(y, rows.approval_gain, 0.0, rows.groups, 30)
    challenger = ScoredRows(
        challenger.probability if probability is None else probability,
        challenger.approved if approved is None else approved,
    )
    judgement = judge_promotion(challenger, champion, rows, GATES, JUDGE, BOUNDS)
    assert not judgement.promote
    assert message in judgement.reason


def test_the_promotion_gate_refuses_nan_metrics():
    """The registration pipeline's gate: `nan < x` is False, so a NaN AUC used to pass."""
    nan_auc = ModelEvidence(-5000.0, float("nan"))
    decision = promotion_gate(
        nan_auc, ModelEvidence(-300000.0, float("nan")), GATES, dp_ratio_min=0.8,
        eo_difference_max=0.1,
    )  # fmt: skip
    assert not decision.promote and "NaN metric: the challenger's auc is nan" in decision.reason


def test_floors_apply_whatever_the_champion():
    rows, champion, challenger = _world(600, 4, 3.0, 2.5)
    strict = JUDGE.model_copy(update={"auc_floor": 0.95, "approval_rate_max": 0.5})
    judgement = judge_promotion(challenger, None, rows, GATES, strict, BOUNDS)
    assert not judgement.promote
    text = " ".join(judgement.failures)
    assert "floor: AUC" in text and "below the floor 0.95" in text
    assert "floor: approval rate" in text and "outside [5%, 50%]" in text
    losing = JudgedRows(rows.y_bad, np.full(600, -1.0), 0.0, rows.groups, 30)
    judgement = judge_promotion(challenger, None, losing, GATES, JUDGE, BOUNDS)
    assert "best non-ML policy (decline everyone: 0.0)" in judgement.reason


def test_a_challenger_confidently_worse_on_the_trusted_rows_is_refused():
    rows, champion, challenger = _world(1500, 5, 2.0, 0.3)
    trusted_rows, trusted_champion, trusted_challenger = _world(1500, 6, 0.3, 2.0)
    judgement = judge_promotion(
        challenger, champion, rows, GATES, JUDGE, BOUNDS,
        (trusted_challenger, trusted_champion, trusted_rows),
    )  # fmt: skip
    assert not judgement.promote
    assert "trusted rows: the challenger's AUC is confidently below" in judgement.reason
    assert judgement.intervals["trusted_auc_difference"]["high"] < 0


# --------------------------------------------------------------------------- fairness
def test_a_model_declining_one_group_entirely_is_not_fair():
    rows, champion, challenger = _world(800, 8, 1.0, 0.5)
    young = rows.groups["age"].to_numpy() == "young"
    unfair = ScoredRows(challenger.probability, challenger.approved & ~young)
    judgement = judge_promotion(unfair, champion, rows, GATES, JUDGE, BOUNDS)
    assert not judgement.promote
    assert "degenerate selection in group age=young (0% approved" in judgement.reason
    assert "demographic-parity ratio 0.000 is below 0.8" in judgement.reason


def test_nobody_approved_anywhere_is_degenerate_not_parity():
    figures = FairnessFigures(
        0.0, 0.0, ("age=old (0% approved of 40)", "age=young (0% approved of 60)")
    )
    failures = fairness_verdict(figures, FairnessFigures(0.9, 0.05), BOUNDS)
    assert sum("degenerate selection" in f for f in failures) == 2
    assert any("below 0.8" in f for f in failures)


def test_an_improving_challenger_is_not_blocked_when_the_champion_fails_the_bound():
    champion = FairnessFigures(0.60, 0.20)  # fails both absolute bounds (0.8, 0.1)
    better = FairnessFigures(0.70, 0.15)
    assert fairness_verdict(better, champion, BOUNDS) == []
    worse = FairnessFigures(0.50, 0.30)
    failures = fairness_verdict(worse, champion, BOUNDS)
    assert any("demographic-parity ratio 0.500 is below 0.8" in f for f in failures)
    assert any("worse than the champion's 0.600" in f for f in failures)
    assert fairness_verdict(better, None, BOUNDS)  # without a champion the bounds hold
