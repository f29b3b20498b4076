"""Applicants' rights over their personal data (docs/privacy.md): access to everything held
about one pseudonymous reference, and its erasure. Every read is audited with who, when and
why; ``reason`` (a query parameter) is the why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from riskloop.serving.auth import Requires, caller
from riskloop.serving.dependencies import get_store
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Principal, Role
from riskloop.serving.schemas import ApplicantRecord, ErasureResponse
from riskloop.store import PredictionStore
from riskloop.store.privacy import PrivacyStore

router = APIRouter(tags=["applicants"], responses=documented_errors(401, 403, 404, 422, 429))

# an applicant reference: HMAC-SHA-256 in hex, as POST /v1/score answered it (applicant_ref)
ApplicantRef = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f]{64}$",
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
