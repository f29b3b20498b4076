"""The champion-vs-challenger comparison uses the challenger's shadow scores of labelled live
applications when there are enough, else the offline holdout (and says which)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from riskloop.data.schema import target_vector
from riskloop.evaluation.gates import load_gate_thresholds, load_judge_thresholds
from riskloop.retraining.comparison import compare, holdout_evidence
from riskloop.retraining.config import RetrainingConfig
from riskloop.scorer import APPROVE, DECLINE
from riskloop.store import PredictionRecord, PredictionStore, ShadowStore
from tests.conftest import PROJECT_DIR

N = 120
GATES = load_gate_thresholds(PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml")
JUDGE = load_judge_thresholds(PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml")


@pytest.fixture()
def shadow_quality() -> str:
    """How the challenger's shadow scores were made: "informed" (from the outcome, far better
    than the champion) or "inverted" (from the opposite outcome, far worse)."""
    return "informed"


@pytest.fixture()
def shadowed(database_url, shadow_quality, credit_frame, credit_scenario, credit_scorer):
    """A store (SQLite, PostgreSQL) with N labelled applications the champion (version 1)
    answered and the challenger (version 2) shadow-scored as ``shadow_quality`` says."""
    store = PredictionStore(database_url)
    rows = credit_frame.iloc[:N].reset_index(drop=True)
    y = target_vector(rows, credit_scenario)
    inputs = rows.drop(columns=[credit_scenario.data.target])
    champion_p = credit_scorer.predict_proba(inputs)
    rng = np.random.default_rng(0)
    knows = y if shadow_quality == "informed" else 1 - y
    shadow_p = np.clip(0.7 * knows + 0.3 * rng.random(N), 0.0, 1.0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        PredictionRecord(
            application_id=f"a{i}",
            received_at=start + timedelta(minutes=i),
            model_name=credit_scenario.model_name,
            model_version="1",
            inputs=record,
            probability=float(champion_p[i]),
            decision=credit_scorer.decide(champion_p[i : i + 1])[0],
            threshold=float(credit_scorer.threshold),
        )
        # missing values as None, as the service logs them (PostgreSQL's JSON has no NaN)
        for i, record in enumerate(
            inputs.astype(object).where(inputs.notna(), None).to_dict("records")
        )
    ]
    store.append(records)
    for i in range(N):
        store.add_label(f"a{i}", int(y[i]), received_at=start + timedelta(days=30))
    ShadowStore(store.engine).append(
        [
            {
                "application_id": f"a{i}",
                "model_name": credit_scenario.model_name,
                "model_version": "2",
                "probability": float(shadow_p[i]),
                "decision": DECLINE if shadow_p[i] >= 0.5 else APPROVE,
                "scored_at": start + timedelta(minutes=i),
            }
            for i in range(N)
        ]
    )
    yield store, y, champion_p, shadow_p
    store.dispose()


@pytest.mark.parametrize("shadow_quality", ["informed", "inverted"])
def test_comparison_uses_shadow_scores_when_enough_are_labelled(
    shadowed, shadow_quality, credit_frame, credit_scenario, credit_scorer
):
    store, y, champion_p, shadow_p = shadowed
    config = RetrainingConfig.model_validate(
        {"shadow": {"min_labelled": N}, "gates": GATES, "judge": JUDGE}
    )
    holdout = credit_frame.iloc[N : N + 200]
    decision, challenger, champion, source, n = compare(
        credit_scorer, credit_scorer, "2", holdout, store, credit_frame, credit_scenario, config
    )
    assert (source, n) == ("shadow", N)
    assert challenger.auc == pytest.approx(roc_auc_score(y, shadow_p), abs=1e-12)
    assert champion.auc == pytest.approx(roc_auc_score(y, champion_p), abs=1e-12)
    assert challenger.brier == pytest.approx(np.mean((shadow_p - y) ** 2), abs=1e-12)
    if shadow_quality == "informed":
        # the shadow scores were built from the outcome: far better than the champion, and
        # the gate promotes on them (the offline holdout would compare the champion to itself)
        assert challenger.auc > champion.auc + 0.05
        assert challenger.profit_per_1000 > champion.profit_per_1000
        assert (decision.promote, decision.failures) == (True, [])
        gain = challenger.profit_per_1000 - champion.profit_per_1000
        assert decision.reason.startswith(f"profit difference per 1,000 {gain:,.1f} (90% interval")
        assert decision.intervals["profit_difference"]["low"] > 0
    else:
        # built from the opposite outcome: worse on profit, AUC and calibration, refused
        assert challenger.auc < champion.auc - 0.05
        assert decision.promote is False
        assert [f.split(":")[0] for f in decision.failures] == [
            "floor",  # AUC below the floor
            "floor",  # loses to approving everyone
            "profit",
            "AUC",
            "calibration",
        ]


def test_comparison_falls_back_to_the_offline_holdout(
    shadowed, credit_frame, credit_scenario, credit_scorer
):
    store, *_ = shadowed
    holdout = credit_frame.iloc[N : N + 200]
    expected = holdout_evidence(credit_scorer, holdout, credit_scenario)
    for min_labelled, version in [(N + 1, "2"), (10, "3")]:  # too few; never shadow-scored
        config = RetrainingConfig.model_validate(
            {"shadow": {"min_labelled": min_labelled}, "gates": GATES, "judge": JUDGE}
        )
        _, challenger, champion, source, n = compare(
            credit_scorer,
            credit_scorer,
            version,
            holdout,
            store,
            credit_frame,
            credit_scenario,
            config,
        )
        assert (source, n) == ("offline_holdout", 200)
        assert challenger.auc == pytest.approx(expected.auc, abs=1e-12)
        assert champion.auc == pytest.approx(expected.auc, abs=1e-12)
