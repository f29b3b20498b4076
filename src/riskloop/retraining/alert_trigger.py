"""Alerts that retrain: which fired rules ask for a challenger, and whether the rate limit lets
one start now (``riskloop monitor --retrain-on-alerts``; docs/retraining.md).

The rate limit reads the journal, not the process: the newest ``retrain_started`` event of the
model (any trigger, manual ones too), so a restarted monitor loop does not retrain again at
once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from riskloop.retraining.config import AlertRetrainSpec
from riskloop.retraining.recovery import RETRAIN_STARTED
from riskloop.store import MonitoringStore


@dataclass(frozen=True)
class AlertRetrain:
    """The verdict for one monitor run.

    Attributes
    ----------
    alerts : list of str
        Fired rules that ask for a retrain (empty: none did).
    due : bool
        True when a retrain should start now.
    reason : str
        Why (for the printout and the journal).
    """

    alerts: list[str]
    due: bool
    reason: str


def alert_retrain(
    fired: Sequence[str],
    audit: MonitoringStore,
    model_name: str,
    spec: AlertRetrainSpec,
    now: datetime,
) -> AlertRetrain:
    """Whether the rules ``fired`` by a monitor run of ``model_name`` start a retrain at
    ``now`` (timezone-aware) under ``spec``."""
    alerts = sorted(set(fired) & set(spec.retrain_on))
    if not alerts:
        return AlertRetrain([], False, "no alert that retrains fired")
    started = [
        event["at"]
        for event in audit.audit_events(RETRAIN_STARTED)
        if (event["payload"] or {}).get("model_name") == model_name
    ]
    if started:
        wait = max(started) + timedelta(hours=spec.min_interval_hours) - now
        if wait > timedelta(0):
            return AlertRetrain(
                alerts,
                False,
                f"{', '.join(alerts)} fired, but the last retrain started at"
                f" {max(started):%Y-%m-%d %H:%M} UTC, less than {spec.min_interval_hours:g} h ago"
                f" (retraining.yml alerts.min_interval_hours): next one possible in"
                f" {wait.total_seconds() / 3600:.1f} h",
            )
    return AlertRetrain(alerts, True, f"{', '.join(alerts)} fired: retraining a challenger")
