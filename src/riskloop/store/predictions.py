"""Prediction log and observed outcomes: every scored application, with its inputs, score,
decision, reason codes and model version; and, months later, what actually happened to it.

SQLAlchemy Core on any database URL: SQLite by default (``RISKLOOP_DATABASE_URL`` unset),
PostgreSQL in deployments — the same code.

Durability on SQLite
--------------------
Every SQLite connection is switched to write-ahead logging (``journal_mode=WAL``) with
``synchronous`` set by the store (default ``NORMAL``). In WAL mode a committed transaction is in
the WAL file before ``COMMIT`` returns, so it survives the *process* being killed (``kill -9``):
the operating system still holds the written pages. ``NORMAL`` skips the fsync on every commit,
so a power cut or kernel crash can lose the last transactions; ``FULL`` fsyncs each commit and
survives those too, at the price of one disk flush per commit (the service's group commit makes
that one flush per *batch* of requests). PostgreSQL fsyncs its WAL on commit by default.
Foreign keys are enforced (``PRAGMA foreign_keys=ON``), so an outcome can only be stored for an
application that was scored.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import pandas as pd
from sqlalchemy import (
    Engine,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from riskloop.store.monitor_results import MonitoringStore
from riskloop.store.tables import labels, metadata, predictions


@dataclass(frozen=True)
class PredictionRecord:
    application_id: str
    received_at: datetime
    model_name: str
    model_version: str
    inputs: dict[str, Any]
    probability: float
    decision: str
    threshold: float
    latency_ms: float | None = None
    reasons: list[dict[str, Any]] | None = field(default=None)
    # who asked: the API caller's name (``key:<name>``, ``user:<email>``, ``admin-token``)
    actor: str | None = None
    # the applicant's pseudonymous reference (riskloop.store.privacy.applicant_reference)
    applicant_ref: str | None = None
    # the application_id of the decision this one corrects (its inputs rectified, re-scored)
    rectifies: str | None = None


class UnknownApplicationError(LookupError):
    """An outcome was sent for an application_id that was never scored."""


class DuplicateLabelError(ValueError):
    """An outcome for this application_id is already stored."""


def _sqlite_pragmas(synchronous: str):
    def on_connect(connection: Any, record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # a reader (the monitor, a second process) never makes a write fail at once
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return on_connect


class PredictionStore:
    """Append and read the prediction log and the observed outcomes at ``url``.

    Parameters
    ----------
    url : str
        SQLAlchemy database URL (``sqlite:///path.db``, ``postgresql+psycopg://…``).
    engine : Engine, optional
        A ready engine (tests pass an in-memory SQLite one); built from ``url`` when None.
    sqlite_synchronous : {"NORMAL", "FULL"}
        SQLite's ``synchronous`` setting: ``NORMAL`` survives a killed process, ``FULL`` also
        a power cut (see the module docstring). Ignored on other databases.

    Tables missing from the database are created from :mod:`riskloop.store.tables` (so
    ``make run`` and the tests need no migration step); a schema older than the code is
    brought up to date by the migrations (``riskloop db upgrade``), never here.
    """

    def __init__(
        self,
        url: str,
        engine: Engine | None = None,
        sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    ):
        if sqlite_synchronous not in ("NORMAL", "FULL"):
            raise ValueError(
                f"sqlite_synchronous must be NORMAL or FULL, not {sqlite_synchronous!r}"
            )
        self.url = url
        self.engine = engine or create_engine(url, future=True)
        if self.engine.dialect.name == "sqlite":
            listener = _sqlite_pragmas(sqlite_synchronous)
            event.listen(self.engine, "connect", listener)
            # an engine passed in may already hold an open connection (in-memory StaticPool)
            with self.engine.connect() as connection:
                listener(connection.connection.dbapi_connection, None)
        metadata.create_all(self.engine)

    # ---- predictions
    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Write records in one transaction: all of them are stored, or none.

        Raises :class:`sqlalchemy.exc.IntegrityError` when an application_id is already logged.
        """
        if not records:
            return
        with self.engine.begin() as connection:
            # vars(), not asdict(): asdict deep-copies every input dict (the hot path)
            connection.execute(insert(predictions), [vars(r) for r in records])

    def count(self) -> int:
        query = select(func.count()).select_from(predictions)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def get(self, application_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(
                    select(predictions).where(predictions.c.application_id == application_id)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def application_ids(self) -> set[str]:
        """Every logged application_id (for audits and the durability test)."""
        with self.engine.connect() as connection:
            return {r[0] for r in connection.execute(select(predictions.c.application_id))}

    def set_explanation(self, application_id: str, explanation: dict[str, Any]) -> None:
        """Store the additive breakdown computed for a logged application."""
        with self.engine.begin() as connection:
            connection.execute(
                update(predictions)
                .where(predictions.c.application_id == application_id)
                .values(explanation=explanation)
            )

    def recent_inputs(self, limit: int | None = None) -> pd.DataFrame:
        """The logged inputs as a DataFrame (newest ``limit`` rows; all when None), leaving out
        rows whose inputs the retention policy purged."""
        query = (
            select(predictions.c.inputs)
            .where(predictions.c.inputs_purged_at.is_(None))
            .order_by(predictions.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = [r[0] for r in connection.execute(query)]
        return pd.DataFrame.from_records(rows)

    # ---- observed outcomes
    def add_label(
        self,
        application_id: str,
        outcome: int,
        received_at: datetime,
        observed_at: datetime | None = None,
        source: str | None = None,
    ) -> None:
        """Store the observed outcome (1 = the risky outcome) of a scored application, as
        "unchecked" evidence from ``source`` (e.g. ``api:<caller>``): the label checks group
        unchecked outcomes by source (docs/retraining.md).

        Raises
        ------
        UnknownApplicationError
            No application with this id was scored.
        DuplicateLabelError
            An outcome for it is already stored (outcomes are facts: they are not overwritten).
        """
        row = {
            "application_id": application_id,
            "outcome": int(outcome),
            "observed_at": observed_at,
            "received_at": received_at,
            "source": None if source is None else source[:500],
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(labels), [row])
        except IntegrityError:
            # the foreign key or the unique constraint refused it: tell which
            if self.get(application_id) is None:
                raise UnknownApplicationError(application_id) from None
            raise DuplicateLabelError(application_id) from None

    def get_label(self, application_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as connection:
            row = (
                connection.execute(select(labels).where(labels.c.application_id == application_id))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def labelled_predictions(self, checked_only: bool = False) -> pd.DataFrame:
        """Scored applications that have an observed outcome: one row each, with probability,
        decision, model version, inputs, outcome and the dates, in decision order (``received_at``,
        then log id). ``checked_only``: only outcomes
        that passed the label checks or were released by a person (what may train or judge a
        model; docs/retraining.md)."""
        query = select(
            predictions.c.application_id,
            predictions.c.received_at,
            predictions.c.model_version,
            predictions.c.probability,
            predictions.c.decision,
            predictions.c.inputs,
            labels.c.outcome,
            labels.c.observed_at,
        ).join(labels, labels.c.application_id == predictions.c.application_id)
        # decision order; the log's id cuts ties (one batch shares a timestamp), never the
        # order in which outcomes happened to arrive
        query = query.order_by(predictions.c.received_at, predictions.c.id)
        if checked_only:
            query = query.where(labels.c.status == "accepted")
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        return pd.DataFrame.from_records(
            rows,
            columns=[
                "application_id",
                "received_at",
                "model_version",
                "probability",
                "decision",
                "inputs",
                "outcome",
                "observed_at",
            ],
        )

    def received_times(self) -> pd.DataFrame:
        """Row id and ``received_at`` of every logged application, in log order (cheap: the
        monitor cuts its windows from these before reading any inputs)."""
        query = select(predictions.c.id, predictions.c.received_at).order_by(
            predictions.c.received_at, predictions.c.id
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=["id", "received_at"])
        frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True)
        return frame

    def log_with_outcomes(self, first_id: int | None = None) -> pd.DataFrame:
        """Logged applications (those with ``id >= first_id``; all when None), each with its
        outcome and the outcome's arrival time when one is stored (else missing)."""
        query = (
            select(
                predictions.c.id,
                predictions.c.application_id,
                predictions.c.received_at,
                predictions.c.model_version,
                predictions.c.inputs,
                predictions.c.probability,
                predictions.c.decision,
                predictions.c.latency_ms,
                labels.c.outcome,
                labels.c.received_at.label("label_received_at"),
            )
            .join(labels, labels.c.application_id == predictions.c.application_id, isouter=True)
            .order_by(predictions.c.id)
        )
        if first_id is not None:
            query = query.where(predictions.c.id >= first_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(
            rows,
            columns=[
                "id",
                "application_id",
                "received_at",
                "model_version",
                "inputs",
                "probability",
                "decision",
                "latency_ms",
                "outcome",
                "label_received_at",
            ],
        )
        for column in ("received_at", "label_received_at"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
        return frame

    def first_scored_at(self, model_version: str) -> datetime | None:
        """When ``model_version`` scored its first logged application (None: never)."""
        query = select(func.min(predictions.c.received_at)).where(
            predictions.c.model_version == model_version
        )
        with self.engine.connect() as connection:
            first = connection.execute(query).scalar()
        return first

    def count_labels_received_since(self, since: datetime | None) -> int:
        """Outcomes that arrived after ``since`` (all of them when None)."""
        query = select(func.count()).select_from(labels)
        if since is not None:
            query = query.where(labels.c.received_at > since)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    @property
    def monitoring(self) -> MonitoringStore:
        """Monitor results and audit events on this store's database."""
        return MonitoringStore(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
