"""The scoring path (see docs/serving.md): the body is validated once by the model's prebuilt
pydantic type (in Rust, straight from the JSON bytes), the validated dicts go to
``Scorer.score_records`` (arrays, no pandas), the log rows go to the group-commit writer and the
request awaits their commit — an acknowledged score is a logged score — before the response is
written by hand (no second validation of our own output)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import IntegrityError

from riskloop.scorer import Decisions
from riskloop.serving.config import ServiceConfig
from riskloop.serving.errors import APIError, body_error, field_errors, invalid, validate_json
from riskloop.serving.metrics import ServiceMetrics
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.prediction_log import (
    EventLoopGroupCommitter,
    GroupCommitWriter,
    LogClosedError,
)
from riskloop.serving.shadow import ShadowScorer
from riskloop.store import PredictionRecord, PredictionStore
from riskloop.store.privacy import applicant_reference

# Batches above this many rows are validated and scored off the event loop.
INLINE_ROWS = 32
# Batch bodies above this many bytes are parsed off the event loop.
INLINE_BODY_BYTES = 64_000


def parse_one(model: LoadedModel, body: bytes) -> BaseModel:
    """One application, validated by the model's request type straight from the JSON bytes."""
    return validate_json(
        model.request_model,
        body,
        "one application",
        model.accepted_schema,
        code="invalid_application",
    )


def parse_batch(model: LoadedModel, body: bytes, max_rows: int) -> list[BaseModel]:
    """``{"applications": [...]}``: at most ``max_rows`` applications, every one valid."""
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise body_error("the body is not valid JSON") from None
    except RecursionError:  # Python's parser recurses once per level of nesting
        raise body_error("the body is nested too deeply to be a batch of applications") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("applications"), list):
        raise body_error('the body must be {"applications": [application, ...]}', "applications")
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
    if len(rows) > max_rows:
        raise APIError(
            413,
            "batch_too_large",
            f"the batch has {len(rows)} applications; the limit is {max_rows}"
            " per request (RISKLOOP_MAX_BATCH_ROWS): split it",
        )
    try:
        result: list[BaseModel] = model.batch_adapter.validate_python(rows)
    except ValidationError as error:
        raise invalid(field_errors(error, model.accepted_schema, "applications")) from None
    return result


def score_applications(
    model: LoadedModel,
    applications: list[BaseModel],
    started: float,
    actor: str | None = None,
    applicant_ref_key: bytes | None = None,
) -> tuple[list[dict[str, Any]], list[PredictionRecord], Decisions]:
    """Score validated applications: the response bodies, the log rows (recording ``actor``,
    the caller's name, as who asked) and the decisions. An application's ``applicant_id`` is
    replaced by its pseudonymous reference under ``applicant_ref_key`` and never kept."""
    refs = applicant_refs(applications, applicant_ref_key)
    records = [a.model_dump(exclude={"application_id", "applicant_id"}) for a in applications]
    decisions = model.scorer.score_records(records)
    reasons = decisions.reasons or [[] for _ in records]
    latency_ms = (time.perf_counter() - started) * 1000.0 / len(records)
    now = datetime.now(UTC)
    threshold = float(model.scorer.threshold)
    responses, rows = [], []
    for application, record, probability, decision, why, ref in zip(
        applications,
        records,
        decisions.probability,
        decisions.decision,
        reasons,
        refs,
        strict=True,
    ):
        application_id = getattr(application, "application_id", None) or uuid.uuid4().hex
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
                **({"applicant_ref": ref} if ref else {}),
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
                actor=actor,
                applicant_ref=ref,
            )
        )
    return responses, rows, decisions


def applicant_refs(applications: list[BaseModel], key: bytes | None) -> list[str | None]:
    """Each application's pseudonymous applicant reference (None where no applicant_id came);
    503 when one came but this service has no key to make references with."""
    ids = [getattr(a, "applicant_id", None) for a in applications]
    if key is None:
        if any(ids):
            raise APIError(
                503,
                "no_applicant_ref_key",
                "this service has no applicant reference key (RISKLOOP_APPLICANT_REF_KEY), so"
                " it cannot accept applicant_id: send the application without it",
            )
        return [None] * len(ids)
    return [None if i is None else applicant_reference(key, i) for i in ids]


class DecisionRecorder:
    """Logs scored applications before they are answered, then counts them and hands them to the
    shadow model.

    Parameters
    ----------
    writer : GroupCommitWriter or EventLoopGroupCommitter
        The prediction log's group commit.
    metrics : ServiceMetrics
        Score distribution and decisions.
    shadow : ShadowScorer
        Scores the logged rows with the shadow model, if there is one.
    """

    def __init__(
        self,
        writer: GroupCommitWriter | EventLoopGroupCommitter,
        metrics: ServiceMetrics,
        shadow: ShadowScorer,
    ):
        self.writer = writer
        self.metrics = metrics
        self.shadow = shadow

    @classmethod
    def open(
        cls,
        store: PredictionStore,
        config: ServiceConfig,
        metrics: ServiceMetrics,
        shadow: ShadowScorer,
    ) -> DecisionRecorder:
        """A recorder whose writer commits in the event loop for SQLite (or when the config says
        so) and in a writer thread for a database across a network."""
        writer: GroupCommitWriter | EventLoopGroupCommitter
        if config.log_in_event_loop or (
            config.log_in_event_loop is None and store.engine.dialect.name == "sqlite"
        ):
            writer = EventLoopGroupCommitter(
                store,
                config.log_max_batch_rows,
                metrics.count_log_failure,
                metrics.record_log_batch,
            )
        else:
            writer = GroupCommitWriter(
                store,
                max_batch_rows=config.log_max_batch_rows,
                linger_ms=config.log_linger_ms,
                on_failure=metrics.count_log_failure,
                on_batch=metrics.record_log_batch,
            )
        return cls(writer, metrics, shadow)

    async def record(
        self, model: LoadedModel, rows: list[PredictionRecord], decisions: Decisions
    ) -> None:
        """Wait until the rows are in the log (only then may the request answer 200), count
        them, and start their shadow scoring.

        Raises
        ------
        APIError
            409 when an application_id was already logged, 503 when the log cannot be written
            (nothing of the request is kept).
        """
        try:
            await self.writer.write(rows)
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
        self.metrics.record_scores(model.version, decisions.probability, decisions.decision)
        self.shadow.submit(rows)

    async def close(self) -> None:
        """Write every row already accepted, then refuse more (at shutdown)."""
        if isinstance(self.writer, GroupCommitWriter):
            await run_in_threadpool(self.writer.close)
        else:
            self.writer.close()


def json_response(content: Any) -> Response:
    """A JSON response written by hand: our own output is not validated a second time."""
    return Response(
        json.dumps(content, separators=(",", ":")).encode(), media_type="application/json"
    )


def plain(value: Any) -> Any:
    """JSON-ready copy of a scorer's output (NumPy scalars become Python numbers)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str):
        return value.item()
    return value
