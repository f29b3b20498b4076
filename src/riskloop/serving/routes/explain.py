"""Explanations: the full additive breakdown of a logged application, by the version that
scored it (computed on demand, then kept in the log)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from riskloop.serving.auth import Requires, caller
from riskloop.serving.dependencies import get_reloader, get_store
from riskloop.serving.errors import APIError, documented_errors
from riskloop.serving.identity import Principal, Role
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.reloader import ModelReloader
from riskloop.serving.routes.applicants import Reason
from riskloop.serving.schemas import ExplanationResponse
from riskloop.serving.scoring import plain
from riskloop.store import PredictionStore
from riskloop.store.privacy import PrivacyStore

router = APIRouter(
    tags=["scoring"],
    dependencies=[Depends(Requires(Role.ANALYST))],
    responses=documented_errors(401, 403, 429),
)


@router.get(
    "/v1/explain/{application_id}",
    response_model=ExplanationResponse,
    # ``attention`` exists for attention models only: other models answer as they always did
    response_model_exclude_none=True,
    responses=documented_errors(404),
)
def explain(
    application_id: str,
    reason: Reason = None,
    store: PredictionStore = Depends(get_store),
    reloader: ModelReloader = Depends(get_reloader),
    who: Principal = Depends(caller),
) -> ExplanationResponse:
    """The full additive breakdown (base value + one contribution per input = the model's
    output) of a logged application, computed with the model version that scored it. The read
    of the applicant's inputs is audited (who, when, and ``reason``)."""
    row = store.get(application_id)
    if row is None:
        raise APIError(404, "unknown_application", f"no application {application_id!r} was scored")
    explanation = row.get("explanation")
    if explanation is None:
        explanation = _explain(row, _scorer_of(row, reloader))
        store.set_explanation(application_id, explanation)
    PrivacyStore(store.engine).record_read(
        {"application_id": application_id}, who.name, reason, "GET /v1/explain"
    )
    return ExplanationResponse(
        application_id=application_id,
        model_name=row["model_name"],
        model_version=row["model_version"],
        probability_of_default=row["probability"],
        decision=row["decision"],
        reasons=row.get("reasons") or [],
        explanation=explanation,
    )


def _no_explanation(row: dict[str, Any], why: str) -> APIError:
    return APIError(
        404,
        "no_explanation",
        f"version {row['model_version']} that scored {row['application_id']!r} {why}",
    )


def _scorer_of(row: dict[str, Any], reloader: ModelReloader) -> LoadedModel:
    """The model version that scored ``row`` (404 when it cannot be had)."""
    try:
        model = reloader.scored_by(row["model_version"])
    except Exception as error:
        raise _no_explanation(row, f"cannot be loaded ({type(error).__name__}: {error})") from None
    if model is None:
        raise _no_explanation(
            row, "is no longer loaded and this service cannot load former versions"
        )
    return model


def _explain(row: dict[str, Any], model: LoadedModel) -> dict[str, Any]:
    version = row["model_version"]
    if not hasattr(model.scorer, "explain_records"):
        raise APIError(
            404,
            "no_explanation",
            f"model version {version} cannot explain its scores (its scorer"
            " has no explain_records)",
        )
    try:
        explanation: dict[str, Any] = plain(model.scorer.explain_records([row["inputs"]])[0])
    except ValueError as error:  # e.g. a scorer trained without explanation state
        raise APIError(
            404,
            "no_explanation",
            f"model version {version} cannot explain its scores: {error}",
        ) from None
    return explanation
