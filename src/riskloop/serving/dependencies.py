"""What routes need, as FastAPI dependencies: each reads the part the app factory put on
``app.state``, so a route declares what it uses and a test can replace any of them with
``app.dependency_overrides``.

They are ``async`` on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, a
thread hop per request on the scoring path for reading one attribute.
"""

from __future__ import annotations

from fastapi import Depends, Request

from riskloop.serving.config import ServiceConfig
from riskloop.serving.errors import APIError
from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.reloader import ModelReloader
from riskloop.serving.scoring import DecisionRecorder
from riskloop.store import PredictionStore


async def get_holder(request: Request) -> ModelHolder:
    """The holder of the model in service (and of recently served versions)."""
    holder: ModelHolder = request.app.state.holder
    return holder


async def current_model(holder: ModelHolder = Depends(get_holder)) -> LoadedModel:
    """The model in service, read once: the request uses this object to its end, whatever is
    swapped in meanwhile. 503 before a model is loaded."""
    model = holder.current
    if model is None:
        raise APIError(503, "no_model", "no model is loaded: train one with `riskloop run`")
    return model


async def json_body(request: Request) -> bytes:
    """The request body, once its ``Content-Type`` says it is JSON; 415 otherwise, a missing
    type included. A web page can send ``text/plain`` or a form to any origin without asking
    (no CORS preflight); ``application/json`` it cannot."""
    declared = request.headers.get("content-type")
    if (declared or "").split(";", 1)[0].strip().lower() != "application/json":
        received = repr(declared) if declared else "no Content-Type"
        raise APIError(
            415,
            "unsupported_media_type",
            f"the body must be JSON sent with Content-Type: application/json (received {received})",
        )
    return await request.body()


async def get_store(request: Request) -> PredictionStore:
    """The prediction log, outcomes and monitor results."""
    store: PredictionStore = request.app.state.store
    return store


async def get_config(request: Request) -> ServiceConfig:
    """The service's limits and switches."""
    config: ServiceConfig = request.app.state.config
    return config


async def get_metrics(request: Request) -> ServiceMetrics:
    """The app's Prometheus metrics."""
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


async def get_recorder(request: Request) -> DecisionRecorder:
    """Logs scored applications (group commit) before they are answered."""
    recorder: DecisionRecorder = request.app.state.recorder
    return recorder


async def get_reloader(request: Request) -> ModelReloader:
    """Loads and swaps the champion."""
    reloader: ModelReloader = request.app.state.reloader
    return reloader
