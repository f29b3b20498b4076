"""The service itself: liveness, readiness, Prometheus metrics and the monitor's results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response

from riskloop.serving.auth import Requires, public
from riskloop.serving.config import ServiceConfig
from riskloop.serving.dependencies import current_model, get_config, get_metrics, get_store
from riskloop.serving.errors import documented_errors
from riskloop.serving.identity import Role
from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.monitor_gauges import monitoring_document
from riskloop.store import PredictionStore

router = APIRouter(tags=["service"])


@router.get("/health", dependencies=[Depends(public)])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", dependencies=[Depends(public)], responses=documented_errors(503))
def ready(model: LoadedModel = Depends(current_model)) -> dict[str, str]:
    """Readiness: 200 once a model is loaded, 503 before."""
    return {"status": "ready", "model_name": model.name, "model_version": model.version}


# the scrape: anyone on loopback, any valid credential beyond it
@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(Requires(public_on_loopback=True))],
    responses=documented_errors(401, 429),
)
def prometheus_metrics(metrics: ServiceMetrics = Depends(get_metrics)) -> Response:
    """Prometheus metrics: requests and latency by route and status, score distribution,
    decisions, the model version in service, prediction-log commits and write failures."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get(
    "/v1/monitoring",
    dependencies=[Depends(Requires(Role.ANALYST))],
    responses=documented_errors(401, 403, 429, 503),
)
def monitoring(
    model: LoadedModel = Depends(current_model),
    store: PredictionStore = Depends(get_store),
    config: ServiceConfig = Depends(get_config),
) -> dict[str, Any]:
    """The monitor's newest windows for the model in service (every metric with its sample
    size), the triggers that fired, and the alert rules; empty windows until
    ``riskloop monitor`` has run."""
    document = monitoring_document(store.monitoring, model.name, model.version)
    return {**document, "rules": [dict(rule) for rule in config.monitor_rules]}
