"""FastAPI application factory.

``create_app(holder, store, load_model=...)`` takes its dependencies as arguments: tests pass a
scorer and an in-memory store; ``riskloop serve`` passes loaders that read the champion from
the registry. It only assembles: the parts (model reloader, shadow scorer, decision recorder,
metrics) go on ``app.state``, where the dependencies of :mod:`riskloop.serving.dependencies` find
them; the routes live in :mod:`riskloop.serving.routes`, one router per concern; errors have one
JSON shape (:mod:`riskloop.serving.errors`); the OpenAPI document follows the model in service
(:mod:`riskloop.serving.openapi`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool

from riskloop.serving.admission import AdmissionLimiter, AdmissionMiddleware
from riskloop.serving.auth import (
    AdminTokenVerifier,
    ApiKeyVerifier,
    Authenticator,
    AuthGuard,
    FailureThrottle,
)
from riskloop.serving.config import ServiceConfig
from riskloop.serving.errors import APIError, install_error_handlers
from riskloop.serving.identity import TokenVerifier
from riskloop.serving.metrics import RouteTemplates, ServiceMetrics, ServiceMiddleware
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.monitor_gauges import MonitorGauges
from riskloop.serving.openapi import ModelOpenAPI
from riskloop.serving.reloader import ModelReloader
from riskloop.serving.routes import (
    admin,
    applicants,
    docs,
    explain,
    feedback,
    me,
    model,
    score,
    service,
)
from riskloop.serving.scoring import DecisionRecorder
from riskloop.serving.shadow import ShadowScorer
from riskloop.store import ApiKeyStore, PredictionStore, ShadowStore

__all__ = ["ServiceConfig", "create_app"]

DESCRIPTION = (
    "Scores loan applications with the registered champion model and logs every decision."
    " Field names, ranges and categories come from the model in service (GET /v1/schema); this"
    " document describes that model's fields."
)


def create_app(
    holder: ModelHolder,
    store: PredictionStore,
    load_model: Callable[[], LoadedModel | None] | None = None,
    *,
    config: ServiceConfig | None = None,
    champion_version: Callable[[], str | tuple[str, str] | None] | None = None,
    load_version: Callable[[str], LoadedModel] | None = None,
    load_shadow: Callable[[str], LoadedModel | None] | None = None,
    shadow_version: Callable[[str], str | None] | None = None,
    verifiers: Sequence[TokenVerifier] = (),
) -> FastAPI:
    """Build the scoring API.

    Parameters
    ----------
    holder : ModelHolder
        The model in service (possibly empty until ``load_model`` finds one).
    store : PredictionStore
        The prediction log and the observed outcomes.
    load_model : callable, optional
        Loads the current champion (None when there is none); called at start-up when the
        holder is empty, by ``POST /v1/admin/reload`` and by the periodic check.
    config : ServiceConfig, optional
        Limits, the admin token and the reload interval (defaults: see :class:`ServiceConfig`).
    champion_version : callable, optional
        Returns the version the champion alias points at — or ``(version, content digest)``, so a
        model changed in place is noticed — cheaply; the periodic check calls it and loads only
        when it differs from the model in service.
    load_version : callable, optional
        Loads one version by number, to explain an application scored by a former champion.
    load_shadow : callable, optional
        Loads the model behind an alias (``config.shadow_alias``), like ``load_model`` does the
        champion; called at start-up, on reload and by the periodic check.
    shadow_version : callable, optional
        Returns the version an alias points at, cheaply, so the periodic check loads the
        shadow model only when its alias moved.
    verifiers : sequence of TokenVerifier, optional
        Further credentials to accept (an OpenID Connect verifier), asked after the API keys
        in ``store`` and the admin token (:mod:`riskloop.serving.auth`).
    """
    config = config or ServiceConfig()
    metrics = ServiceMetrics()
    shadow = ShadowScorer(
        holder, ShadowStore(store.engine), metrics, config.shadow_alias, load_shadow, shadow_version
    )
    app = FastAPI(
        title="riskloop scoring API",
        version="1",
        description=DESCRIPTION,
        lifespan=_lifespan,
        # the document and its pages are routes of their own (routes/docs.py), with a role
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    state = app.state
    state.holder, state.store, state.config, state.metrics = holder, store, config, metrics
    state.shadow = shadow
    admin_token = [AdminTokenVerifier(config.admin_token)] if config.admin_token else []
    state.auth = AuthGuard(
        Authenticator(
            [ApiKeyVerifier(ApiKeyStore(store.engine)), *admin_token, *verifiers],
            cache_s=config.auth_cache_s,
        ),
        FailureThrottle(config.auth_failure_limit, config.auth_failure_window_s),
        metrics,
        loopback=config.loopback,
    )
    state.recorder = DecisionRecorder.open(store, config, metrics, shadow)
    state.writer = state.recorder.writer
    state.reloader = ModelReloader(
        holder, metrics, load_model, champion_version, load_version, before_check=shadow.refresh
    )
    state.monitor_gauges = MonitorGauges.of_holder(
        store.monitoring, holder, config.monitor_refresh_s
    )
    metrics.registry.register(state.monitor_gauges)

    install_error_handlers(app)
    routers = (
        service.router,
        docs.router,
        model.router,
        score.router,
        explain.router,
        feedback.router,
        applicants.router,
        admin.router,
        me.router,
    )
    for router in routers:
        app.include_router(router)
    # the last added runs first: metrics and body limits see every request that reaches the app,
    # shed ones included (the server's protocol refuses at the door, before the app, what the
    # limiter would refuse at once: riskloop serve passes it state.admission)
    state.admission = AdmissionLimiter(config.max_in_flight, config.max_waiting, config.max_wait_s)
    app.add_middleware(AdmissionMiddleware, limiter=state.admission, on_shed=metrics.shed.inc)
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body_bytes=config.max_body_bytes,
        on_too_large=lambda message: APIError(413, "body_too_large", message),
        route_templates=RouteTemplates.of_routers(routers),
        body_timeout_s=config.body_timeout_s,
        on_body_timeout=lambda message: APIError(
            408, "body_timeout", message, headers={"Connection": "close"}
        ),
    )
    app.openapi = ModelOpenAPI(app, holder, config.max_batch_rows)  # type: ignore[method-assign]
    return app


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Start: the champion (when the holder is empty), the shadow model, the periodic check.
    Stop: the check, then every shadow score and log row of answered requests is written."""
    state = app.state
    await state.reloader.start()
    await run_in_threadpool(state.shadow.refresh)
    state.reloader.watch(state.config.reload_interval_s)
    try:
        yield
    finally:
        await state.reloader.stop()
        await state.shadow.drain()
        await state.recorder.close()
        state.store.dispose()
