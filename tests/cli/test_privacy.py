"""``riskloop privacy``: the local reference key, purge by date, export (JSON and a letter),
erasure; every read and erasure audited as ``cli:<os user>``."""

from __future__ import annotations

import getpass
import json
import stat
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from riskloop.cli import app
from riskloop.cli.privacy import ensure_applicant_ref_key
from riskloop.settings import Settings
from riskloop.store import PredictionRecord, PredictionStore
from riskloop.store.privacy import (
    APPLICANT_ERASED,
    PERSONAL_DATA_READ,
    PrivacyStore,
    applicant_reference,
)

REF = applicant_reference(b"z" * 32, "customer-0001")
NOW = datetime.now(UTC)


@pytest.fixture()
def run(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    monkeypatch.setenv("RISKLOOP_DATABASE_URL", url)
    store = PredictionStore(url)
    store.append(
        [
            PredictionRecord(
                application_id=application_id,
                received_at=NOW - timedelta(days=age_days),
                model_name="credit-risk",
                model_version="3",
                inputs={"Seniority": 9, "Income": 129.0},
                probability=0.62,
                decision="decline",
                threshold=0.5,
                reasons=[{"feature": "Seniority", "text": "Short employment", "contribution": 1}],
                applicant_ref=REF,
            )
            for application_id, age_days in (("app-old", 200), ("app-new", 5))
        ]
    )
    store.add_label("app-old", 1, NOW - timedelta(days=20))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, ["privacy", *args], terminal_width=200)

    invoke.store = store
    yield invoke
    store.dispose()


def test_the_local_key_file_is_created_owner_only_and_reused(tmp_path):
    settings = Settings(project_dir=tmp_path, data_dir=tmp_path / "data")
    key = ensure_applicant_ref_key(settings)
    path = tmp_path / "data" / "applicant-ref.key"
    assert len(key) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    path.chmod(0o644)
    assert ensure_applicant_ref_key(settings) == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    configured = Settings(project_dir=tmp_path, applicant_ref_key="c" * 32)
    assert ensure_applicant_ref_key(configured) == b"c" * 32
    with pytest.raises(ValidationError, match="APPLICANT_REF_KEY must be at least 32 bytes"):
        Settings(applicant_ref_key="short")


def test_purge_applies_the_configured_policy_by_date(run):
    result = run("purge")
    assert result.exit_code == 0, result.output
    assert "inputs purged from 1 decision(s)" in result.output
    assert run.store.get("app-old")["inputs"] == {}
    assert run.store.get("app-old")["decision"] == "decline"
    assert run.store.get("app-new")["inputs"]["Seniority"] == 9


def test_export_as_json_and_as_a_letter_is_audited(run):
    exported = run("export", "--ref", REF, "--reason", "case 17")
    assert exported.exit_code == 0, exported.output
    record = json.loads(exported.output)
    assert [d["application_id"] for d in record["decisions"]] == ["app-old", "app-new"]
    letter = run("export", "--ref", REF, "--letter")
    assert letter.exit_code == 0, letter.output
    text = " ".join(letter.output.split())
    assert "we hold 2 credit decisions" in text and "Short employment" in text
    assert "not repaid as agreed" in text and "Seniority: 9" in text
    events = run.store.monitoring.audit_events(PERSONAL_DATA_READ)
    assert [(e["actor"], e["payload"]["reason"]) for e in events] == [
        (f"cli:{getpass.getuser()}", "case 17"),
        (f"cli:{getpass.getuser()}", None),
    ]
    unknown = run("export", "--ref", "0" * 64)
    assert unknown.exit_code == 2 and "nothing is held" in unknown.output


def test_erase_leaves_tombstones_and_an_audit_event(run):
    erased = run("erase", "--ref", REF, "--reason", "Art. 17 request of 2026-11-20")
    assert erased.exit_code == 0, erased.output
    assert run.store.count() == 0
    assert len(PrivacyStore(run.store.engine).tombstones()) == 2
    [event] = run.store.monitoring.audit_events(APPLICANT_ERASED)
    assert event["actor"] == f"cli:{getpass.getuser()}"
    blank = run("erase", "--ref", REF, "--reason", " ")
    assert blank.exit_code == 2 and "needs a reason" in blank.output


def test_the_monitor_loop_runs_the_purge(run, monkeypatch):
    from riskloop.cli import monitor_loop

    # the measuring itself is the monitor's own tests' business: here only the loop's purge
    monkeypatch.setattr(monitor_loop, "_monitor_once", lambda *args, **kwargs: [])
    result = CliRunner().invoke(app, ["monitor", "--every", "1s", "--max-runs", "1"])
    assert result.exit_code == 0, result.output
    assert "inputs purged from 1 decision(s)" in result.output
    assert run.store.get("app-old")["inputs"] == {}
