"""The only place that writes SQL: the prediction log and the observed outcomes (labels),
monitor results, audit events and quarantined feedback batches."""

# importing the module registers its tables on the shared ``metadata`` (create_all, Alembic)
from riskloop.store.monitoring import MonitoringStore
from riskloop.store.predictions import (
    DuplicateLabelError,
    PredictionRecord,
    PredictionStore,
    UnknownApplicationError,
)
from riskloop.store.retraining import RetrainingStore

__all__ = [
    "DuplicateLabelError",
    "MonitoringStore",
    "PredictionRecord",
    "PredictionStore",
    "RetrainingStore",
    "UnknownApplicationError",
]
