"""One prediction-log row with every field filled, for the store tests: each test overrides only
what it is about."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from riskloop.store import PredictionRecord

T0 = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def logged(application_id: str, **fields: Any) -> PredictionRecord:
    """A row for ``application_id``: credit-risk v1, approved at 0.2 against 0.5, received
    at ``T0``, inputs ``{"Age": 30}``; any field can be given instead."""
    values: dict[str, Any] = {
        "received_at": T0,
        "model_name": "credit-risk",
        "model_version": "1",
        "inputs": {"Age": 30},
        "probability": 0.2,
        "decision": "approve",
        "threshold": 0.5,
        **fields,
    }
    return PredictionRecord(application_id=application_id, **values)
