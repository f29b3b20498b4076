"""Request and response models. The applicant model is derived from the scorer's input schema,
so the API accepts exactly the scenario's fields with their ranges and categories."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from riskloop.data.schema import InputSchema

APPLICATION_ID = Field(
    None,
    min_length=1,
    max_length=64,
    pattern=r"^[A-Za-z0-9._:-]+$",
    description="your identifier for the application; generated when absent",
)


def applicant_model(schema: InputSchema) -> type[BaseModel]:
    """A pydantic model with one field per input: numbers with their range, categories as a
    closed set, ``null`` allowed where the feature is nullable; unknown fields are refused."""
    fields: dict[str, Any] = {"application_id": (str | None, APPLICATION_ID)}
    for feature in schema.features:
        if feature.kind == "numeric":
            kind: Any = float
            constraint = Field(
                ... if not feature.nullable else None,
                ge=feature.min,
                le=feature.max,
                allow_inf_nan=False,
                description=feature.description,
            )
        else:
            kind = Literal[tuple(feature.categories or ())]  # type: ignore[misc]
            constraint = Field(
                ... if not feature.nullable else None, description=feature.description
            )
        fields[feature.name] = (kind | None if feature.nullable else kind, constraint)
    return create_model("Applicant", __config__=ConfigDict(extra="forbid", strict=False), **fields)


class ScoreResponse(BaseModel):
    application_id: str
    probability_of_default: float = Field(description="probability of the risky outcome")
    decision: Literal["approve", "decline"]
    threshold: float
    model_name: str
    model_version: str


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


class FieldError(BaseModel):
    field: str
    message: str
    received: Any = None


class ErrorBody(BaseModel):
    code: str
    message: str
    fields: list[FieldError] = []


class ErrorResponse(BaseModel):
    error: ErrorBody
