"""The monitor's latest results as Prometheus gauges and as the ``GET /v1/monitoring`` document.

The monitor is a separate process (``riskloop monitor --every 5m``) that writes its results to
the store; the API reads them back — at most once every ``refresh_s`` seconds, whatever the
scrape rate — and exports the newest window of the model in service:

========================================== ==================================================
``riskloop_feature_psi{feature}``          PSI of each input in the newest window
``riskloop_prediction_psi``                PSI of the score distribution
``riskloop_realised_auc``                  AUC on the outcomes that arrived (decision window)
``riskloop_expected_auc``                  label-free AUC estimate from the probabilities
``riskloop_expected_bad_rate``             label-free bad rate among approved
``riskloop_bad_rate_approved``             realised bad rate among approved
``riskloop_monitor_window_rows``           applications in that window
``riskloop_monitor_last_run_timestamp_seconds`` when the monitor last wrote results
``riskloop_model_trained_timestamp_seconds`` when the served model was trained (its metadata)
========================================== ==================================================
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from riskloop.serving.model_holder import ModelHolder
from riskloop.store import MonitoringStore

TRIGGER_EVENT = "trigger"  # the kind riskloop.monitoring.monitor writes

# metric stored by the monitor → (gauge name, help)
_WINDOW_GAUGES = {
    "prediction_psi": ("riskloop_prediction_psi", "PSI of the score distribution, newest window"),
    "realised_auc": ("riskloop_realised_auc", "AUC on arrived outcomes, newest window"),
    "expected_auc": ("riskloop_expected_auc", "Label-free expected AUC, newest window"),
    "expected_bad_rate": (
        "riskloop_expected_bad_rate",
        "Label-free expected bad rate among approved, newest window",
    ),
    "bad_rate_approved": (
        "riskloop_bad_rate_approved",
        "Realised bad rate among approved, newest window",
    ),
    "rows": ("riskloop_monitor_window_rows", "Applications in the newest monitor window"),
}


def _timestamp(value: Any) -> float | None:
    if not value:
        return None
    when = datetime.fromisoformat(str(value))
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def monitoring_document(
    monitoring: MonitoringStore, model_name: str, model_version: str | None, windows: int = 30
) -> dict[str, Any]:
    """The newest ``windows`` monitor windows of a model version (all metrics, with their sample
    sizes) and the triggers that fired for it, newest last."""
    version = model_version or monitoring.latest_model_version(model_name)
    rows = monitoring.results(model_name, version) if version is not None else []
    by_window: dict[str, dict[str, Any]] = {}
    for row in rows:
        window = by_window.setdefault(
            row["window_id"],
            {
                "window_id": row["window_id"],
                "start": row["window_start"].isoformat(),
                "end": row["window_end"].isoformat(),
                "computed_at": row["computed_at"].isoformat(),
                "metrics": {},
                "n": {},
            },
        )
        window["metrics"][row["metric"]] = row["value"]
        window["n"][row["metric"]] = row["n"]
    triggers = [
        {"at": e["at"].isoformat(), **e["payload"]}
        for e in monitoring.audit_events(TRIGGER_EVENT, limit=200)
        if e["payload"].get("model_name") == model_name
        and (version is None or e["payload"].get("model_version") == version)
    ]
    return {
        "model_name": model_name,
        "model_version": version,
        "windows": list(by_window.values())[-windows:],
        "triggers": triggers[-50:],
    }


class MonitorGauges(Collector):
    """Prometheus collector of the monitor's newest results for the model in service.

    Parameters
    ----------
    monitoring : MonitoringStore
        Where the monitor writes.
    current_model : callable
        Returns ``(name, version, trained_at)`` of the model in service, or None.
    refresh_s : float
        The results are read from the database at most this often (a scrape storm costs one
        query per interval).
    """

    def __init__(
        self,
        monitoring: MonitoringStore,
        current_model: Callable[[], tuple[str, str, Any] | None],
        refresh_s: float = 30.0,
    ):
        self.monitoring = monitoring
        self.current_model = current_model
        self.refresh_s = refresh_s
        self._lock = threading.Lock()
        self._cached: tuple[float, tuple[str, str] | None, dict[str, Any]] = (-1e18, None, {})

    @classmethod
    def of_holder(
        cls, monitoring: MonitoringStore, holder: ModelHolder, refresh_s: float
    ) -> MonitorGauges:
        """Gauges of whichever model ``holder`` serves at each scrape."""

        def in_service() -> tuple[str, str, Any] | None:
            model = holder.current
            if model is None:
                return None
            return model.name, model.version, model.scorer.metadata.get("trained_at")

        return cls(monitoring, in_service, refresh_s)

    def _latest(self, name: str, version: str) -> dict[str, Any]:
        now = time.monotonic()
        with self._lock:
            read_at, key, latest = self._cached
            if key == (name, version) and now - read_at < self.refresh_s:
                return latest
            try:
                document = monitoring_document(self.monitoring, name, version, windows=1)
            except Exception:  # a metrics scrape never fails because the store is busy
                document = {"windows": []}
            latest = document["windows"][-1] if document["windows"] else {}
            self._cached = (now, (name, version), latest)
            return latest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        model = self.current_model()
        trained = GaugeMetricFamily(
            "riskloop_model_trained_timestamp_seconds",
            "When the model in service was trained (Unix time)",
        )
        psi = GaugeMetricFamily(
            "riskloop_feature_psi", "PSI of each input feature, newest window", labels=["feature"]
        )
        gauges = {k: GaugeMetricFamily(g, h) for k, (g, h) in _WINDOW_GAUGES.items()}
        last_run = GaugeMetricFamily(
            "riskloop_monitor_last_run_timestamp_seconds",
            "When the monitor last computed results for the model in service (Unix time)",
        )
        if model is not None:
            name, version, trained_at = model
            stamp = _timestamp(trained_at)
            if stamp is not None:
                trained.add_metric([], stamp)
            latest = self._latest(name, version)
            metrics = latest.get("metrics", {})
            for metric, value in metrics.items():
                if metric.startswith("psi:") and value is not None:
                    psi.add_metric([metric.removeprefix("psi:")], value)
            for metric, gauge in gauges.items():
                if metrics.get(metric) is not None:
                    gauge.add_metric([], metrics[metric])
            computed_at = _timestamp(latest.get("computed_at"))
            if computed_at is not None:
                last_run.add_metric([], computed_at)
        yield trained
        yield psi
        yield from gauges.values()
        yield last_run
