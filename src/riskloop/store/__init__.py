"""The only place that writes SQL: the prediction log and the observed outcomes (labels),
monitor results, audit events, quarantined feedback batches, shadow predictions and API keys."""

from riskloop.store.api_keys import ApiKeyStore
from riskloop.store.monitor_results import MonitoringStore
from riskloop.store.predictions import (
    DuplicateLabelError,
    PredictionRecord,
    PredictionStore,
    UnknownApplicationError,
)
from riskloop.store.retraining import RetrainingStore
from riskloop.store.shadow import ShadowStore

__all__ = [
    "ApiKeyStore",
    "DuplicateLabelError",
    "MonitoringStore",
    "PredictionRecord",
    "PredictionStore",
    "RetrainingStore",
    "ShadowStore",
    "UnknownApplicationError",
]
