"""Request and response models. The applicant model is derived from the scorer's input schema,
so the API accepts exactly the scenario's fields with their ranges and categories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator
from pydantic_core import PydanticCustomError

from riskloop.data.schema import InputSchema

# The bounds of a feedback's observed_at: nothing riskloop scored was observed before this, and
# a client's clock may run ahead of the service's by this much.
EARLIEST_OBSERVATION = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW = timedelta(minutes=5)

APPLICATION_ID = Field(
    None,
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="your identifier for the application; generated when absent",
)

# the lender's own identifier of the person: turned into a pseudonymous reference (HMAC under
# the service's key, riskloop.store.privacy) and never stored or returned in clear
APPLICANT_ID = Field(
    None,
    min_length=1,
    max_length=200,
    description="your identifier of the applicant (person); never stored: the log and the"
    " answer carry its pseudonymous reference (applicant_ref) instead",
)


def applicant_model(schema: InputSchema, analysed: InputSchema | None = None) -> type[BaseModel]:
    """A pydantic model with one field per input: numbers with their range, categories as a
    closed set, ``null`` allowed where the feature is nullable; unknown fields are refused.
    The ``analysed`` attributes (sensitive ones that are not model inputs) are accepted too,
    optional, with their rules: they are logged for fairness monitoring, never scored.

    Numbers are strict (a JSON number, not the string ``"30"`` or ``true``): the API is for
    programs, and a client that sends strings has a bug worth hearing about."""
    fields: dict[str, Any] = {
        "application_id": (str | None, APPLICATION_ID),
        "applicant_id": (str | None, APPLICANT_ID),
    }
    optional = {f.name for f in analysed.features} if analysed else set()
    for feature in (*schema.features, *(analysed.features if analysed else ())):
        nullable = feature.nullable or feature.name in optional
        description = feature.description
        if feature.name in optional:
            description = f"{description or feature.name} (optional; not a model input: logged"
            description += " for fairness monitoring, never scored)"
        if feature.kind == "numeric":
            kind: Any = float
            constraint = Field(
                ... if not nullable else None,
                ge=feature.min,
                le=feature.max,
                allow_inf_nan=False,
                strict=True,
                description=description,
            )
        else:
            kind = Literal[tuple(feature.categories or ())]
            constraint = Field(... if not nullable else None, description=description)
        fields[feature.name] = (kind | None if nullable else kind, constraint)
    return create_model("Applicant", __config__=ConfigDict(extra="forbid", strict=False), **fields)


class ReasonCode(BaseModel):
    feature: str = Field(description="the input")
    text: str = Field(description="the reason in words (the scenario's reason text)")
    contribution: float = Field(description="how far it pushes toward decline (log-odds)")


class ScoreResponse(BaseModel):
    application_id: str
    probability_of_default: float = Field(
        ge=0, le=1, description="probability of the risky outcome"
    )
    decision: Literal["approve", "decline"]
    threshold: float
    model_name: str
    model_version: str
    reasons: list[ReasonCode] = Field(
        default_factory=list,
        description="the inputs pushing hardest toward decline, strongest first;"
        " empty when the model cannot explain itself",
    )
    applicant_ref: str | None = Field(
        None,
        description="the applicant's pseudonymous reference (present when applicant_id was"
        " sent): what GET and DELETE /v1/applicants/{ref} take",
    )
    rectifies: str | None = Field(
        None,
        description="on POST /v1/applications/{id}/rectify: the application_id of the"
        " decision this one corrects",
    )


class BatchResponse(BaseModel):
    results: list[ScoreResponse]


class ModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    name: str
    version: str
    alias: str | None
    threshold: float
    trained_at: str | None
    data_sha256: str | None
    metrics: dict[str, Any]
    loaded_at: datetime | None = None


class Explanation(BaseModel):
    base_value: float
    output: float
    output_space: Literal["log_odds", "probability"]
    contributions: dict[str, float] = Field(
        description="per input feature; base_value + sum(contributions) = output"
    )
    attention: dict[Literal["last_layer", "rollout"], dict[str, float]] | None = Field(
        None,
        description="attention models only: how much the [CLS] token attended to each input"
        " feature (last block, and rollout through all blocks; each sums to 1) — where the"
        " model looked, not how much a feature moved the score",
    )


class ExplanationResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    application_id: str
    model_name: str
    model_version: str
    probability_of_default: float
    decision: Literal["approve", "decline"]
    reasons: list[ReasonCode]
    explanation: Explanation


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    application_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$", description="as scored"
    )
    outcome: int = Field(
        ge=0,
        le=1,
        description="1 when the risky outcome (the scenario's positive class, e.g. 'bad')"
        " was observed, 0 when it was not",
    )
    observed_at: datetime | None = Field(
        None,
        description="when the outcome was observed, with its time zone (default: unknown);"
        f" not before {EARLIEST_OBSERVATION:%Y-%m-%d} nor in the future",
    )

    @field_validator("observed_at")
    @classmethod
    def _a_real_recent_time(cls, value: datetime | None) -> datetime | None:
        # a naive time means a different instant in every time zone; 1970 or 9999 is a bug or
        # a default value, and would shift every delayed-label window the monitor computes
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise PydanticCustomError(
                "timezone_required",
                "must carry a time zone (e.g. 2025-01-31T09:30:00Z or +01:00): a time without"
                " one is ambiguous",
            )
        if value < EARLIEST_OBSERVATION:
            raise PydanticCustomError(
                "observed_too_early",
                f"must be on or after {EARLIEST_OBSERVATION:%Y-%m-%d}",
            )
        latest = datetime.now(UTC) + MAX_CLOCK_SKEW
        if value > latest:
            raise PydanticCustomError(
                "observed_in_the_future",
                "must not be in the future (more than"
                f" {MAX_CLOCK_SKEW.total_seconds() / 60:g} minutes ahead of the service's clock,"
                f" {latest:%Y-%m-%dT%H:%M:%SZ})",
            )
        return value

    @field_validator("outcome", mode="before")
    @classmethod
    def _a_number_not_a_flag(cls, value: Any) -> Any:
        # true/false or "1" are a client bug, not an outcome; 1.0 is the JSON integer 1
        if isinstance(value, bool | str):
            raise ValueError("the outcome must be the number 0 or 1")
        return value


class FeedbackResponse(BaseModel):
    application_id: str
    outcome: int = Field(ge=0, le=1)
    observed_at: datetime | None
    received_at: datetime


class ReloadResponse(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    changed: bool = Field(description="true when a different version is now in service")
    model_name: str
    model_version: str
    previous_version: str | None


class FieldError(BaseModel):
    field: str
    message: str
    received: Any = None


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []
    fields_omitted: int = Field(0, ge=0, description="field errors beyond those listed")


class ErrorResponse(BaseModel):
    error: ErrorBody


class ApplicantDecision(BaseModel):
    """One decision held about an applicant, with everything kept alongside it."""

    model_config = ConfigDict(protected_namespaces=())

    application_id: str
    received_at: datetime
    model_name: str
    model_version: str
    inputs: dict[str, Any] = Field(description="as received; empty once purged by retention")
    inputs_purged_at: datetime | None = Field(description="when retention purged the inputs")
    probability: float
    decision: str
    threshold: float
    reasons: list[dict[str, Any]] | None
    explanation: dict[str, Any] | None
    rectifies: str | None = Field(
        None, description="the application_id of the decision this one corrects"
    )
    outcome: dict[str, Any] | None = Field(description="the observed outcome, when one arrived")


class ApplicantRecord(BaseModel):
    """Everything riskloop holds about one applicant (the right of access)."""

    applicant_ref: str
    decisions: list[ApplicantDecision]


class ErasureResponse(BaseModel):
    applicant_ref: str
    decisions_erased: int = Field(description="decisions deleted; each left a tombstone")
    erased_at: datetime
