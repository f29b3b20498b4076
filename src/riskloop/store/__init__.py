"""The only place that writes SQL: the prediction log (and, later, labels and monitor results)."""

from riskloop.store.predictions import PredictionRecord, PredictionStore

__all__ = ["PredictionRecord", "PredictionStore"]
