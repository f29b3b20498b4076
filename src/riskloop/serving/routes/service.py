"""The service itself: liveness, readiness, Prometheus metrics and the monitor's results."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import PlainTextResponse, Response

from riskloop.serving.auth import Requires, public
from riskloop.serving.config import ServiceConfig
from riskloop.serving.dependencies import (
    current_model,
    get_config,
    get_holder,
    get_metrics,
    get_reloader,
    get_store,
)
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Role
from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.monitor_gauges import monitoring_document
from riskloop.serving.reloader import ModelReloader
from riskloop.store import PredictionStore

router = APIRouter(tags=["service"])


@router.get("/health", dependencies=[Depends(public)])
def health() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/ready", dependencies=[Depends(public)], responses=documented_errors(503))
def ready(
    holder: ModelHolder = Depends(get_holder), reloader: ModelReloader = Depends(get_reloader)
) -> dict[str, str]:
    """Readiness: 200 once a model is loaded, 503 before. Either way, when the last model offered
    was refused (its signature, its manifest, where its artifacts live), the answer says why."""
    model, refusal = holder.current, reloader.last_refusal
    if model is None:
        if refusal is None:
            raise APIError(503, "no_model", "no model is loaded: train one with `riskloop run`")
        raise APIError(
            503, "model_refused", f"no model is loaded: the registered model was refused: {refusal}"
        )
    answer = {"status": "ready", "model_name": model.name, "model_version": model.version}
    return answer if refusal is None else {**answer, "refused": refusal}


# the scrape: anyone on loopback, any valid credential beyond it. Its refusals are JSON like
# every error, not the text/plain of the metrics themselves: say so in the document.
_REFUSALS = {
    code: {**doc, "content": {"application/json": {}}}
    for code, doc in documented_errors(401, 429).items()
}


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    dependencies=[Depends(Requires(public_on_loopback=True))],
    responses=_REFUSALS,
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
