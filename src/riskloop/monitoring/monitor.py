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

from riskloop.evaluation.drift import (
    drift_by_feature,
    ks_against_reference,
    numeric_bin_counts,
    population_stability_index,
)
from riskloop.evaluation.fairness import fairness_report, sensitive_groups
from riskloop.evaluation.label_free import expected_auc, expected_bad_rate
from riskloop.evaluation.metrics import classification_metrics
from riskloop.monitoring.alerts import RuleOutcome, evaluate_rule
from riskloop.monitoring.config import MonitorConfig
from riskloop.monitoring.drift import EmptyPredictionLogError
from riskloop.scorer import Scorer
from riskloop.store import PredictionStore

TRIGGER_EVENT = "trigger"


@dataclass(frozen=True)
class Window:
    """One window of the log: its id, bounds and the row ids of the applications in it."""

    window_id: str
    start: datetime
    end: datetime
    row_ids: np.ndarray


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


# --------------------------------------------------------------------------- windows
def cut_windows(
    times: pd.DataFrame, config: MonitorConfig, now: datetime | None = None
) -> list[Window]:
    """Windows of the log from its row ids and arrival times (``PredictionStore.received_times``).

    Count windows are consecutive ``window_size`` rows in arrival order, numbered from the
    first logged row; time windows are calendar bins of the offset (anchored at the Unix epoch,
    so a window keeps its id across runs). The newest window is kept while unfinished only when
    it has ``min_window_rows`` rows; finished windows are always kept.
    """
    if times.empty:
        return []
    ids = times["id"].to_numpy()
    received = pd.to_datetime(times["received_at"], utc=True)
    windows: list[Window] = []
    if config.window_by == "count":
        size = int(config.window_size)
        for index, first in enumerate(range(0, len(ids), size)):
            chunk = slice(first, first + size)
            row_ids = ids[chunk]
            if len(row_ids) < size and len(row_ids) < config.min_window_rows:
                continue  # the newest window is still filling
            windows.append(
                Window(
                    f"{config.window_prefix}#{index}",
                    received.iloc[chunk].min().to_pydatetime(),
                    received.iloc[chunk].max().to_pydatetime(),
                    row_ids,
                )
            )
        return windows
    offset = pd.tseries.frequencies.to_offset(str(config.window_size))
    now_ts = pd.Timestamp(now or datetime.now(UTC))
    now_ts = now_ts.tz_localize(UTC) if now_ts.tzinfo is None else now_ts
    frame = pd.DataFrame({"id": ids, "received_at": received.to_numpy()})
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
    grouped = frame.groupby(pd.Grouper(key="received_at", freq=offset, origin="epoch"))
    for start, group in grouped:
        if group.empty:
            continue
        end = start + offset
        if end > now_ts and len(group) < config.min_window_rows:
            continue
        windows.append(
            Window(
                f"{config.window_prefix}{start.isoformat()}",
                start.to_pydatetime(),
                end.to_pydatetime(),
                group["id"].to_numpy(),
            )
        )
    return windows


# --------------------------------------------------------------------------- metrics
def _number(value: Any) -> float | None:
    """A finite float, or None (JSON and SQL cannot hold NaN)."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def reference_expected_auc(scorer: Scorer) -> float | None:
    """The label-free AUC of the training scores (from the score profile's sample): what the
    model expects of itself on the population it was trained on. None for older scorers."""
    score = (scorer.reference or {}).get("score")
    if not score or len(score.get("sample", [])) < 2:
        return None
    return _number(expected_auc(np.asarray(score["sample"], dtype=np.float64)))


def prediction_drift(scorer: Scorer, probability: np.ndarray) -> tuple[float | None, float | None]:
    """PSI and KS p-value of the window's scores against the training score profile; (None,
    None) for a scorer trained before score profiles existed."""
    score = (scorer.reference or {}).get("score")
    if not score:
        return None, None
    counts = numeric_bin_counts(probability, score["edges"])
    psi = population_stability_index(np.asarray(score["shares"]), counts)
    _, p_value = ks_against_reference(np.asarray(score["sample"], dtype=np.float64), probability)
    return _number(psi), _number(p_value)


def selection_rate_parity(approved: np.ndarray, labels: pd.Series) -> float | None:
    """min over groups of the approval rate / max over groups (needs two groups)."""
    rates = pd.Series(approved.astype(np.float64), index=labels.index).groupby(labels).mean()
    if len(rates) < 2 or rates.max() <= 0:
        return None
    return _number(rates.min() / rates.max())


def window_metrics(
    scorer: Scorer,
    inputs: pd.DataFrame,
    probability: np.ndarray,
    outcome: pd.Series,
    latency_ms: pd.Series,
    min_labelled: int,
    scenario: Any = None,
) -> tuple[dict[str, tuple[float | None, int]], pd.DataFrame]:
    """Every metric of one window as {name: (value, n)}, and its per-feature drift table.

    ``outcome`` holds 1/0 where the outcome has arrived, NaN elsewhere.
    """
    n = len(inputs)
    metrics: dict[str, tuple[float | None, int]] = {"rows": (float(n), n)}
    drift = drift_by_feature(scorer.reference, inputs)
    drift = drift.sort_values("psi", ascending=False, ignore_index=True)
    for row in drift.itertuples():
        metrics[f"psi:{row.feature}"] = (_number(row.psi), int(row.n))
        metrics[f"p_value:{row.feature}"] = (_number(row.p_value), int(row.n))
    metrics["max_feature_psi"] = (_number(drift["psi"].max()) if len(drift) else None, n)
    psi, p_value = prediction_drift(scorer, probability)
    metrics["prediction_psi"] = (psi, n)
    metrics["prediction_p_value"] = (p_value, n)

    approved = probability < scorer.threshold
    metrics["approval_rate"] = (_number(approved.mean()) if n else None, n)
    metrics["mean_probability"] = (_number(probability.mean()) if n else None, n)
    reference_auc = reference_expected_auc(scorer)
    estimated = _number(expected_auc(probability))
    metrics["expected_auc"] = (estimated, n)
    metrics["expected_bad_rate"] = (
        _number(expected_bad_rate(probability, approved)),
        int(approved.sum()),
    )
    metrics["expected_auc_drop"] = (
        None if reference_auc is None or estimated is None else reference_auc - estimated,
        n,
    )

    labelled = outcome.notna().to_numpy()
    n_labelled = int(labelled.sum())
    metrics["n_labelled"] = (float(n_labelled), n_labelled)
    y = outcome.to_numpy()[labelled].astype(np.int64)
    p = probability[labelled]
    both_classes = n_labelled >= min_labelled and 0 < y.sum() < n_labelled
    realised = classification_metrics(y, p) if both_classes else {}
    for name in ("auc", "ks", "brier", "bad_rate"):
        metrics[f"realised_{name}"] = (_number(realised.get(name)), n_labelled)
    metrics["expected_auc_labelled"] = (
        _number(expected_auc(p)) if both_classes else None,
        n_labelled,
    )
    approved_labelled = approved[labelled]
    metrics["bad_rate_approved"] = (
        _number(y[approved_labelled].mean())
        if n_labelled >= min_labelled and approved_labelled.any()
        else None,
        int(approved_labelled.sum()),
    )
    metrics["realised_auc_drop"] = (
        None
        if reference_auc is None or realised.get("auc") is None
        else reference_auc - realised["auc"],
        n_labelled,
    )

    if scenario is not None and scenario.data.sensitive:
        present = [a for a in scenario.data.sensitive if a in inputs.columns]
        if present:
            groups = sensitive_groups(inputs[present], _only(scenario, present))
            for attribute in present:
                metrics[f"selection_rate_parity:{attribute}"] = (
                    selection_rate_parity(approved, groups[attribute]),
                    n,
                )
            if both_classes:
                report = fairness_report(
                    y, approved_labelled, p, groups[labelled].reset_index(drop=True), 0
                )
                for attribute, summary in report.items():
                    for measure in ("demographic_parity_ratio", "equalized_odds_difference"):
                        metrics[f"{measure}:{attribute}"] = (
                            _number(summary[measure]),
                            n_labelled,
                        )

    latency = pd.to_numeric(latency_ms, errors="coerce").dropna().to_numpy()
    for q in (50, 95, 99):
        metrics[f"latency_p{q}_ms"] = (
            _number(np.percentile(latency, q)) if latency.size else None,
            int(latency.size),
        )
    return metrics, drift


class _OnlyAttributes:
    """A scenario view whose sensitive attributes are only those present in the log."""

    def __init__(self, scenario: Any, present: list[str]):
        self.fairness = scenario.fairness
        self.data = type("Data", (), {"sensitive": present})()


def _only(scenario: Any, present: list[str]) -> Any:
    if list(scenario.data.sensitive) == present:
        return scenario
    return _OnlyAttributes(scenario, present)


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
        metrics[name] = (_number(value), 1)
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


# --------------------------------------------------------------------------- service health
def scrape_service_health(metrics_text: str) -> dict[str, float | None]:
    """Error rate and prediction-log write failures from the API's Prometheus exposition.

    Counters are totals since the API process started: ``api_error_rate`` is the share of all
    requests it answered with a 5xx since then (Prometheus' ``rate()`` gives the recent rate;
    see deploy/prometheus/alerts.yml).
    """
    from prometheus_client.parser import text_string_to_metric_families

    total = errors = failures = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name == "riskloop_http_requests_total":
                total += sample.value
                if sample.labels.get("status", "").startswith("5"):
                    errors += sample.value
            elif sample.name == "riskloop_prediction_log_write_failures_total":
                failures += sample.value
    return {
        "api_error_rate": errors / total if total else None,
        "api_log_write_failures": failures,
    }


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
