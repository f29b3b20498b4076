"""Recovery from a retrain that was killed (docs/retraining.md, "Crash consistency").

A retrain journals its steps as audit events; a process killed between two of them leaves a
``*_started`` event without its end. :func:`recover_interrupted` reads the journal at the next
start and finishes what was cut short:

* a retrain (``retrain_started`` without ``retrain_finished`` or ``retrain_failed``): the MLflow
  runs it left RUNNING are marked FAILED, its work folder (applicants' data) is removed, and a
  ``retrain_failed`` event says so;
* a promotion or rollback (``promoted_started`` / ``rolled_back_started`` without its end):
  everything but the alias was written before the event, so it is completed — the champion
  alias moved to the version, the end event recorded with ``recovered: true`` — unless another
  version has become champion since, in which case the version's ``gate_decision`` tag says
  the promotion was abandoned. Either way the registry's tags and the alias agree.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from riskloop import registry
from riskloop.store import MonitoringStore

RETRAIN_STARTED = "retrain_started"
RETRAIN_FINISHED = "retrain_finished"
RETRAIN_FAILED = "retrain_failed"
ALIAS_MOVES = ("promoted", "rolled_back")
ABANDONED = "promotion_abandoned"


def unfinished(audit: MonitoringStore, started: str, ends: tuple[str, ...], key: str) -> list[dict]:
    """``started`` events with no later event of a kind in ``ends`` carrying the same
    ``payload[key]``, oldest first."""
    open_events: dict[Any, dict] = {}
    for event in audit.audit_events():
        value = (event["payload"] or {}).get(key)
        if event["kind"] == started:
            open_events[value] = event
        elif event["kind"] in ends:
            open_events.pop(value, None)
    return list(open_events.values())


def recover_interrupted(audit: MonitoringStore, model_name: str, experiment: str) -> list[str]:
    """Finish what killed retrains of ``model_name`` left (module docstring); returns one line
    per repair, for the caller to show."""
    repairs = []
    for event in unfinished(
        audit, RETRAIN_STARTED, (RETRAIN_FINISHED, RETRAIN_FAILED), "retrain_id"
    ):
        payload = event["payload"]
        if payload.get("model_name") != model_name or payload.get("retrain_id") is None:
            continue
        runs = registry.fail_running_runs(experiment, event["at"].timestamp())
        folder = payload.get("work_dir")
        removed = bool(payload.get("owns_work_dir")) and folder and Path(folder).exists()
        if removed:
            shutil.rmtree(folder, ignore_errors=True)
        audit.record_audit_event(
            RETRAIN_FAILED,
            {
                "model_name": model_name,
                "retrain_id": payload["retrain_id"],
                "reason": "the process stopped before the retrain finished (killed or crashed);"
                " found at the next start",
                "runs_marked_failed": runs,
                "work_dir_removed": folder if removed else None,
            },
        )
        repairs.append(
            f"retrain {payload['retrain_id']} was interrupted: {len(runs)} MLflow run(s) marked"
            f" FAILED{', its work folder removed' if removed else ''}"
        )
    for event_kind in ALIAS_MOVES:
        for event in unfinished(audit, f"{event_kind}_started", (event_kind,), "version"):
            payload = event["payload"]
            if payload.get("model_name") != model_name:
                continue
            repairs.append(_finish_alias_move(audit, event_kind, payload))
    return repairs


def _finish_alias_move(audit: MonitoringStore, event_kind: str, payload: dict[str, Any]) -> str:
    """Complete an interrupted promotion/rollback, or mark it abandoned (module docstring)."""
    name, version = payload["model_name"], payload["version"]
    current = registry.version_for_alias(name, registry.CHAMPION)
    champion = None if current is None else current.version
    if champion in (version, payload.get("previous")):
        if champion != version:
            registry.set_alias(name, version, registry.CHAMPION)
        audit.record_audit_event(event_kind, {**payload, "recovered": True})
        return f"{event_kind} of {name} version {version} completed after an interruption"
    registry.set_version_tags(name, version, {"gate_decision": ABANDONED})
    audit.record_audit_event(
        f"{event_kind}_abandoned", {**payload, "champion": champion, "recovered": True}
    )
    return (
        f"{event_kind} of {name} version {version} was interrupted and version {champion} has"
        " been champion since: marked abandoned"
    )
