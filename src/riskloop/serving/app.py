"""FastAPI application factory.

``create_app(holder, store, load_model=...)`` takes its dependencies as arguments: tests pass a
scorer and an in-memory store; ``riskloop serve`` passes loaders that read the champion from
the registry. Every error has one JSON shape::

    {"error": {"code": "...", "message": "...", "fields": [{"field", "message", "received"}]}}

The scoring path (see docs/serving.md): the body is validated once by the model's prebuilt
pydantic type (in Rust, straight from the JSON bytes), the validated dicts go to
``Scorer.score_records`` (arrays, no pandas), the log rows go to the group-commit writer and the
request awaits their commit — an acknowledged score is a logged score — before the response is
written by hand (no second validation of our own output).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import secrets
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskloop.data.schema import InputSchema
from riskloop.serving.metrics import ServiceMetrics, ServiceMiddleware
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.monitoring import MonitorGauges, monitoring_document
from riskloop.serving.prediction_log import (
    EventLoopGroupCommitter,
    GroupCommitWriter,
    LogClosedError,
)
from riskloop.serving.schemas import (
    BatchResponse,
    ErrorResponse,
    ExplanationResponse,
    FeedbackRequest,
    FeedbackResponse,
    ModelInfo,
    ReloadResponse,
    ScoreResponse,
)
from riskloop.store import (
    DuplicateLabelError,
    PredictionRecord,
    PredictionStore,
    ShadowStore,
    UnknownApplicationError,
)

log = logging.getLogger(__name__)

# Batches above this many rows are validated and scored off the event loop.
_INLINE_ROWS = 32


@dataclass(frozen=True)
class ServiceConfig:
    """Limits and switches of one service instance (``riskloop serve`` fills it from Settings).

    Parameters
    ----------
    admin_token : str, optional
        Bearer token of the admin routes; when None the admin routes do not exist.
    max_body_bytes : int
        Larger request bodies are refused with 413 before they are read.
    max_batch_rows : int
        Most applications in one ``/v1/score/batch`` request (more: 413).
    reload_interval_s : float
        How often to ask the registry whether the champion alias moved; 0 = never (the admin
        reload route still works).
    log_max_batch_rows : int
        Most prediction-log rows per group commit.
    log_linger_ms : float
        How long the log writer thread waits to fill a batch (0: write what is queued at once).
    log_in_event_loop : bool, optional
        Commit the log in the event loop (:class:`EventLoopGroupCommitter`) rather than in a
        writer thread (:class:`GroupCommitWriter`); None (default): in the loop for SQLite,
        in a thread for a database across a network.
    monitor_refresh_s : float
        The monitor's results behind the Prometheus gauges are re-read at most this often.
    monitor_rules : tuple of dict
        The monitor's alert rules (name, metric, above/below, k, n), shown with its results by
        ``GET /v1/monitoring`` so the UI can draw their thresholds.
    shadow_alias : str, optional
        Registry alias of a shadow model (e.g. ``challenger``): it also scores every logged
        application after the answer is computed, its scores go to ``shadow_predictions`` and
        are never returned; None (default): no shadow scoring.
    """

    admin_token: str | None = None
    max_body_bytes: int = 1_000_000
    max_batch_rows: int = 1_000
    reload_interval_s: float = 0.0
    log_max_batch_rows: int = 512
    log_linger_ms: float = 0.0
    log_in_event_loop: bool | None = None
    monitor_refresh_s: float = 30.0
    monitor_rules: tuple[dict[str, Any], ...] = ()
    shadow_alias: str | None = None


class APIError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: list[dict] | None = None,
        headers: dict[str, str] | None = None,
    ):
        self.status, self.code, self.message, self.fields = status, code, message, fields or []
        self.headers = headers


def _error(
    status: int,
    code: str,
    message: str,
    fields: list[dict] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "fields": fields or []}},
        headers=headers,
    )


def _scalar(value: Any) -> Any:
    """The received value as JSON can carry it: scalars as they are (an infinite or NaN
    number as its text), anything bigger left out."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, str | int | float | bool) else None


def _field_errors(
    error: ValidationError, schema: InputSchema | None, prefix: str = ""
) -> list[dict]:
    """One entry per problem: the field (``applications[3].Age`` in a batch), the rule broken
    with the allowed range or set of the feature, and the value received."""
    names = set(schema.names) if schema is not None else set()
    fields = []
    for item in error.errors():
        loc = list(item["loc"])
        if prefix == "applications" and loc and isinstance(loc[0], int):
            head, loc = f"applications[{loc[0]}]", loc[1:]
        else:
            head = prefix
        location = ".".join(str(p) for p in loc)
        received = None if item["type"] == "missing" else item.get("input")
        message = item["msg"]
        feature = loc[0] if loc and loc[0] in names else None
        if feature is not None and item["type"] != "missing":
            message = f"{message}; allowed: {schema[feature].describe_allowed()}"  # type: ignore[index]
        if item["type"] == "extra_forbidden":
            message = f"{message}; unknown field (the fields are listed by GET /v1/schema)"
        name = ".".join(p for p in (head, location) if p) or "(body)"
        fields.append({"field": name, "message": message, "received": _scalar(received)})
    return fields


def _describe(fields: list[dict]) -> str:
    parts = []
    for f in fields[:10]:
        got = f" (received {f['received']!r})" if f.get("received") is not None else ""
        parts.append(f"{f['field']}: {f['message']}{got}")
    more = f"; and {len(fields) - 10} more" if len(fields) > 10 else ""
    return "; ".join(parts) + more


def _doc(description: str) -> dict[str, Any]:
    return {"model": ErrorResponse, "description": description}


ERRORS: dict[int, dict[str, Any]] = {
    401: _doc("no bearer token"),
    403: _doc("wrong bearer token"),
    404: _doc("no such application, or nothing to show for it"),
    409: _doc("this application_id was already used"),
    413: _doc("the body or the batch is larger than the configured limit"),
    422: _doc("a field is missing, unknown or out of range; each is named with what was received"),
    503: _doc("no model is loaded yet, or the prediction log cannot be written (nothing was kept)"),
}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: ERRORS[code] for code in codes}


def _body(ref: str, description: str) -> dict[str, Any]:
    """An OpenAPI request body pointing at a schema built from the loaded model."""
    return {
        "requestBody": {
            "required": True,
            "description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}},
        }
    }


def _plain(value: Any) -> Any:
    """JSON-ready copy of a scorer's output (NumPy scalars become Python numbers)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value


def create_app(
    holder: ModelHolder,
    store: PredictionStore,
    load_model: Callable[[], LoadedModel | None] | None = None,
    *,
    config: ServiceConfig | None = None,
    champion_version: Callable[[], str | None] | None = None,
    load_version: Callable[[str], LoadedModel] | None = None,
    load_shadow: Callable[[str], LoadedModel | None] | None = None,
    shadow_version: Callable[[str], str | None] | None = None,
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
        Returns the version the champion alias points at, cheaply; the periodic check calls it
        and loads only when it differs from the version in service.
    load_version : callable, optional
        Loads one version by number, to explain an application scored by a former champion.
    load_shadow : callable, optional
        Loads the model behind an alias (``config.shadow_alias``), like ``load_model`` does the
        champion; called at start-up, on reload and by the periodic check.
    shadow_version : callable, optional
        Returns the version an alias points at, cheaply, so the periodic check loads the
        shadow model only when its alias moved.
    """
    config = config or ServiceConfig()
    metrics = ServiceMetrics()
    on_failure = lambda error: metrics.log_write_failures.inc()  # noqa: E731
    writer: GroupCommitWriter | EventLoopGroupCommitter
    if config.log_in_event_loop or (
        config.log_in_event_loop is None and store.engine.dialect.name == "sqlite"
    ):
        writer = EventLoopGroupCommitter(
            store, config.log_max_batch_rows, on_failure, metrics.record_log_batch
        )
    else:
        writer = GroupCommitWriter(
            store,
            max_batch_rows=config.log_max_batch_rows,
            linger_ms=config.log_linger_ms,
            on_failure=on_failure,
            on_batch=metrics.record_log_batch,
        )
    reload_lock = asyncio.Lock()
    shadow_enabled = config.shadow_alias is not None and load_shadow is not None
    shadow_store = ShadowStore(store.engine)
    shadow_tasks: set[asyncio.Future] = set()

    # ---- model loading and hot swap
    def load_and_warm() -> LoadedModel | None:
        loaded = load_model() if load_model is not None else None
        if loaded is not None:
            loaded.warm_up()
        return loaded

    def publish(loaded: LoadedModel) -> LoadedModel | None:
        previous = holder.swap(loaded)
        metrics.set_model(loaded.name, loaded.version)
        app.openapi_schema = None  # the request schema follows the model
        return previous

    async def reload_champion() -> ReloadResponse:
        async with reload_lock:  # one reload at a time; requests never wait on it
            try:
                loaded = await run_in_threadpool(load_and_warm)
            except Exception as error:
                metrics.reloads.labels(result="failed").inc()
                log.exception("reloading the champion failed; still serving the old model")
                raise APIError(
                    503,
                    "reload_failed",
                    f"could not load the champion ({type(error).__name__}: {error});"
                    " the model in service is unchanged",
                ) from None
            current = holder.current
            if loaded is None:
                metrics.reloads.labels(result="no_champion").inc()
                raise APIError(
                    503, "no_champion", "no champion is registered: train one with `riskloop run`"
                )
            if current is not None and (current.name, current.version) == (
                loaded.name,
                loaded.version,
            ):
                metrics.reloads.labels(result="unchanged").inc()
                return ReloadResponse(
                    changed=False,
                    model_name=current.name,
                    model_version=current.version,
                    previous_version=current.version,
                )
            previous = publish(loaded)
            metrics.reloads.labels(result="swapped").inc()
            log.info(
                "now serving %s version %s (was %s)",
                loaded.name,
                loaded.version,
                previous.version if previous else None,
            )
            return ReloadResponse(
                changed=True,
                model_name=loaded.name,
                model_version=loaded.version,
                previous_version=previous.version if previous else None,
            )

    # ---- the shadow model: scores live traffic after the answer, never answers
    def refresh_shadow() -> None:
        """Load the model behind the shadow alias when it is not the one held (a failure is
        logged and leaves the previous shadow model in place)."""
        if not shadow_enabled:
            return
        alias = config.shadow_alias
        try:
            if shadow_version is not None:
                version = shadow_version(alias)  # type: ignore[arg-type]
                held = holder.shadow
                if version is None:
                    holder.shadow = None  # the alias was removed: shadow scoring stops
                    return
                if held is not None and held.version == version:
                    return
            loaded = load_shadow(alias)  # type: ignore[misc, arg-type]
            if loaded is not None:
                loaded.warm_up()
            holder.shadow = loaded
            if loaded is not None:
                log.info("shadow scoring with %s version %s", loaded.name, loaded.version)
        except Exception:
            log.exception("could not load the shadow model (alias %r)", alias)

    def shadow_score(shadow: LoadedModel, rows: list[PredictionRecord]) -> None:
        """Score the logged applications with the shadow model and write its rows."""
        try:
            decisions = shadow.scorer.score_records([r.inputs for r in rows])
            now = datetime.now(UTC)
            written = shadow_store.append(
                [
                    {
                        "application_id": row.application_id,
                        "model_name": shadow.name,
                        "model_version": shadow.version,
                        "probability": float(probability),
                        "decision": decision,
                        "scored_at": now,
                    }
                    for row, probability, decision in zip(
                        rows, decisions.probability, decisions.decision, strict=True
                    )
                ]
            )
            metrics.shadow_rows.inc(written)
        except Exception:
            metrics.shadow_failures.inc()
            log.exception("shadow scoring with version %s failed", shadow.version)

    def start_shadow(rows: list[PredictionRecord]) -> None:
        """Hand the rows to the shadow model in a worker thread; the response does not wait."""
        shadow = holder.shadow
        if shadow is None or not rows:
            return
        task = asyncio.ensure_future(run_in_threadpool(shadow_score, shadow, rows))
        shadow_tasks.add(task)
        task.add_done_callback(shadow_tasks.discard)

    async def watch_champion(interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await run_in_threadpool(refresh_shadow)
                if champion_version is not None:
                    version = await run_in_threadpool(champion_version)
                    current = holder.current
                    if version is None or (current is not None and current.version == version):
                        continue
                await reload_champion()
            except APIError as error:
                log.warning("periodic champion check: %s", error.message)
            except Exception:
                log.exception("periodic champion check failed; will try again")

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if holder.current is None and load_model is not None:
            try:
                loaded = await run_in_threadpool(load_and_warm)
            except Exception as error:  # the service still starts; /ready says why
                log.error("could not load the champion model: %s", error)
                loaded = None
            if loaded is not None:
                publish(loaded)
                log.info("serving %s version %s", loaded.name, loaded.version)
        elif holder.current is not None:
            metrics.set_model(holder.current.name, holder.current.version)
        await run_in_threadpool(refresh_shadow)
        watcher = None
        if config.reload_interval_s > 0 and load_model is not None:
            watcher = asyncio.create_task(watch_champion(config.reload_interval_s))
        try:
            yield
        finally:
            if watcher is not None:
                watcher.cancel()
                with suppress(asyncio.CancelledError):
                    await watcher
            if shadow_tasks:  # shadow rows of answered requests are written before the end
                await asyncio.gather(*shadow_tasks, return_exceptions=True)
            # every row already accepted is written before the process ends
            if isinstance(writer, GroupCommitWriter):
                await run_in_threadpool(writer.close)
            else:
                writer.close()
            store.dispose()

    app = FastAPI(
        title="riskloop scoring API",
        version="1",
        description="Scores loan applications with the registered champion model and logs"
        " every decision. Field names, ranges and categories come from the model in service"
        " (GET /v1/schema); this document describes that model's fields.",
        lifespan=lifespan,
    )
    app.add_middleware(
        ServiceMiddleware,
        metrics=metrics,
        max_body_bytes=config.max_body_bytes,
        on_too_large=lambda message: APIError(413, "body_too_large", message),
    )
    app.state.metrics = metrics
    app.state.monitor_gauges = MonitorGauges(
        store.monitoring,
        lambda: (
            None
            if holder.current is None
            else (
                holder.current.name,
                holder.current.version,
                holder.current.scorer.metadata.get("trained_at"),
            )
        ),
        config.monitor_refresh_s,
    )
    metrics.registry.register(app.state.monitor_gauges)
    app.state.writer = writer
    app.state.reload_champion = reload_champion

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        model = holder.current
        if model is not None:
            applicant = model.request_model.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            components.update(applicant.pop("$defs", {}))
            applicant["title"] = "Applicant"
            applicant["description"] = (
                f"One application for {model.name} version {model.version}:"
                " the fields of GET /v1/schema and an optional application_id"
            )
        else:
            applicant = {"type": "object", "description": "no model is loaded yet"}
        components["Applicant"] = applicant
        components["ApplicantBatch"] = {
            "title": "ApplicantBatch",
            "type": "object",
            "properties": {
                "applications": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/Applicant"},
                    "minItems": 1,
                    "maxItems": config.max_batch_rows,
                }
            },
            "required": ["applications"],
            "additionalProperties": False,
        }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]

    # ---- errors: one shape
    @app.exception_handler(APIError)
    async def _api_error(request: Request, error: APIError) -> JSONResponse:
        return _error(error.status, error.code, error.message, error.fields, error.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
                "message": e["msg"],
                "received": None if e["type"] == "missing" else _scalar(e.get("input")),
            }
            for e in error.errors()
        ]
        return _error(422, "invalid_request", _describe(fields), fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        if error.status_code == 400:  # FastAPI could not decode the body: same 422 as ours
            fields = [{"field": "(body)", "message": str(error.detail), "received": None}]
            return _error(422, "invalid_request", _describe(fields), fields)
        return _error(error.status_code, "http_error", str(error.detail), headers=error.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal_error", "unexpected error; it has been logged")

    # ---- the scoring path
    def current_model() -> LoadedModel:
        model = holder.current
        if model is None:
            raise APIError(503, "no_model", "no model is loaded: train one with `riskloop run`")
        return model

    def invalid(fields: list[dict], code: str = "invalid_application") -> APIError:
        return APIError(422, code, _describe(fields), fields)

    def body_error(message: str, field: str = "(body)") -> APIError:
        return invalid([{"field": field, "message": message, "received": None}], "invalid_request")

    def parse_one(model: LoadedModel, body: bytes) -> BaseModel:
        try:
            return model.request_model.model_validate_json(body)
        except ValidationError as error:
            kinds = {e["type"] for e in error.errors()}
            if "json_invalid" in kinds:
                raise body_error("the body is not valid JSON") from None
            if "model_type" in kinds or "model_attributes_type" in kinds:
                raise body_error("the body must be a JSON object (one application)") from None
            raise invalid(_field_errors(error, model.scorer.input_schema)) from None

    def parse_batch(model: LoadedModel, body: bytes) -> list[BaseModel]:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise body_error("the body is not valid JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("applications"), list):
            raise body_error(
                'the body must be {"applications": [application, ...]}', "applications"
            )
        unknown = sorted(set(payload) - {"applications"})
        if unknown:
            raise invalid(
                [
                    {"field": name, "message": "Extra inputs are not permitted", "received": None}
                    for name in unknown
                ],
                "invalid_request",
            )
        rows = payload["applications"]
        if not rows:
            raise body_error("expected at least one application", "applications")
        if len(rows) > config.max_batch_rows:
            raise APIError(
                413,
                "batch_too_large",
                f"the batch has {len(rows)} applications; the limit is {config.max_batch_rows}"
                " per request (RISKLOOP_MAX_BATCH_ROWS): split it",
            )
        try:
            return model.batch_adapter.validate_python(rows)
        except ValidationError as error:
            raise invalid(_field_errors(error, model.scorer.input_schema, "applications")) from None

    def score(
        model: LoadedModel, applications: list[BaseModel], started: float
    ) -> tuple[list[dict[str, Any]], list[PredictionRecord], Any]:
        records = [a.model_dump(exclude={"application_id"}) for a in applications]
        decisions = model.scorer.score_records(records)
        reasons = decisions.reasons or [[] for _ in records]
        latency_ms = (time.perf_counter() - started) * 1000.0 / len(records)
        now = datetime.now(UTC)
        threshold = float(model.scorer.threshold)
        responses, rows = [], []
        for application, record, probability, decision, why in zip(
            applications, records, decisions.probability, decisions.decision, reasons, strict=True
        ):
            application_id = application.application_id or uuid.uuid4().hex
            why = [
                {
                    "feature": str(r["feature"]),
                    "text": str(r["text"]),
                    "contribution": float(r["contribution"]),
                }
                for r in why
            ]
            responses.append(
                {
                    "application_id": application_id,
                    "probability_of_default": float(probability),
                    "decision": decision,
                    "threshold": threshold,
                    "model_name": model.name,
                    "model_version": model.version,
                    "reasons": why,
                }
            )
            rows.append(
                PredictionRecord(
                    application_id=application_id,
                    received_at=now,
                    model_name=model.name,
                    model_version=model.version,
                    inputs=record,
                    probability=float(probability),
                    decision=decision,
                    threshold=threshold,
                    latency_ms=latency_ms,
                    reasons=why,
                )
            )
        return responses, rows, decisions

    async def commit(rows: list[PredictionRecord]) -> None:
        """Wait until the rows are in the log; only then may the request answer 200."""
        try:
            await writer.write(rows)
        except LogClosedError as error:
            raise APIError(503, "log_unavailable", str(error)) from None
        except IntegrityError:
            raise APIError(
                409,
                "duplicate_application_id",
                "an application with this application_id was already scored; nothing was logged",
            ) from None
        except Exception:
            raise APIError(
                503,
                "log_unavailable",
                "the prediction log could not be written, so the score is not given; nothing"
                " was recorded: retry later",
            ) from None

    def json_response(content: Any) -> Response:
        return Response(
            json.dumps(content, separators=(",", ":")).encode(), media_type="application/json"
        )

    async def score_and_log(model: LoadedModel, applications: list[BaseModel], started: float):
        responses, rows, decisions = score(model, applications, started)
        await commit(rows)
        metrics.record_scores(model.version, decisions.probability, decisions.decision)
        start_shadow(rows)
        return responses

    # ---- routes: service
    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["service"], responses=_errors(503))
    def ready() -> dict[str, str]:
        """Readiness: 200 once a model is loaded, 503 before."""
        model = current_model()
        return {"status": "ready", "model_name": model.name, "model_version": model.version}

    @app.get("/metrics", tags=["service"], response_class=PlainTextResponse)
    def prometheus_metrics() -> Response:
        """Prometheus metrics: requests and latency by route and status, score distribution,
        decisions, the model version in service, prediction-log commits and write failures."""
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    @app.get("/v1/monitoring", tags=["service"], responses=_errors(503))
    def monitoring() -> dict[str, Any]:
        """The monitor's newest windows for the model in service (every metric with its sample
        size), the triggers that fired, and the alert rules; empty windows until
        ``riskloop monitor`` has run."""
        model = current_model()
        document = monitoring_document(store.monitoring, model.name, model.version)
        return {**document, "rules": [dict(rule) for rule in config.monitor_rules]}

    # ---- routes: model
    @app.get("/v1/model", response_model=ModelInfo, tags=["model"], responses=_errors(503))
    def model_info() -> ModelInfo:
        """The model in service: name, version, alias, metrics, threshold, training data hash."""
        model = current_model()
        meta = model.scorer.metadata
        metrics_ = {**(meta.get("metrics") or {}), **model.metrics}
        return ModelInfo(
            name=model.name,
            version=model.version,
            alias=model.alias,
            threshold=model.scorer.threshold,
            trained_at=meta.get("trained_at"),
            data_sha256=meta.get("data_sha256"),
            metrics=_plain(metrics_),
            loaded_at=model.loaded_at,
        )

    @app.get("/v1/model/reports", tags=["model"], responses=_errors(503))
    def model_reports() -> dict[str, Any]:
        """The model's reports (model card, candidate comparison, calibration, profit curve,
        business impact, fairness); ``{}`` when it has none."""
        return _plain(getattr(current_model().scorer, "reports", None) or {})

    @app.get("/v1/schema", tags=["model"], responses=_errors(503))
    def input_schema() -> dict[str, Any]:
        """The fields an application must have: kind, range or categories, nullability."""
        return _plain(current_model().scorer.input_schema.to_dict())

    # ---- routes: scoring
    @app.post(
        "/v1/score",
        tags=["scoring"],
        response_model=None,
        responses={200: {"model": ScoreResponse}, **_errors(409, 413, 422, 503)},
        openapi_extra=_body("Applicant", "one applicant; application_id is optional"),
    )
    async def score_one(request: Request) -> Response:
        """Score one application. The answer is sent only after the decision is in the log."""
        started = time.perf_counter()
        model = current_model()
        application = parse_one(model, await request.body())
        return json_response((await score_and_log(model, [application], started))[0])

    @app.post(
        "/v1/score/preview",
        tags=["scoring"],
        response_model=None,
        responses={200: {"model": ScoreResponse}, **_errors(413, 422, 503)},
        openapi_extra=_body("Applicant", "one applicant; application_id is optional"),
    )
    async def score_preview(request: Request) -> Response:
        """Score one application without logging it (what-if analysis in the UI)."""
        started = time.perf_counter()
        model = current_model()
        application = parse_one(model, await request.body())
        responses, _, _ = score(model, [application], started)
        return json_response(responses[0])

    @app.post(
        "/v1/score/batch",
        tags=["scoring"],
        response_model=None,
        responses={200: {"model": BatchResponse}, **_errors(409, 413, 422, 503)},
        openapi_extra=_body(
            "ApplicantBatch", "applications to score together; any invalid row rejects all"
        ),
    )
    async def score_batch(request: Request) -> Response:
        """Score many applications at once; any invalid row rejects the whole batch, and a
        logged batch is logged whole (one transaction)."""
        started = time.perf_counter()
        model = current_model()
        body = await request.body()
        if len(body) > 64_000:  # a big batch: parse and score it off the event loop
            applications = await run_in_threadpool(parse_batch, model, body)
        else:
            applications = parse_batch(model, body)
        ids = [a.application_id for a in applications if a.application_id]
        if len(ids) != len(set(ids)):
            raise APIError(
                409,
                "duplicate_application_id",
                "the batch uses one application_id more than once; nothing was logged",
            )
        if len(applications) > _INLINE_ROWS:
            responses, rows, decisions = await run_in_threadpool(
                score, model, applications, started
            )
            await commit(rows)
            metrics.record_scores(model.version, decisions.probability, decisions.decision)
        else:
            responses = await score_and_log(model, applications, started)
        return json_response({"results": responses})

    # ---- routes: explanations and outcomes
    @app.get(
        "/v1/explain/{application_id}",
        response_model=ExplanationResponse,
        tags=["scoring"],
        responses=_errors(404),
    )
    def explain(application_id: str) -> ExplanationResponse:
        """The full additive breakdown (base value + one contribution per input = the model's
        output) of a logged application, computed with the model version that scored it."""
        row = store.get(application_id)
        if row is None:
            raise APIError(
                404, "unknown_application", f"no application {application_id!r} was scored"
            )
        explanation = row.get("explanation")
        if explanation is None:
            scorer_model = holder.version(row["model_version"])
            if scorer_model is None and load_version is not None:
                try:
                    scorer_model = load_version(row["model_version"])
                except Exception as error:
                    raise APIError(
                        404,
                        "no_explanation",
                        f"version {row['model_version']} that scored {application_id!r} cannot"
                        f" be loaded ({type(error).__name__}: {error})",
                    ) from None
                holder.remember(scorer_model)
            if scorer_model is None:
                raise APIError(
                    404,
                    "no_explanation",
                    f"version {row['model_version']} that scored {application_id!r} is no"
                    " longer loaded and this service cannot load former versions",
                )
            if not hasattr(scorer_model.scorer, "explain_records"):
                raise APIError(
                    404,
                    "no_explanation",
                    f"model version {row['model_version']} cannot explain its scores (its scorer"
                    " has no explain_records)",
                )
            try:
                explanation = _plain(scorer_model.scorer.explain_records([row["inputs"]])[0])
            except ValueError as error:  # e.g. a scorer trained without explanation state
                raise APIError(
                    404,
                    "no_explanation",
                    f"model version {row['model_version']} cannot explain its scores: {error}",
                ) from None
            store.set_explanation(application_id, explanation)
        return ExplanationResponse(
            application_id=application_id,
            model_name=row["model_name"],
            model_version=row["model_version"],
            probability_of_default=row["probability"],
            decision=row["decision"],
            reasons=row.get("reasons") or [],
            explanation=explanation,
        )

    @app.post(
        "/v1/feedback",
        response_model=FeedbackResponse,
        tags=["outcomes"],
        responses=_errors(404, 409, 413, 422),
    )
    def feedback(outcome: FeedbackRequest) -> FeedbackResponse:
        """Record the observed outcome of a scored application (in credit, months later).
        An unknown application_id is 404; a second outcome for the same one is 409."""
        received_at = datetime.now(UTC)
        try:
            store.add_label(
                outcome.application_id, outcome.outcome, received_at, outcome.observed_at
            )
        except UnknownApplicationError:
            raise APIError(
                404,
                "unknown_application",
                f"no application {outcome.application_id!r} was scored; outcomes can only be"
                " recorded for logged applications",
            ) from None
        except DuplicateLabelError:
            raise APIError(
                409,
                "duplicate_outcome",
                f"an outcome for {outcome.application_id!r} is already recorded",
            ) from None
        return FeedbackResponse(
            application_id=outcome.application_id,
            outcome=outcome.outcome,
            observed_at=outcome.observed_at,
            received_at=received_at,
        )

    # ---- routes: admin (only when a token is configured)
    if config.admin_token:
        bearer = HTTPBearer(auto_error=False, description="RISKLOOP_ADMIN_TOKEN")
        token = config.admin_token

        def require_admin(
            credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
        ) -> None:
            if credentials is None:
                raise APIError(
                    401,
                    "unauthorized",
                    "admin routes need the header Authorization: Bearer <RISKLOOP_ADMIN_TOKEN>",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            if not secrets.compare_digest(credentials.credentials.encode(), token.encode()):
                raise APIError(403, "forbidden", "the bearer token is not the admin token")

        @app.post(
            "/v1/admin/reload",
            response_model=ReloadResponse,
            tags=["admin"],
            dependencies=[Depends(require_admin)],
            responses=_errors(401, 403, 503),
        )
        async def admin_reload() -> ReloadResponse:
            """Load the model the champion alias points at now and swap it in atomically (and
            the shadow model, when shadow scoring is on)."""
            await run_in_threadpool(refresh_shadow)
            return await reload_champion()

    return app
