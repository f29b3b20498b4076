"""The closed loop end to end, on small data (one simulation per drift kind that matters):

* ``stable`` (through the CLI, with ``--json``): no trigger, no retrain;
* ``recession``: detected within 3 windows of the onset, retrained, promoted, and the promoted
  model's realised AUC on post-shift applicants it never trained on beats the old champion's;
* in the recession's workspace: an unfair challenger is refused by the fairness gate, a
  corrupt feedback batch is quarantined with the champion unchanged, promote/rollback move
  the alias and record it, and a crash around the alias write leaves a loadable champion.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskloop import registry
from riskloop.data.scenario import load_scenario
from riskloop.evaluation.fairness import sensitive_groups
from riskloop.monitoring.config import load_monitor_config
from riskloop.retraining.config import load_retraining_config
from riskloop.retraining.simulator import isolated_workspace, simulate
from riskloop.retraining.workflow import (
    PREVIOUS_CHAMPION_TAG,
    promote_version,
    retrain_challenger,
)
from riskloop.store import MonitoringStore, PredictionStore
from tests.conftest import CREDIT_SCENARIO, PROJECT_DIR

WINDOWS, ROWS = 8, 500  # a simulated window is one monitor window of the configured size
CONF = PROJECT_DIR / "conf" / "base"


@contextlib.contextmanager
def workspace_environment(work_dir):
    """MLflow pointed at the simulation's workspace, and the environment the CLI's settings are
    read from pointing there too (the simulator itself passes the workspace, never the env);
    models load from the workspace's artifacts with the keys those settings trust, as a
    command's edge would configure them (the simulation leaves the process's trust as it was)."""
    from riskloop.settings import Settings

    with pytest.MonkeyPatch.context() as env, isolated_workspace(work_dir):
        env.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{work_dir / 'mlflow.db'}")
        env.setenv("RISKLOOP_ARTIFACT_DIR", str(work_dir / "mlartifacts"))
        env.setenv("RISKLOOP_DATABASE_URL", f"sqlite:///{work_dir / 'predictions.db'}")
        registry.configure_trust(Settings().model_trust())
        yield


@pytest.fixture(scope="module")
def recession(tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("recession")
    scenario = load_scenario(CREDIT_SCENARIO)
    timeline = simulate(
        PROJECT_DIR,
        CREDIT_SCENARIO,
        scenario,
        "recession",
        load_retraining_config(CONF / "retraining.yml", CONF / "parameters_promotion.yml"),
        load_monitor_config(CONF / "monitoring.yml"),
        work_dir=work_dir,
        windows=WINDOWS,
        rows_per_window=ROWS,
    )
    return timeline, work_dir, scenario


def test_stable_world_raises_no_retrain(tmp_path):
    out = tmp_path / "timeline.json"
    from riskloop.cli import app

    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--drift",
            "stable",
            "--windows",
            "6",
            "--rows",
            str(ROWS),
            "--json",
            str(out),
            "--work-dir",
            str(tmp_path / "work"),
        ],
    )
    assert result.exit_code == 0, result.output
    timeline = json.loads(out.read_text())
    assert {
        "windows",
        "onset_window",
        "first_alert_window",
        "retrain_windows",
        "promoted_windows",
        "auc_before",
        "auc_after",
    } <= set(timeline)
    assert len(timeline["windows"]) == 6 and timeline["onset_window"] is None
    assert timeline["retrain_windows"] == [] and timeline["first_alert_window"] is None
    assert all(w["alerts"] == [] for w in timeline["windows"])
    # the service really scored every window with the first champion
    assert {w["model_version"] for w in timeline["windows"]} == {"1"}
    assert 0.7 < timeline["auc_before"] < 0.95 and timeline["auc_after"] is None
    assert "retrains: none" in result.output


def test_recession_is_detected_retrained_and_the_promoted_model_is_better(recession):
    timeline, _, scenario = recession
    assert timeline.onset_window == scenario.drift.onset_window
    assert timeline.first_alert_window is not None
    assert 0 <= timeline.first_alert_window - timeline.onset_window <= 3
    assert timeline.retrain_windows and timeline.retrain_windows[0] >= timeline.first_alert_window
    assert timeline.promoted_windows == timeline.retrain_windows[:1]
    promoted = timeline.promoted_windows[0]
    # the service hot-swapped: later windows are scored by the new version
    assert {w["model_version"] for w in timeline.windows[promoted + 1 :]} == {"2"}
    # same post-shift rows, drawn from applicants the challenger never trained on
    assert timeline.n_after_rows == ROWS * (WINDOWS - promoted - 1)
    assert timeline.auc_after > timeline.auc_before + 0.02
    decision = timeline.retrains[0]
    assert decision["challenger"]["profit_per_1000"] > decision["champion"]["profit_per_1000"]
    # promoted on the lower bounds of paired intervals, on a holdout that can tell them apart
    config = load_retraining_config(CONF / "retraining.yml", CONF / "parameters_promotion.yml")
    intervals = decision["intervals"]
    profit, auc = intervals["profit_difference"], intervals["auc_difference"]
    assert profit["low"] > config.gates.min_profit_improvement and auc["low"] > 0
    assert decision["n_holdout"] >= 500
    assert f"90% interval {profit['low']:,.1f} to {profit['high']:,.1f}" in decision["reason"]


class _DeclinesAGroup:
    """The promoted model, except that it declines every applicant of one age group."""

    def __init__(self, scorer, scenario, group: str):
        self.scorer, self.scenario, self.group = scorer, scenario, group
        self.threshold = scorer.threshold

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        probability = self.scorer.predict_proba(frame)
        in_group = sensitive_groups(frame, self.scenario)["Age"].to_numpy() == self.group
        return np.where(in_group, 0.99, probability)

    def decide(self, probability: np.ndarray) -> list[str]:
        return self.scorer.decide(probability)


def test_an_unfair_challenger_is_refused_by_the_fairness_gate(recession):
    _, work_dir, scenario = recession
    name = scenario.model_name
    with workspace_environment(work_dir):
        store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
        before = registry.version_for_alias(name).version
        result = retrain_challenger(
            PROJECT_DIR,
            CREDIT_SCENARIO,
            scenario,
            store,
            pd.read_csv(scenario.resolve_path(PROJECT_DIR)),
            load_retraining_config(CONF / "retraining.yml", CONF / "parameters_promotion.yml"),
            artifact_dir=work_dir / "mlartifacts",
            train=lambda data, folder: before,  # "retrained": the champion's own version
            load_challenger=lambda v: _DeclinesAGroup(
                registry.load_scorer(name, v), scenario, "under 25"
            ),
        )
        assert not result.promoted and registry.version_for_alias(name).version == before
        parity = [f for f in result.failures if f.startswith("fairness: demographic")]
        # refused twice over: below the scenario's bound, and confidently worse than the champion
        assert any(f.endswith("ratio 0.000 is below 0.8") for f in parity), parity
        assert any("worse than the champion's" in f for f in parity), parity
        gate = MonitoringStore(store.engine).audit_events("gate")[-1]["payload"]
        assert gate["promote"] is False and gate["challenger"]["dp_ratio"] == 0.0
        store.dispose()


def test_a_corrupt_feedback_batch_is_quarantined_and_the_champion_is_unchanged(recession, tmp_path):
    from riskloop.cli import app

    _, work_dir, scenario = recession
    with workspace_environment(work_dir):
        store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
        labelled = len(store.labelled_predictions())
        champion = registry.version_for_alias(scenario.model_name).version
        batch = tmp_path / "outcomes.csv"
        # w006 was scored but its outcomes are still due: one good row, then two bad ones
        batch.write_text("application_id,outcome\nw006-00000,1\nw006-00001,yes\nw000-00000,0\n")
        result = CliRunner().invoke(app, ["retrain", "--feedback", str(batch)])
        assert result.exit_code == 1
        assert "refused the whole batch of 3 rows" in result.output
        assert "row 2 ('yes')" in result.output and "already has an outcome" in result.output
        assert len(store.labelled_predictions()) == labelled  # not even the good row
        assert registry.version_for_alias(scenario.model_name).version == champion
        assert MonitoringStore(store.engine).audit_events("feedback_quarantined")
        store.dispose()


def test_a_crash_around_the_alias_write_leaves_a_consistent_champion(recession, monkeypatch):
    _, work_dir, scenario = recession
    name = scenario.model_name
    with workspace_environment(work_dir):
        store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
        audit = MonitoringStore(store.engine)
        assert registry.version_for_alias(name).version == "2"

        def killed_before_the_write(*args, **kwargs):
            raise SystemExit("killed")

        with monkeypatch.context() as patch:
            patch.setattr(registry, "set_alias", killed_before_the_write)
            with pytest.raises(SystemExit):
                promote_version(name, "1", store, reason="test")
        assert registry.version_for_alias(name).version == "2"  # old champion, loadable
        assert registry.load_champion(name)[1].version == "2"

        real = audit.record_audit_event

        def killed_after_the_write(self, kind, payload, *args, **kwargs):
            if kind == "promoted":
                raise SystemExit("killed")
            return real(kind, payload, *args, **kwargs)

        with monkeypatch.context() as patch:
            patch.setattr(MonitoringStore, "record_audit_event", killed_after_the_write)
            with pytest.raises(SystemExit):
                promote_version(name, "1", store, reason="test")
        assert registry.load_champion(name)[1].version == "1"  # new champion, loadable
        kinds = [e["kind"] for e in audit.audit_events()]
        assert kinds[-1] == "promoted_started"  # the journal says it was cut short
        promote_version(name, "2", store, reason="restore")
        store.dispose()


def test_rollback_and_promote_move_the_champion_and_record_it(recession):
    from riskloop.cli import app

    _, work_dir, scenario = recession
    name = scenario.model_name
    with workspace_environment(work_dir):
        assert registry.get_version(name, "2").tags[PREVIOUS_CHAMPION_TAG] == "1"
        result = CliRunner().invoke(app, ["rollback", "--reason", "bad week"])
        assert result.exit_code == 0, result.output
        assert registry.version_for_alias(name).version == "1"
        result = CliRunner().invoke(app, ["promote", "--version", "2"])
        assert result.exit_code == 0 and "champion is version 2 (was 1)" in result.output
        store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
        events = MonitoringStore(store.engine).audit_events()
        store.dispose()
        rolled = [e["payload"] for e in events if e["kind"] == "rolled_back"]
        assert rolled[-1]["version"] == "1" and rolled[-1]["previous"] == "2"
        assert "bad week" in rolled[-1]["reason"]
        # who: the person at the command line, on both moves
        by_hand = [e for e in events if e["kind"] in ("rolled_back", "promoted")][-2:]
        assert [e["actor"] for e in by_hand] == [f"cli:{getpass.getuser()}"] * 2
        missing = CliRunner().invoke(app, ["promote", "--version", "99"])
        assert missing.exit_code == 2 and "cannot promote" in missing.output


def test_no_row_that_trained_the_challenger_judges_or_measures_it(recession):
    """Ids of the split's rows: the challenger's reference rows (the first champion's training
    split), its production training rows, its holdout and the rows measured after promotion."""
    timeline, _, _ = recession
    assert timeline.rows_used  # at least one challenger was trained (promoted or not)
    assert bool(timeline.after_rows) == bool(timeline.promoted_windows)
    served = set(range(min(timeline.rows_used[0]["reference"])))  # held-out ids come first
    for used in timeline.rows_used:
        trained = set(used["reference"]) | set(used["production_train"])
        assert len(used["reference"]) == timeline.retrains[0]["n_reference"]
        assert not set(used["reference"]) & served, "a served applicant is a reference row"
        assert not set(used["holdout"]) & trained, "a holdout row trained the challenger"
        assert not set(timeline.after_rows) & trained, "a row measured after it trained it"


def run_killed(work_dir, point: str, version: str | None = None) -> None:
    """tests/retraining/crash_retrain.py in a process of its own, killed at ``point``."""
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-m", "tests.retraining.crash_retrain", str(work_dir), point]
    done = subprocess.run(
        command + ([version] if version else []),
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr[-3000:]


def test_a_killed_retrain_is_repaired_at_the_next_start(recession):
    """Killed at each step, a retrain leaves debris the next start clears (no RUNNING run,
    no applicants' data left behind) and a promotion that the journal completes."""
    from mlflow.tracking import MlflowClient

    from riskloop.retraining.recovery import recover_interrupted

    _, work_dir, scenario = recession
    name = scenario.model_name
    with workspace_environment(work_dir):
        store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
        audit = MonitoringStore(store.engine)
        client = MlflowClient()
        experiment = client.get_experiment_by_name(scenario.name).experiment_id

        def running() -> list:
            return client.search_runs([experiment], "attributes.status = 'RUNNING'")

        # ---- killed while the challenger trains
        run_killed(work_dir, "training")
        started = audit.audit_events("retrain_started")[-1]["payload"]
        folder = Path(started["work_dir"])
        assert folder.parent == work_dir / "data" / "09_retraining"  # not the system temp dir
        assert (folder / "training.csv").is_file() and running()  # the debris of the kill
        repairs = recover_interrupted(audit, name, scenario.name)
        assert repairs and "interrupted" in repairs[0]
        assert not running() and not folder.exists()
        failed = audit.audit_events("retrain_failed")[-1]["payload"]
        assert failed["retrain_id"] == started["retrain_id"] and failed["runs_marked_failed"]

        # ---- killed just before the champion alias moves: the promotion is completed
        before = registry.version_for_alias(name).version
        target = "1" if before != "1" else "2"
        run_killed(work_dir, "before_alias", target)
        assert registry.version_for_alias(name).version == before
        assert audit.audit_events()[-1]["kind"] == "promoted_started"
        recover_interrupted(audit, name, scenario.name)
        assert registry.version_for_alias(name).version == target
        last = audit.audit_events()[-1]
        assert (last["kind"], last["payload"]["version"]) == ("promoted", target)
        assert last["payload"]["recovered"] is True

        # ---- killed just after it moved: the journal is completed, the alias stays
        run_killed(work_dir, "after_alias", before)
        assert registry.version_for_alias(name).version == before
        assert audit.audit_events()[-1]["kind"] == "promoted_started"
        recover_interrupted(audit, name, scenario.name)
        assert registry.version_for_alias(name).version == before
        assert audit.audit_events()[-1]["kind"] == "promoted"
        assert recover_interrupted(audit, name, scenario.name) == []  # nothing left to repair
        store.dispose()


def test_outcomes_went_through_the_feedback_route_and_auc_is_the_monitors(recession):
    """The simulated origination system posts outcomes to POST /v1/feedback with its own key,
    and the timeline's realised AUC is the monitor's stored figure."""
    from sqlalchemy import select

    from riskloop.store.tables import labels

    timeline, work_dir, scenario = recession
    store = PredictionStore(f"sqlite:///{work_dir / 'predictions.db'}")
    with store.engine.connect() as connection:
        sources = set(connection.execute(select(labels.c.source)).scalars())
    # the API names who sent each outcome: the simulator's key ("simulator window N" before)
    assert sources == {"api:key:simulator"}
    assert len(store.labelled_predictions()) == ROWS * (WINDOWS - 1)  # the last is still due
    stored = {
        (r["model_version"], r["window_id"]): r["value"]
        for r in store.monitoring.results(scenario.model_name, None, ["realised_auc"])
    }
    measured = [w for w in timeline.windows if w["realised_auc"] is not None]
    assert len(measured) >= WINDOWS - 2 and timeline.windows[-1]["realised_auc"] is None
    for w in measured:
        key = (w["model_version"], f"count:{ROWS}:#{w['window']}")
        assert w["realised_auc"] == stored[key]
    store.dispose()


@pytest.mark.slow
def test_a_flipped_outcomes_attack_is_quarantined_and_the_champion_kept(tmp_path):
    """From the drift onset on, every outcome sent through POST /v1/feedback is flipped; the
    adversary then asks for a retrain. The label checks quarantine the lies, the champion
    stays (before the checks: nothing quarantined, the liar's challenger promoted)."""
    from riskloop.cli import app

    out = tmp_path / "timeline.json"
    with workspace_environment(tmp_path / "work"):
        result = CliRunner().invoke(
            app,
            ["simulate", "--attack", "flip", "--windows", "4", "--rows", "200",
             "--work-dir", str(tmp_path / "work"), "--json", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    timeline = json.loads(out.read_text())
    assert timeline["attack"] == "flip"
    [quarantined] = timeline["quarantined"]
    assert quarantined["source"] == "api:key:simulator" and quarantined["n_rows"] == 200
    assert quarantined["problems"][0].startswith("outcomes implausible: bad rate")
    assert timeline["champion_before_attack"] == timeline["champion_after_attack"] == "1"
    assert timeline["retrains"] and not timeline["retrains"][-1]["promoted"]
    assert "Attack flip: 1 batch(es) quarantined; champion v1 before, v1 after." in result.output
    bad = CliRunner().invoke(app, ["simulate", "--attack", "lies"])
    assert bad.exit_code == 2 and "--attack must be one of flip, all-good, segment" in bad.output
