"""A retrain's decision records its uncertainty: the judge's paired bootstrap intervals are in
the result, the `gate` audit event, the `retrain-decision` MLflow run and the challenger's
version tags; lying outcomes sent through the API are quarantined before anything trains, and
the champion stays.

The registry is a stand-in that records the calls (the thing under test is what the workflow
records, not MLflow); the models, the store and the judge are the real ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from riskloop.evaluation.gates import load_gate_thresholds, load_judge_thresholds
from riskloop.retraining import workflow
from riskloop.retraining.config import PolicySpec, RetrainingConfig
from riskloop.retraining.policy import NotEnoughOutcomesError
from riskloop.store import MonitoringStore, PredictionRecord, PredictionStore
from tests.conftest import CREDIT_SCENARIO, PROJECT_DIR

PROMOTION = PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml"
DECIDED = datetime(2026, 6, 1, tzinfo=UTC)


class RecordingRegistry(SimpleNamespace):
    """What the workflow asks of the registry: version "1" is champion, "2" the challenger."""

    CHAMPION = "champion"

    def __init__(self, scorer):
        super().__init__(scorer=scorer, runs=[], tags={}, aliases={"champion": "1"})

    def version_for_alias(self, name, alias="champion"):
        version = self.aliases.get(alias)
        return None if version is None else SimpleNamespace(version=version, tags={})

    def set_alias(self, name, version, alias):
        self.aliases[alias] = version

    def load_scorer(self, name, version):
        return self.scorer

    def log_decision_run(self, experiment, artifact_dir, run_name, tags, figures):
        self.runs.append({"tags": tags, "figures": figures})

    def set_version_tags(self, name, version, tags):
        self.tags.setdefault(version, {}).update(tags)


@pytest.fixture()
def scored(tmp_path, credit_scorer, credit_splits):
    """A prediction log of the bundled data's validation and test rows, scored by the champion,
    and their true outcomes."""
    _, validation, test = credit_splits
    pool = pd.concat([validation, test], ignore_index=True)
    inputs = pool.drop(columns="Status").astype(object)
    inputs = inputs.where(inputs.notna(), None).to_dict("records")
    probability = credit_scorer.predict_proba(pool)
    decisions = credit_scorer.decide(probability)
    store = PredictionStore(f"sqlite:///{tmp_path / 'log.db'}")
    store.append(
        [
            PredictionRecord(
                f"a{i}", DECIDED + timedelta(minutes=i), "credit-risk", "1", row, float(p), d, 0.5
            )
            for i, (row, p, d) in enumerate(zip(inputs, probability, decisions, strict=True))
        ]
    )
    yield store, (pool["Status"] == "bad").to_numpy(dtype=int), pool
    store.dispose()


def _retrain(store, pool, scenario, registry, monkeypatch, tmp_path):
    monkeypatch.setattr(workflow, "registry", registry)
    config = RetrainingConfig(
        policy=PolicySpec(min_holdout_rows=100, reference_ratio=0.0),
        gates=load_gate_thresholds(PROMOTION),
        judge=load_judge_thresholds(PROMOTION).model_copy(update={"n_resamples": 200}),
    )
    return workflow.retrain_challenger(
        PROJECT_DIR, CREDIT_SCENARIO, scenario, store, pool, config,
        artifact_dir=tmp_path / "artifacts", work_dir=tmp_path / "work",
        train=lambda data, folder: "2",
    )  # fmt: skip


def test_the_decision_records_its_intervals_everywhere(
    scored, credit_scorer, credit_scenario, monkeypatch, tmp_path
):
    store, bad, pool = scored
    for i in range(600):  # honest outcomes, mature, one caller
        store.add_label(f"a{i}", int(bad[i]), DECIDED + timedelta(days=90), source="api:bank")
    registry = RecordingRegistry(credit_scorer)
    result = _retrain(store, pool, credit_scenario, registry, monkeypatch, tmp_path)
    # the challenger is the champion itself: no difference, so no promotion
    assert not result.promoted and registry.aliases["champion"] == "1"
    profit = result.intervals["profit_difference"]
    assert profit["estimate"] == 0.0 and profit["n_resamples"] == 200
    assert "lower bound of the profit difference" in result.reason
    [gate] = MonitoringStore(store.engine).audit_events("gate")
    assert gate["payload"]["intervals"] == result.intervals
    [run] = registry.runs
    assert run["figures"]["profit_difference_low"] == profit["low"]
    assert run["figures"]["auc_difference_estimate"] == 0.0
    assert json.loads(registry.tags["2"]["gate_intervals"]) == result.intervals


@pytest.mark.parametrize("attack", ["flip_all", "all_good"])
def test_lies_through_the_api_are_quarantined_and_the_champion_stays(
    attack, scored, credit_scorer, credit_scenario, monkeypatch, tmp_path
):
    store, bad, pool = scored
    lies = 1 - bad if attack == "flip_all" else np.zeros_like(bad)
    for i in range(600):
        store.add_label(f"a{i}", int(lies[i]), DECIDED + timedelta(days=90), source="api:mallory")
    registry = RecordingRegistry(credit_scorer)
    with pytest.raises(NotEnoughOutcomesError):  # nothing checked to train or judge on
        _retrain(store, pool, credit_scenario, registry, monkeypatch, tmp_path)
    assert registry.aliases == {"champion": "1"} and registry.runs == []
    [event] = MonitoringStore(store.engine).audit_events("feedback_quarantined")
    assert event["payload"]["source"] == "api:mallory" and event["payload"]["n_rows"] == 600
