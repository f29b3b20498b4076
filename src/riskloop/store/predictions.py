"""Prediction log: every scored application, with its inputs, score, decision and model version.

SQLAlchemy Core on any database URL: SQLite by default (``RISKLOOP_DATABASE_URL`` unset),
PostgreSQL in deployments — the same code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    select,
)

metadata = MetaData()

predictions = Table(
    "predictions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("application_id", String(64), nullable=False, index=True, unique=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", String(32), nullable=False),
    Column("inputs", JSON, nullable=False),
    Column("probability", Float, nullable=False),
    Column("decision", String(16), nullable=False),
    Column("threshold", Float, nullable=False),
    Column("latency_ms", Float, nullable=True),
)


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


class PredictionStore:
    """Append and read the prediction log at ``url``; tables are created when missing."""

    def __init__(self, url: str, engine: Engine | None = None):
        self.url = url
        self.engine = engine or create_engine(url, future=True)
        metadata.create_all(self.engine)

    def append(self, records: Sequence[PredictionRecord]) -> None:
        """Write records in one transaction: all of them are stored, or none."""
        if not records:
            return
        with self.engine.begin() as connection:
            connection.execute(insert(predictions), [asdict(r) for r in records])

    def count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(predictions)).scalar())

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

    def recent_inputs(self, limit: int | None = None) -> pd.DataFrame:
        """The logged inputs as a DataFrame (newest ``limit`` rows; all when None)."""
        query = select(predictions.c.inputs).order_by(predictions.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as connection:
            rows = [r[0] for r in connection.execute(query)]
        return pd.DataFrame.from_records(rows)

    def dispose(self) -> None:
        self.engine.dispose()
