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

from sqlalchemy import Engine, insert, select

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

    def _present(self, column: Any, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        unique = list(dict.fromkeys(ids))
        with self.engine.connect() as connection:
            for start in range(0, len(unique), 500):  # stay under SQL parameter limits
                chunk = unique[start : start + 500]
                found |= {r[0] for r in connection.execute(select(column).where(column.in_(chunk)))}
        return found

    def add_labels(self, rows: Sequence[dict[str, Any]], received_at: datetime) -> int:
        """Store outcomes ``{"application_id", "outcome", "observed_at"?}`` in ONE transaction:
        all are stored or none (a constraint violation rolls the whole batch back)."""
        values = [
            {
                "application_id": str(r["application_id"]),
                "outcome": int(r["outcome"]),
                "observed_at": r.get("observed_at"),
                "received_at": received_at,
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
    ) -> int:
        """Keep a refused batch with its reasons; returns the quarantine id."""
        with self.engine.begin() as connection:
            batch_id = connection.execute(
                insert(quarantined_batches)
                .values(
                    received_at=received_at or datetime.now(UTC),
                    source=source[:500],
                    n_rows=len(rows),
                    reason=reason,
                    rows=rows,
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
