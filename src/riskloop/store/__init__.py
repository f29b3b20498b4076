"""The only place that writes SQL: the prediction log and the observed outcomes (labels)."""

from riskloop.store.predictions import (
    DuplicateLabelError,
    PredictionRecord,
    PredictionStore,
    UnknownApplicationError,
)

__all__ = [
    "DuplicateLabelError",
    "PredictionRecord",
    "PredictionStore",
    "UnknownApplicationError",
]
