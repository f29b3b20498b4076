"""Feedback batches for retraining: accepted whole (one transaction into ``labels``) or refused
whole into ``quarantined_batches`` with the reason, on the same database as the
prediction log (tables in :mod:`riskloop.store.tables`).

A refused batch keeps every row as received (JSON), so a person can read what was wrong, fix
it and send it again; nothing already stored is touched by a refusal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select, update

from riskloop.store.tables import labels, predictions, quarantined_batches


class RetrainingStore:
    """Feedback batches through ``engine`` (the prediction store's). The tables are created by
    :class:`~riskloop.store.PredictionStore` or the migrations."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def scored_ids(self, application_ids: Sequence[str]) -> set[str]:
        """The ids among ``application_ids`` that were scored (are in the prediction log)."""
        return self._present(predictions.c.application_id, application_ids)

    def labelled_ids(self, application_ids: Sequence[str]) -> set[str]:
        """The ids among ``application_ids`` that already have an outcome."""
        return self._present(labels.c.application_id, application_ids)

    def stored_outcomes(self, application_ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
        """The outcome already stored for each of ``application_ids`` that has one, with the
        source that sent it (None: the API)."""
        found: dict[str, tuple[int, str | None]] = {}
        unique = list(dict.fromkeys(application_ids))
        query = select(labels.c.application_id, labels.c.outcome, labels.c.source)
        with self.engine.connect() as connection:
            for start in range(0, len(unique), 500):
                where = labels.c.application_id.in_(unique[start : start + 500])
                for row in connection.execute(query.where(where)):
                    found[row[0]] = (int(row[1]), row[2])
        return found

    def _present(self, column: Any, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        with self.engine.connect() as connection:
            for start in range(0, len(unique), 500):  # stay under SQL parameter limits
                chunk = unique[start : start + 500]
                found |= {r[0] for r in connection.execute(select(column).where(column.in_(chunk)))}
        return found

    def add_labels(
        self,
        rows: Sequence[dict[str, Any]],
        received_at: datetime,
        *,
        status: str = "unchecked",
        source: str | None = None,
        batch_id: int | None = None,
    ) -> int:
        """Store outcomes ``{"application_id", "outcome", "observed_at"?}`` in ONE transaction:
        all are stored or none (a constraint violation rolls the whole batch back)."""
        values = [
            {
                "application_id": str(r["application_id"]),
                "outcome": int(r["outcome"]),
                "observed_at": r.get("observed_at"),
                "received_at": received_at,
                "status": status,
                "source": None if source is None else source[:500],
                "batch_id": batch_id,
            }
            for r in rows
        ]
        if values:
            with self.engine.begin() as connection:
                connection.execute(insert(labels), values)
        return len(values)

    def quarantine(
        self,
        source: str,
        reason: list[str],
        rows: list[dict[str, Any]],
        received_at: datetime | None = None,
        evidence: dict[str, Any] | None = None,
    ) -> int:
        """Keep a refused batch with its reasons (and the label checks' numbers, where they
        ran); returns the quarantine id."""
        with self.engine.begin() as connection:
            batch_id = connection.execute(
                insert(quarantined_batches)
                .values(
                    received_at=received_at or datetime.now(UTC),
                    source=source[:500],
                    n_rows=len(rows),
                    reason=reason,
                    rows=rows,
                    evidence=evidence,
                )
                .returning(quarantined_batches.c.id)
            ).scalar_one()
        return int(batch_id)

    def quarantined(self) -> list[dict[str, Any]]:
        """Quarantined batches, oldest first."""
        with self.engine.connect() as connection:
            return [
                dict(r)
                for r in connection.execute(
                    select(quarantined_batches).order_by(quarantined_batches.c.id)
                ).mappings()
            ]

    def quarantined_batch(self, batch_id: int) -> dict[str, Any] | None:
        """One quarantined batch, or None when there is no such id."""
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(quarantined_batches).where(quarantined_batches.c.id == batch_id)
                )
                .mappings()
                .first()
            )
        return None if row is None else dict(row)

    def logged_scores(self, application_ids: Sequence[str]) -> pd.DataFrame:
        """What the prediction log holds of these applications: ``application_id``,
        ``decided_at`` (when scored), ``probability`` (logged) and ``inputs``."""
        unique = list(dict.fromkeys(str(i) for i in application_ids))
        rows: list[dict[str, Any]] = []
        query = select(
            predictions.c.application_id,
            predictions.c.received_at.label("decided_at"),
            predictions.c.probability,
            predictions.c.inputs,
        )
        with self.engine.connect() as connection:
            for start in range(0, len(unique), 500):
                chunk = unique[start : start + 500]
                where = predictions.c.application_id.in_(chunk)
                rows += [dict(r) for r in connection.execute(query.where(where)).mappings()]
        return pd.DataFrame.from_records(
            rows, columns=["application_id", "decided_at", "probability", "inputs"]
        )

    def unchecked_outcomes(self) -> pd.DataFrame:
        """Outcomes not yet checked, with what the log holds of their application: columns
        ``application_id``, ``outcome``, ``observed_at``, ``received_at``, ``source``,
        ``decided_at``, ``probability``, ``inputs``; oldest first."""
        query = (
            select(
                labels.c.application_id,
                labels.c.outcome,
                labels.c.observed_at,
                labels.c.received_at,
                labels.c.source,
                predictions.c.received_at.label("decided_at"),
                predictions.c.probability,
                predictions.c.inputs,
            )
            .join(predictions, predictions.c.application_id == labels.c.application_id)
            .where(labels.c.status == "unchecked")
            .order_by(labels.c.id)
        )
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        columns = [
            "application_id", "outcome", "observed_at", "received_at", "source",
            "decided_at", "probability", "inputs",
        ]  # fmt: skip
        return pd.DataFrame.from_records(rows, columns=columns)

    def set_label_status(
        self, application_ids: Sequence[str], status: str, batch_id: int | None = None
    ) -> None:
        """Mark stored outcomes ``status`` (and the quarantined batch holding them)."""
        ids = list(dict.fromkeys(str(i) for i in application_ids))
        with self.engine.begin() as connection:
            for start in range(0, len(ids), 500):
                connection.execute(
                    update(labels)
                    .where(labels.c.application_id.in_(ids[start : start + 500]))
                    .values(status=status, batch_id=batch_id)
                )

    def batch_label_ids(self, batch_id: int) -> list[str]:
        """The stored outcomes a quarantined batch holds (outcomes that came through the API)."""
        with self.engine.connect() as connection:
            return [
                r[0]
                for r in connection.execute(
                    select(labels.c.application_id).where(labels.c.batch_id == batch_id)
                )
            ]

    def mark_released(self, batch_id: int, at: datetime, by: str, reason: str) -> None:
        """Record a person's release of a quarantined batch."""
        with self.engine.begin() as connection:
            connection.execute(
                update(quarantined_batches)
                .where(quarantined_batches.c.id == batch_id)
                .values(released_at=at, released_by=by[:200], release_reason=reason[:1000])
            )
