"""FastAPI application factory.

``create_app(holder, store, load_model=...)`` takes its dependencies as arguments: tests pass a
scorer and an in-memory store; ``riskloop serve`` passes a loader that reads the champion from
the registry at start-up. Every error has one JSON shape::

    {"error": {"code": "...", "message": "...", "fields": [{"field", "message", "received"}]}}
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.schemas import BatchResponse, ErrorResponse, ModelInfo, ScoreResponse
from riskloop.store import PredictionRecord, PredictionStore

log = logging.getLogger(__name__)


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, fields: list[dict] | None = None):
        self.status, self.code, self.message, self.fields = status, code, message, fields or []


def _error(status: int, code: str, message: str, fields: list[dict] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message, "fields": fields or []}},
    )


def _field_errors(error: ValidationError, prefix: str = "") -> list[dict]:
    fields = []
    for item in error.errors():
        location = ".".join(str(p) for p in item["loc"] if p not in ("body",))
        received = item.get("input")
        if item["type"] == "missing":
            received = None
        fields.append(
            {
                "field": f"{prefix}{location}" if location else prefix.rstrip(".") or "(body)",
                "message": item["msg"],
                "received": received if isinstance(received, str | int | float | bool) else None,
            }
        )
    return fields


def _describe(fields: list[dict]) -> str:
    return "; ".join(f"{f['field']}: {f['message']}" for f in fields[:10])


ERRORS = {
    422: {"model": ErrorResponse, "description": "a field is missing, unknown or out of range"},
    503: {"model": ErrorResponse, "description": "no model is loaded yet"},
}


def create_app(
    holder: ModelHolder,
    store: PredictionStore,
    load_model: Callable[[], LoadedModel | None] | None = None,
) -> FastAPI:
    """Build the scoring API around a model holder and a prediction store."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if holder.current is None and load_model is not None:
            try:
                loaded = load_model()
            except Exception as error:  # the service still starts; /ready says why
                log.error("could not load the champion model: %s", error)
                loaded = None
            if loaded is not None:
                holder.swap(loaded)
                log.info("serving %s version %s", loaded.name, loaded.version)
        yield
        store.dispose()

    app = FastAPI(
        title="riskloop scoring API",
        version="1",
        description="Scores loan applications with the registered champion model and logs"
        " every decision. Field names, ranges and categories come from the model's schema"
        " (GET /v1/schema).",
        lifespan=lifespan,
    )

    @app.exception_handler(APIError)
    async def _api_error(request: Request, error: APIError) -> JSONResponse:
        return _error(error.status, error.code, error.message, error.fields)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, error: RequestValidationError) -> JSONResponse:
        fields = [
            {
                "field": ".".join(str(p) for p in e["loc"] if p != "body") or "(body)",
                "message": e["msg"],
                "received": None,
            }
            for e in error.errors()
        ]
        return _error(422, "invalid_request", _describe(fields), fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, "http_error", str(error.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> JSONResponse:
        log.exception("unexpected error on %s", request.url.path)
        return _error(500, "internal_error", "unexpected error; it has been logged")

    def current_model() -> LoadedModel:
        model = holder.current
        if model is None:
            raise APIError(503, "no_model", "no model is loaded: train one with `riskloop run`")
        return model

    def validate(model: LoadedModel, payload: Any, prefix: str = "") -> BaseModel:
        if not isinstance(payload, dict):
            raise APIError(
                422,
                "invalid_request",
                f"{prefix or 'body'} must be a JSON object",
                [
                    {
                        "field": prefix.rstrip(".") or "(body)",
                        "message": "expected an object",
                        "received": None,
                    }
                ],
            )
        try:
            return model.request_model.model_validate(payload)
        except ValidationError as error:
            fields = _field_errors(error, prefix)
            raise APIError(422, "invalid_application", _describe(fields), fields) from None

    def score(model: LoadedModel, applications: list[BaseModel]) -> list[ScoreResponse]:
        started = time.perf_counter()
        records = [a.model_dump(exclude={"application_id"}) for a in applications]
        decisions = model.scorer.score_records(records)
        latency_ms = (time.perf_counter() - started) * 1000.0 / len(records)
        now = datetime.now(UTC)
        responses, log_rows = [], []
        for application, record, probability, decision in zip(
            applications, records, decisions.probability, decisions.decision, strict=True
        ):
            application_id = application.application_id or uuid.uuid4().hex
            responses.append(
                ScoreResponse(
                    application_id=application_id,
                    probability_of_default=float(probability),
                    decision=decision,
                    threshold=model.scorer.threshold,
                    model_name=model.name,
                    model_version=model.version,
                )
            )
            log_rows.append(
                PredictionRecord(
                    application_id=application_id,
                    received_at=now,
                    model_name=model.name,
                    model_version=model.version,
                    inputs=record,
                    probability=float(probability),
                    decision=decision,
                    threshold=model.scorer.threshold,
                    latency_ms=latency_ms,
                )
            )
        try:
            store.append(log_rows)
        except IntegrityError:
            raise APIError(
                409,
                "duplicate_application_id",
                "an application with this application_id was already scored",
            ) from None
        return responses

    @app.get("/health", tags=["service"])
    def health() -> dict[str, str]:
        """Liveness: the process answers."""
        return {"status": "ok"}

    @app.get("/ready", tags=["service"], responses={503: ERRORS[503]})
    def ready() -> dict[str, str]:
        """Readiness: 200 once a model is loaded, 503 before."""
        model = current_model()
        return {"status": "ready", "model_name": model.name, "model_version": model.version}

    @app.get("/v1/model", response_model=ModelInfo, tags=["model"], responses={503: ERRORS[503]})
    def model_info() -> ModelInfo:
        """The model in service: name, version, metrics, training time and data."""
        model = current_model()
        meta = model.scorer.metadata
        return ModelInfo(
            name=model.name,
            version=model.version,
            alias=model.alias,
            threshold=model.scorer.threshold,
            trained_at=meta.get("trained_at"),
            data_sha256=meta.get("data_sha256"),
            metrics=model.metrics,
        )

    @app.get("/v1/schema", tags=["model"], responses={503: ERRORS[503]})
    def input_schema() -> dict[str, Any]:
        """The fields an application must have: kind, range or categories, nullability."""
        return current_model().scorer.input_schema.to_dict()

    @app.post(
        "/v1/score",
        response_model=ScoreResponse,
        tags=["scoring"],
        responses={409: {"model": ErrorResponse}, **ERRORS},
    )
    def score_one(
        application: dict[str, Any] = Body(
            ..., description="one applicant: the fields of GET /v1/schema, optional application_id"
        ),
    ) -> ScoreResponse:
        """Score one application; the decision is logged before the answer is sent."""
        model = current_model()
        return score(model, [validate(model, application)])[0]

    @app.post(
        "/v1/score/batch",
        response_model=BatchResponse,
        tags=["scoring"],
        responses={409: {"model": ErrorResponse}, **ERRORS},
    )
    def score_batch(
        body: dict[str, Any] = Body(..., description='{"applications": [applicant, ...]}'),
    ) -> BatchResponse:
        """Score many applications at once; any invalid row rejects the whole batch."""
        model = current_model()
        applications = body.get("applications")
        if set(body) != {"applications"} or not isinstance(applications, list) or not applications:
            raise APIError(
                422,
                "invalid_request",
                'the body must be {"applications": [...]} with at least one application',
                [
                    {
                        "field": "applications",
                        "message": "expected a non-empty list",
                        "received": None,
                    }
                ],
            )
        validated, fields = [], []
        for i, payload in enumerate(applications):
            try:
                validated.append(validate(model, payload, prefix=f"applications[{i}]."))
            except APIError as error:
                fields.extend(error.fields)
        if fields:
            raise APIError(422, "invalid_application", _describe(fields), fields)
        return BatchResponse(results=score(model, validated))

    return app
