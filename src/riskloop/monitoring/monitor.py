"""The monitor: windows of the prediction log measured against the champion's training
reference, with delayed-label performance, label-free estimates, fairness, service health and
alert rules with hysteresis (docs/monitoring.md).

One run (:func:`run_monitor`):

1. cut the log into windows — by count (consecutive ``size`` applications in arrival order) or
   by time (calendar windows of a pandas offset) — and take the newest ``recent`` of them;
2. per window: PSI and a KS/chi-squared test per feature against the scorer's reference
   profile; PSI and KS of the score distribution (prediction drift); the label-free expected
   AUC and bad rate among approved; approval rate and its parity across sensitive groups;
   latency percentiles from the log; and, over the applications *decided* in the window whose
   outcomes have arrived, realised AUC, KS, Brier, bad rate among approved and the fairness
   measures of the model-selection report;
3. store every value with its sample size (a window's values are replaced on each run, so its
   realised figures follow the labels as they arrive);
4. apply the alert rules to the stored history; each newly fired trigger is an audit event.

Probabilities are those of the monitored model: the logged ones for applications it scored,
re-scored with it for applications a former champion scored. Decisions are the monitored
model's (``probability < threshold`` approves).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from riskloop.monitoring.alerts import RuleOutcome, evaluate_rule
from riskloop.monitoring.config import MonitorConfig
from riskloop.monitoring.log_drift import EmptyPredictionLogError, feature_drift
from riskloop.monitoring.window_metrics import number, window_metrics
from riskloop.monitoring.windows import cut_windows
from riskloop.scorer import Scorer
from riskloop.store import PredictionStore

TRIGGER_EVENT = "trigger"


@dataclass
class MonitorRun:
    """What one monitor run found.

    Attributes
    ----------
    windows : list of dict
        One per window, oldest first: ``window_id``, ``start``, ``end``, ``n`` and every metric
        by name (None when not computable), ``sample_sizes`` {metric: n} and ``drift`` (the
        per-feature table as records).
    fired : list of RuleOutcome
        The triggers that fire on the newest window.
    outcomes : list of RuleOutcome
        Every rule's verdict (fired or quiet).
    drift : DataFrame
        The per-feature drift table of the newest window, most drifted first.
    """

    model_name: str
    model_version: str
    windows: list[dict[str, Any]]
    fired: list[RuleOutcome]
    outcomes: list[RuleOutcome]
    drift: pd.DataFrame


@dataclass
class EarlyDrift:
    """What the monitor can say of a log too short for a first window: drift of everything
    logged so far against the training reference (no windows are stored, no rule applies).

    Attributes
    ----------
    drift : DataFrame
        The per-feature drift table over all ``n_logged`` applications, most drifted first.
    n_logged : int
        Applications in the log.
    reason : str
        Why no window is measured yet (how many rows the first one needs, and where that is set).
    """

    model_name: str
    model_version: str
    drift: pd.DataFrame
    n_logged: int
    reason: str


def _trained_at(scorer: Scorer) -> datetime | None:
    raw = (scorer.metadata or {}).get("trained_at")
    if not raw:
        return None
    when = datetime.fromisoformat(str(raw))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


# --------------------------------------------------------------------------- the run
def run_monitor(
    store: PredictionStore,
    scorer: Scorer,
    model_name: str,
    model_version: str,
    config: MonitorConfig,
    now: datetime | None = None,
    *,
    scenario: Any = None,
    service_health: Mapping[str, float | None] | None = None,
) -> MonitorRun:
    """Measure the newest windows of the log, store the results, apply the rules.

    Parameters
    ----------
    store : PredictionStore
        The prediction log, outcomes, and (same database) monitor results and audit events.
    scorer : Scorer
        The monitored model: its reference profile, threshold and probabilities.
    model_name, model_version : str
        Under which name and version results and triggers are stored.
    config : MonitorConfig
        Windows, rules and minimum sample sizes.
    now : datetime, optional
        The clock (default: the current UTC time); the drift simulator passes its own.
    scenario : Scenario, optional
        Gives the sensitive attributes and their groups; without it no fairness is measured.
    service_health : mapping, optional
        Figures scraped from the API (``api_error_rate``, ``api_log_write_failures``), stored
        on the newest window.

    Raises
    ------
    EmptyPredictionLogError
        Nothing has been logged yet, or no window is complete enough to measure.
    """
    now = _aware(now) or datetime.now(UTC)
    times = store.received_times()
    if times.empty:
        raise EmptyPredictionLogError(
            f"the prediction log at {store.url} is empty: score some applications first"
            " (POST /v1/score), then run the monitor again"
        )
    windows = cut_windows(times, config, now)[-config.recent_windows :]
    if not windows:
        raise EmptyPredictionLogError(
            f"the prediction log at {store.url} holds {len(times)} applications, fewer than the"
            f" {config.min_window_rows} a first window needs (monitoring.yml windows.min_rows)"
        )
    first_id = int(min(w.row_ids.min() for w in windows))
    log = store.log_with_outcomes(first_id).set_index("id")
    # a window holding rows whose inputs the retention policy purged (stored as {}) cannot be
    # measured again: its stored results stand (docs/privacy.md)
    purged = set(log.index[log["inputs"].map(len) == 0])
    windows = [w for w in windows if purged.isdisjoint(w.row_ids)]
    if not windows:
        raise EmptyPredictionLogError(
            f"the prediction log at {store.url} has no window left to measure: the inputs of"
            " its newest window were purged by the retention policy (conf/base/privacy.yml)"
        )
    monitoring = store.monitoring
    computed: list[dict[str, Any]] = []
    latest_drift = pd.DataFrame()
    for position, window in enumerate(windows):
        rows = log.loc[log.index.intersection(window.row_ids)]
        inputs = pd.DataFrame.from_records(rows["inputs"].tolist())
        probability = rows["probability"].to_numpy(dtype=np.float64).copy()
        other = (rows["model_version"] != model_version).to_numpy()
        if other.any():  # scored by a former model: what would the monitored one say?
            probability[other] = scorer.predict_proba(inputs.loc[other].reset_index(drop=True))
        metrics, drift = window_metrics(
            scorer,
            inputs,
            probability,
            pd.to_numeric(rows["outcome"], errors="coerce").reset_index(drop=True),
            rows["latency_ms"].reset_index(drop=True),
            config.min_labelled,
            scenario,
        )
        if position == len(windows) - 1:
            metrics.update(_run_level_metrics(store, scorer, model_version, now, service_health))
            latest_drift = drift
        monitoring.save_window(
            model_name, model_version, window.window_id, window.start, window.end, metrics, now
        )
        computed.append(
            {
                "window_id": window.window_id,
                "start": window.start,
                "end": window.end,
                "n": len(rows),
                **{name: value for name, (value, _) in metrics.items()},
                "sample_sizes": {name: size for name, (_, size) in metrics.items()},
                "drift": drift.to_dict("records"),
            }
        )
    outcomes = [
        evaluate_rule(
            rule,
            monitoring.history(model_name, model_version, rule.metric, config.window_prefix),
        )
        for rule in config.rules
    ]
    fired = [o for o in outcomes if o.fired]
    _record_triggers(monitoring, fired, model_name, model_version, computed[-1], now)
    return MonitorRun(model_name, model_version, computed, fired, outcomes, latest_drift)


def run_monitor_or_early_drift(
    store: PredictionStore,
    scorer: Scorer,
    model_name: str,
    model_version: str,
    config: MonitorConfig,
    now: datetime | None = None,
    *,
    scenario: Any = None,
    service_health: Mapping[str, float | None] | None = None,
) -> MonitorRun | EarlyDrift:
    """:func:`run_monitor`; while the log holds fewer rows than a first window needs, the drift
    of everything logged so far instead, so a first scored application already shows drift.

    Raises
    ------
    EmptyPredictionLogError
        Nothing has been logged yet.
    """
    try:
        return run_monitor(
            store, scorer, model_name, model_version, config, now,
            scenario=scenario, service_health=service_health,
        )  # fmt: skip
    except EmptyPredictionLogError as error:
        n_logged = store.count()
        if n_logged == 0:
            raise
        drift = feature_drift(scorer, store)
        return EarlyDrift(model_name, model_version, drift, n_logged, str(error))


def _run_level_metrics(
    store: PredictionStore,
    scorer: Scorer,
    model_version: str,
    now: datetime,
    service_health: Mapping[str, float | None] | None,
) -> dict[str, tuple[float | None, int]]:
    """Figures about the model and the service rather than one window: age, outcomes that
    arrived since the model went into service, and the API's health."""
    trained_at = _trained_at(scorer)
    metrics: dict[str, tuple[float | None, int]] = {
        "model_age_days": (
            None if trained_at is None else (now - trained_at).total_seconds() / 86400.0,
            1,
        ),
        "model_trained_timestamp": (
            None if trained_at is None else trained_at.timestamp(),
            1,
        ),
    }
    # "new" = arrived since this version scored its first application (or was trained)
    since = _aware(store.first_scored_at(model_version)) or trained_at
    new = store.count_labels_received_since(since)
    metrics["new_labels"] = (float(new), new)
    for name, value in (service_health or {}).items():
        metrics[name] = (number(value), 1)
    return metrics


def _record_triggers(
    monitoring: Any,
    fired: list[RuleOutcome],
    model_name: str,
    model_version: str,
    window: dict[str, Any],
    now: datetime,
) -> None:
    """One audit event per trigger that fires on a window it had not fired on before (a loop
    running every five minutes must not write the same alarm every five minutes)."""
    if not fired:
        return
    seen = {
        (e["payload"].get("rule"), e["payload"].get("model_version"), e["payload"].get("window_id"))
        for e in monitoring.audit_events(TRIGGER_EVENT, limit=500)
    }
    for outcome in fired:
        key = (outcome.rule.name, model_version, window["window_id"])
        if key in seen:
            continue
        monitoring.record_audit_event(
            TRIGGER_EVENT,
            {
                "rule": outcome.rule.name,
                "metric": outcome.rule.metric,
                "bound": outcome.rule.bound,
                "k": outcome.rule.k,
                "n": outcome.rule.n,
                "breaches": outcome.breaches,
                "windows": outcome.windows,
                "latest": outcome.latest,
                "sample_size": window["sample_sizes"].get(outcome.rule.metric),
                "model_name": model_name,
                "model_version": model_version,
                "window_id": window["window_id"],
                "window_start": window["start"].isoformat(),
                "window_end": window["end"].isoformat(),
                "message": outcome.describe(),
            },
            at=now,
        )


def parse_interval(text: str) -> float:
    """Seconds in ``30s``, ``5m``, ``1h`` or ``1d`` (a bare number is seconds)."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = str(text).strip().lower()
    number, unit = (raw[:-1], raw[-1]) if raw and raw[-1] in units else (raw, "s")
    try:
        seconds = float(number) * units[unit]
    except ValueError:
        seconds = -1.0
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"interval {text!r} is not a positive duration such as 30s, 5m, 1h or 1d")
    return seconds
