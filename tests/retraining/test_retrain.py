"""`riskloop retrain`'s decision, in the retraining package: a challenger judged on recent
outcomes when there are enough for a holdout, else a retrain on the scenario's data whose
registration gate decides (never a silent no-op)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

import riskloop.pipelines.runner
from riskloop.evaluation.gates import load_gate_thresholds, load_judge_thresholds
from riskloop.retraining import workflow
from riskloop.retraining.config import LabelChecksSpec, PolicySpec, RetrainingConfig
from riskloop.retraining.workflow import RetrainResult, ScenarioRetrain
from riskloop.store import PredictionRecord, PredictionStore
from tests.conftest import CREDIT_SCENARIO, PROJECT_DIR

GATES = load_gate_thresholds(PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml")
JUDGE = load_judge_thresholds(PROJECT_DIR / "conf" / "base" / "parameters_promotion.yml")
T0 = datetime(2026, 1, 5, tzinfo=UTC)
MATURE = T0 + timedelta(days=90)  # outcomes observed past the minimum maturity


@pytest.fixture()
def store(tmp_path):
    store = PredictionStore(f"sqlite:///{tmp_path / 'log.db'}")
    yield store
    store.dispose()


def _label(store: PredictionStore, credit_frame, n: int) -> None:
    inputs = credit_frame.drop(columns="Status").head(n)
    store.append(
        [
            PredictionRecord(f"a{i}", T0, "credit-risk", "1", row, 0.2, "approve", 0.5)
            for i, row in enumerate(inputs.astype(object).to_dict("records"))
        ]
    )
    for i in range(n):
        store.add_label(f"a{i}", int(credit_frame["Status"].iloc[i] == "bad"), MATURE)


def _retrain(store, credit_frame, credit_scenario, tmp_path, policy: PolicySpec, fallbacks):
    return workflow.retrain(
        PROJECT_DIR,
        CREDIT_SCENARIO,
        credit_scenario,
        store,
        credit_frame,
        RetrainingConfig(
            policy=policy.model_copy(update={"holdout_share": 0.3}), gates=GATES, judge=JUDGE
        ),
        artifact_dir=tmp_path / "artifacts",
        data_dir=tmp_path / "data",
        read_back=("registration_report",),
        on_fallback=fallbacks.append,
    )


def test_too_few_outcomes_retrain_on_the_scenario_and_the_registration_gate_decides(
    store, credit_frame, credit_scenario, tmp_path, monkeypatch
):
    runs = []
    report = {"promoted": False, "version": "7"}

    def run_pipeline(project_dir, pipeline_name=None, **kwargs):
        runs.append((project_dir, pipeline_name, kwargs))
        return {"registration_report": report}

    monkeypatch.setattr(riskloop.pipelines.runner, "run_pipeline", run_pipeline)
    _label(store, credit_frame, 150)  # a holdout of 45 (30 %), under the 100 required
    fallbacks: list[str] = []
    outcome = _retrain(
        store, credit_frame, credit_scenario, tmp_path, PolicySpec(min_holdout_rows=100), fallbacks
    )
    assert isinstance(outcome, ScenarioRetrain)
    assert outcome.outputs == {"registration_report": report}
    assert "150 labelled production rows give a holdout of 45" in outcome.reason
    assert fallbacks == [outcome.reason]  # said before the minutes-long pipeline starts
    # the scenario's own file and the registration gate: no copy, no `promote: false`
    assert runs == [
        (
            PROJECT_DIR,
            None,
            {
                "scenario_file": CREDIT_SCENARIO,
                "data_dir": tmp_path / "data",
                "read_back": ("registration_report",),
            },
        )
    ]


def test_enough_outcomes_judge_a_challenger_against_the_champion(
    store, credit_frame, credit_scenario, tmp_path, monkeypatch
):
    judged = RetrainResult("credit-risk", "2", "1", "1", promoted=False, reason="gate")
    seen = []

    def retrain_challenger(*args, **kwargs):
        # the label checks and the policy's own check decide: enough rows pass both
        workflow.check_pending_outcomes(store, LabelChecksSpec())
        seen.append(workflow.build_training_data(store, credit_frame, credit_scenario, policy))
        return judged

    def no_pipeline(*args, **kwargs):
        raise AssertionError("the scenario pipeline ran although outcomes sufficed")

    policy = PolicySpec(min_holdout_rows=10)
    monkeypatch.setattr(workflow, "retrain_challenger", retrain_challenger)
    monkeypatch.setattr(riskloop.pipelines.runner, "run_pipeline", no_pipeline)
    _label(store, credit_frame, 150)
    fallbacks: list[str] = []
    outcome = _retrain(store, credit_frame, credit_scenario, tmp_path, policy, fallbacks)
    assert outcome is judged and fallbacks == []
    assert len(seen[0].holdout) == 45
