"""Monitor results and audit events, on the same database as the prediction log (tables in
:mod:`riskloop.store.tables`).

* ``monitor_results``: one row per (model version, window, metric) with the value and the number
  of rows it was computed on. A window's metrics are recomputed on every monitor run (labels
  arrive late, so its realised figures move); the newest computation replaces the older one.
* ``audit_events``: an append-only journal of what the loop decided and why — a trigger that
  fired (with its numbers), a retrain, a gate verdict, a promotion, a rollback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, delete, insert, select

from riskloop.store.tables import audit_events, monitor_results


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


class MonitoringStore:
    """Read and write monitor results and audit events through ``engine`` (the prediction
    store's: ``MonitoringStore(prediction_store.engine)``, or ``prediction_store.monitoring``).
    The tables are created by :class:`~riskloop.store.PredictionStore` or the migrations."""

    def __init__(self, engine: Engine):
        self.engine = engine

    # ---- monitor results
    def save_window(
        self,
        model_name: str,
        model_version: str,
        window_id: str,
        window_start: datetime,
        window_end: datetime,
        metrics: Mapping[str, tuple[float | None, int]],
        computed_at: datetime,
    ) -> None:
        """Replace the stored metrics of one window by ``metrics`` = {name: (value, n)}."""
        rows = [
            {
                "model_name": model_name,
                "model_version": model_version,
                "window_id": window_id,
                "window_start": window_start,
                "window_end": window_end,
                "metric": name,
                "value": value,
                "n": int(n),
                "computed_at": computed_at,
            }
            for name, (value, n) in metrics.items()
        ]
        with self.engine.begin() as connection:
            connection.execute(
                delete(monitor_results).where(
                    monitor_results.c.model_name == model_name,
                    monitor_results.c.model_version == model_version,
                    monitor_results.c.window_id == window_id,
                )
            )
            if rows:
                connection.execute(insert(monitor_results), rows)

    def results(
        self,
        model_name: str | None = None,
        model_version: str | None = None,
        metrics: Iterable[str] | None = None,
        window_prefix: str | None = None,
    ) -> list[dict[str, Any]]:
        """Stored results, oldest window first (then by metric name)."""
        query = select(monitor_results)
        if model_name is not None:
            query = query.where(monitor_results.c.model_name == model_name)
        if model_version is not None:
            query = query.where(monitor_results.c.model_version == model_version)
        if metrics is not None:
            query = query.where(monitor_results.c.metric.in_(list(metrics)))
        if window_prefix is not None:
            query = query.where(monitor_results.c.window_id.startswith(window_prefix))
        query = query.order_by(
            monitor_results.c.window_start, monitor_results.c.window_id, monitor_results.c.metric
        )
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        for row in rows:
            for key in ("window_start", "window_end", "computed_at"):
                row[key] = _aware(row[key])
        return rows

    def history(
        self, model_name: str, model_version: str, metric: str, window_prefix: str | None = None
    ) -> list[float | None]:
        """One metric's value per stored window, oldest first (the input of alert rules)."""
        return [
            r["value"] for r in self.results(model_name, model_version, [metric], window_prefix)
        ]

    def latest_model_version(self, model_name: str) -> str | None:
        """The model version whose results were computed most recently."""
        query = (
            select(monitor_results.c.model_version)
            .where(monitor_results.c.model_name == model_name)
            .order_by(monitor_results.c.computed_at.desc(), monitor_results.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    # ---- audit events
    def record_audit_event(
        self,
        kind: str,
        payload: Mapping[str, Any],
        at: datetime | None = None,
        actor: str | None = None,
    ) -> int:
        """Append one event (``payload`` must be JSON-ready) done by ``actor`` (an API caller's
        name, ``cli:<os user>``; None: the loop itself); returns its id."""
        with self.engine.begin() as connection:
            event_id = connection.execute(
                insert(audit_events)
                .values(at=at or datetime.now(UTC), kind=kind, payload=dict(payload), actor=actor)
                .returning(audit_events.c.id)
            ).scalar_one()
        return int(event_id)

    def audit_events(self, kind: str | None = None, limit: int | None = None) -> list[dict]:
        """Events (optionally of one ``kind``), oldest first; the newest ``limit`` when set."""
        query = select(audit_events).order_by(audit_events.c.id.desc())
        if kind is not None:
            query = query.where(audit_events.c.kind == kind)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        for row in rows:
            row["at"] = _aware(row["at"])
        return rows[::-1]
