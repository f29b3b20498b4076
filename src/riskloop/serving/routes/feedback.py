"""Outcomes: what happened to a scored application (in credit, months later)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends

from riskloop.serving.auth import Requires, caller
from riskloop.serving.dependencies import get_store, json_body
from riskloop.serving.errors import APIError, documented_errors, validate_json
from riskloop.serving.identity import Principal, Role
from riskloop.serving.schemas import FeedbackRequest, FeedbackResponse
from riskloop.store import DuplicateLabelError, PredictionStore, UnknownApplicationError

router = APIRouter(
    tags=["outcomes"],
    dependencies=[Depends(Requires(Role.OUTCOMES))],
    responses=documented_errors(401, 403, 429),
)


@router.post(
    "/v1/feedback",
    response_model=FeedbackResponse,
    responses=documented_errors(404, 409, 413, 415, 422),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": FeedbackRequest.model_json_schema()}},
        }
    },
)
def feedback(
    body: bytes = Depends(json_body),
    store: PredictionStore = Depends(get_store),
    who: Principal = Depends(caller),
) -> FeedbackResponse:
    """Record the observed outcome of a scored application (in credit, months later).
    An unknown application_id is 404; a second outcome for the same one is 409. The outcome is
    stored unchecked: it trains or judges a model only once the caller's outcomes pass the label
    checks as a batch, or a person releases them (docs/retraining.md)."""
    # parsed here, not by FastAPI, so a bad body is named like on the scoring routes
    outcome = validate_json(FeedbackRequest, body, "an outcome")
    received_at = datetime.now(UTC)
    try:
        store.add_label(
            outcome.application_id,
            outcome.outcome,
            received_at,
            outcome.observed_at,
            source=f"api:{who.name}",
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
