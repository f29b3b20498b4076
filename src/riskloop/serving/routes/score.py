"""Scoring: one application, a preview (not logged) and a batch."""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from riskloop.serving.auth import Requires, caller
from riskloop.serving.config import ServiceConfig
from riskloop.serving.dependencies import current_model, get_config, get_recorder, json_body
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Principal, Role
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.openapi import request_body
from riskloop.serving.schemas import BatchResponse, ScoreResponse
from riskloop.serving.scoring import (
    INLINE_BODY_BYTES,
    INLINE_ROWS,
    DecisionRecorder,
    json_response,
    parse_batch,
    parse_one,
    score_applications,
)

router = APIRouter(
    tags=["scoring"],
    dependencies=[Depends(Requires(Role.SCORER))],
    responses=documented_errors(401, 403, 429),
)

_ONE = request_body("Applicant", "one applicant; application_id is optional")


@router.post(
    "/v1/score",
    response_model=None,
    responses={200: {"model": ScoreResponse}, **documented_errors(409, 413, 415, 422, 503)},
    openapi_extra=_ONE,
)
async def score_one(
    body: bytes = Depends(json_body),
    model: LoadedModel = Depends(current_model),
    recorder: DecisionRecorder = Depends(get_recorder),
    config: ServiceConfig = Depends(get_config),
    who: Principal = Depends(caller),
) -> Response:
    """Score one application. The answer is sent only after the decision is in the log."""
    started = time.perf_counter()
    application = parse_one(model, body)
    responses, rows, decisions = score_applications(
        model, [application], started, who.name, config.applicant_ref_key
    )
    await recorder.record(model, rows, decisions)
    return json_response(responses[0])


@router.post(
    "/v1/score/preview",
    response_model=None,
    responses={200: {"model": ScoreResponse}, **documented_errors(413, 415, 422, 503)},
    openapi_extra=_ONE,
)
async def score_preview(
    body: bytes = Depends(json_body),
    model: LoadedModel = Depends(current_model),
    config: ServiceConfig = Depends(get_config),
) -> Response:
    """Score one application without logging it (what-if analysis in the UI)."""
    started = time.perf_counter()
    application = parse_one(model, body)
    responses, _, _ = score_applications(
        model, [application], started, applicant_ref_key=config.applicant_ref_key
    )
    return json_response(responses[0])


@router.post(
    "/v1/score/batch",
    response_model=None,
    responses={200: {"model": BatchResponse}, **documented_errors(409, 413, 415, 422, 503)},
    openapi_extra=request_body(
        "ApplicantBatch", "applications to score together; any invalid row rejects all"
    ),
)
async def score_batch(
    body: bytes = Depends(json_body),
    model: LoadedModel = Depends(current_model),
    recorder: DecisionRecorder = Depends(get_recorder),
    config: ServiceConfig = Depends(get_config),
    who: Principal = Depends(caller),
) -> Response:
    """Score many applications at once; any invalid row rejects the whole batch, and a
    logged batch is logged whole (one transaction)."""
    started = time.perf_counter()
    if len(body) > INLINE_BODY_BYTES:  # a big batch: parse and score it off the event loop
        applications = await run_in_threadpool(parse_batch, model, body, config.max_batch_rows)
    else:
        applications = parse_batch(model, body, config.max_batch_rows)
    ids = [i for i in (getattr(a, "application_id", None) for a in applications) if i]
    if len(ids) != len(set(ids)):
        raise APIError(
            409,
            "duplicate_application_id",
            "the batch uses one application_id more than once; nothing was logged",
        )
    if len(applications) > INLINE_ROWS:
        responses, rows, decisions = await run_in_threadpool(
            score_applications, model, applications, started, who.name, config.applicant_ref_key
        )
    else:
        responses, rows, decisions = score_applications(
            model, applications, started, who.name, config.applicant_ref_key
        )
    await recorder.record(model, rows, decisions)
    return json_response({"results": responses})
