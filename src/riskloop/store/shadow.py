"""Shadow predictions: the challenger's scores of live applications, logged beside the champion's
answer and never returned (docs/retraining.md, "Shadow period").

One row per application and shadow model version; the application must be in the prediction
log (the champion's row is committed before the shadow row is written).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Engine, insert, select

from riskloop.store.tables import labels, predictions, shadow_predictions


class ShadowStore:
    """Shadow scores through ``engine`` (the prediction store's). The table is created by
    :class:`~riskloop.store.PredictionStore` or the migrations."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def append(self, rows: Sequence[dict[str, Any]]) -> int:
        """Write ``rows`` (application_id, model_name, model_version, probability, decision,
        scored_at) in one transaction; returns how many."""
        values = [
            {
                "application_id": str(r["application_id"]),
                "model_name": str(r["model_name"]),
                "model_version": str(r["model_version"]),
                "probability": float(r["probability"]),
                "decision": str(r["decision"]),
                "scored_at": r["scored_at"],
            }
            for r in rows
        ]
        if values:
            with self.engine.begin() as connection:
                connection.execute(insert(shadow_predictions), values)
        return len(values)

    def rows(self, model_version: str | None = None) -> list[dict[str, Any]]:
        """Shadow rows (of one version when given), oldest first."""
        query = select(shadow_predictions).order_by(shadow_predictions.c.id)
        if model_version is not None:
            query = query.where(shadow_predictions.c.model_version == str(model_version))
        with self.engine.connect() as connection:
            return [dict(r) for r in connection.execute(query).mappings()]

    def labelled(
        self, model_name: str, model_version: str, champion_version: str | None = None
    ) -> pd.DataFrame:
        """Applications the shadow model ``model_version`` scored that have an outcome: one row
        each with the champion's logged probability and decision (``probability``,
        ``decision``, ``model_version``), the shadow's (``shadow_probability``,
        ``shadow_decision``), the inputs, the outcome and ``received_at``.

        ``champion_version``: only applications that version decided (a shadow period can
        outlive a promotion or a rollback; the comparison is with the champion of now)."""
        query = (
            select(
                predictions.c.application_id,
                predictions.c.received_at,
                predictions.c.model_version,
                predictions.c.probability,
                predictions.c.decision,
                predictions.c.inputs,
                shadow_predictions.c.probability.label("shadow_probability"),
                shadow_predictions.c.decision.label("shadow_decision"),
                labels.c.outcome,
                labels.c.observed_at,
            )
            .join(
                shadow_predictions,
                shadow_predictions.c.application_id == predictions.c.application_id,
            )
            .join(labels, labels.c.application_id == predictions.c.application_id)
            .where(shadow_predictions.c.model_name == str(model_name))
            .where(shadow_predictions.c.model_version == str(model_version))
            .order_by(predictions.c.id)
        )
        if champion_version is not None:
            query = query.where(predictions.c.model_version == str(champion_version))
        columns = [
            "application_id",
            "received_at",
            "model_version",
            "probability",
            "decision",
            "inputs",
            "shadow_probability",
            "shadow_decision",
            "outcome",
            "observed_at",
        ]
        with self.engine.connect() as connection:
            rows = [dict(r) for r in connection.execute(query).mappings()]
        return pd.DataFrame.from_records(rows, columns=columns)
