"""Applicants' rights over their personal data (docs/privacy.md): access to everything held
about one pseudonymous reference, its erasure, and the rectification of a decision's inputs.
Every read is audited with who, when and why; ``reason`` (a query parameter) is the why."""

from __future__ import annotations

import dataclasses
import time
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import PlainTextResponse, Response

from riskloop.serving.auth import Requires, caller
from riskloop.serving.config import ServiceConfig
from riskloop.serving.dependencies import (
    current_model,
    get_config,
    get_recorder,
    get_store,
    json_body,
)
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Principal, Role
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.openapi import request_body
from riskloop.serving.schemas import ApplicantRecord, ErasureResponse, ScoreResponse
from riskloop.serving.scoring import (
    DecisionRecorder,
    json_response,
    parse_one,
    score_applications,
)
from riskloop.store import PredictionStore
from riskloop.store.privacy import DECISION_RECTIFIED, PrivacyStore, applicant_letter

router = APIRouter(tags=["applicants"], responses=documented_errors(401, 403, 404, 422, 429))

# an applicant reference: HMAC-SHA-256 in hex, as POST /v1/score answered it (applicant_ref)
ApplicantRef = Annotated[
    str,
    Path(
        min_length=64,
        max_length=64,
        description="the applicant's pseudonymous reference (64 hex characters)",
    ),
]
Reason = Annotated[
    str | None,
    Query(
        max_length=500,
        description="why the record is read or erased (e.g. the request's case number);"
        " written to the audit log",
    ),
]


def _nothing_held(ref: str) -> APIError:
    return APIError(404, "unknown_applicant", f"nothing is held about applicant {ref!r}")


@router.get(
    "/v1/applicants/{ref}",
    response_model=ApplicantRecord,
    dependencies=[Depends(Requires(Role.ANALYST))],
)
def applicant_record(
    ref: ApplicantRef,
    reason: Reason = None,
    store: PredictionStore = Depends(get_store),
    who: Principal = Depends(caller),
) -> ApplicantRecord:
    """Everything held about one applicant (the right of access): each decision with its
    inputs, reasons, explanation, model version and outcome. The read is audited."""
    privacy = PrivacyStore(store.engine)
    record = privacy.applicant_record(ref)
    if record is None:
        raise _nothing_held(ref)
    privacy.record_read({"applicant_ref": ref}, who.name, reason, "GET /v1/applicants")
    return ApplicantRecord.model_validate(record)


@router.get(
    "/v1/applicants/{ref}/letter",
    response_class=PlainTextResponse,
    # the refusals are JSON like every error, not the text/plain of the letter
    responses={
        code: {**doc, "content": {"application/json": {}}}
        for code, doc in documented_errors(401, 403, 404, 422, 429).items()
    },
    dependencies=[Depends(Requires(Role.ANALYST))],
)
def applicant_record_letter(
    ref: ApplicantRef,
    reason: Reason = None,
    store: PredictionStore = Depends(get_store),
    who: Principal = Depends(caller),
) -> PlainTextResponse:
    """The same record as ``GET /v1/applicants/{ref}``, as a plain-language letter to the
    applicant (one paragraph per decision). The read is audited."""
    privacy = PrivacyStore(store.engine)
    record = privacy.applicant_record(ref)
    if record is None:
        raise _nothing_held(ref)
    privacy.record_read({"applicant_ref": ref}, who.name, reason, "GET /v1/applicants/letter")
    return PlainTextResponse(applicant_letter(record, datetime.now(UTC)))


@router.delete(
    "/v1/applicants/{ref}",
    response_model=ErasureResponse,
    dependencies=[Depends(Requires(Role.ADMIN))],
)
def erase_applicant(
    ref: ApplicantRef,
    reason: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description="why the data is erased (e.g. the applicant's request and its date);"
            " kept on every tombstone and in the audit log",
        ),
    ],
    store: PredictionStore = Depends(get_store),
    who: Principal = Depends(caller),
) -> ErasureResponse:
    """Erase one applicant (the right to erasure): their decisions, inputs, explanations and
    outcomes are deleted; each decision leaves a tombstone with only its decision, date and
    model version, and the reason. Audited."""
    erased_at = datetime.now(UTC)
    erased = PrivacyStore(store.engine).erase(ref, reason, who.name, erased_at)
    if erased == 0:
        raise _nothing_held(ref)
    return ErasureResponse(applicant_ref=ref, decisions_erased=erased, erased_at=erased_at)


@router.post(
    "/v1/applications/{application_id}/rectify",
    response_model=None,
    responses={200: {"model": ScoreResponse}, **documented_errors(409, 413, 415, 503)},
    dependencies=[Depends(Requires(Role.ADMIN))],
    openapi_extra=request_body(
        "Applicant",
        "the application with its inputs corrected; an applicant_id, if sent, must be the"
        " applicant of the decision it corrects (else 409)",
    ),
)
async def rectify_application(
    application_id: str,
    reason: Reason = None,
    body: bytes = Depends(json_body),
    model: LoadedModel = Depends(current_model),
    recorder: DecisionRecorder = Depends(get_recorder),
    store: PredictionStore = Depends(get_store),
    config: ServiceConfig = Depends(get_config),
    who: Principal = Depends(caller),
) -> Response:
    """Rectify a decision's inputs (the right to rectification): the corrected application is
    scored by the model in service and logged as a new decision that names the one it corrects
    (``rectifies``) and keeps its applicant; the old decision stays as it was made. Audited."""
    started = time.perf_counter()
    corrected = await run_in_threadpool(store.get, application_id)
    if corrected is None:
        raise APIError(404, "unknown_application", f"no application {application_id!r} was scored")
    application = parse_one(model, body)
    responses, rows, decisions = score_applications(
        model, [application], started, who.name, config.applicant_ref_key
    )
    ref = corrected["applicant_ref"]
    sent_ref = responses[0].get("applicant_ref")
    if sent_ref is not None and sent_ref != ref:
        raise APIError(
            409,
            "applicant_mismatch",
            f"the applicant_id sent is not the applicant of {application_id!r}: a rectified"
            " decision keeps the applicant of the decision it corrects (send it without"
            " applicant_id)",
        )
    rows = [dataclasses.replace(rows[0], applicant_ref=ref, rectifies=application_id)]
    await recorder.record(model, rows, decisions)
    answer = {
        **responses[0],
        "rectifies": application_id,
        **({"applicant_ref": ref} if ref else {}),
    }
    await run_in_threadpool(
        PrivacyStore(store.engine).audit.record_audit_event,
        DECISION_RECTIFIED,
        {"rectifies": application_id, "application_id": answer["application_id"], "reason": reason},
        actor=who.name,
    )
    return json_response(answer)
