"""The model in service: what it is and its reports (analysts), and the fields it needs (also
scorers: a client cannot fill an application without them; they hold no applicant's data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from riskloop.serving.auth import Requires
from riskloop.serving.dependencies import current_model
from riskloop.serving.errors import documented_errors
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel
from riskloop.serving.schemas import ModelInfo
from riskloop.serving.scoring import plain

router = APIRouter(tags=["model"], responses=documented_errors(401, 403, 429, 503))
analysts = [Depends(Requires(Role.ANALYST))]


@router.get("/v1/model", response_model=ModelInfo, dependencies=analysts)
def model_info(model: LoadedModel = Depends(current_model)) -> ModelInfo:
    """The model in service: name, version, alias, metrics, threshold, training data hash."""
    meta = model.scorer.metadata
    metrics = {**(meta.get("metrics") or {}), **model.metrics}
    return ModelInfo(
        name=model.name,
        version=model.version,
        alias=model.alias,
        threshold=model.scorer.threshold,
        trained_at=meta.get("trained_at"),
        data_sha256=meta.get("data_sha256"),
        metrics=plain(metrics),
        loaded_at=model.loaded_at,
    )


@router.get("/v1/model/reports", dependencies=analysts)
def model_reports(model: LoadedModel = Depends(current_model)) -> dict[str, Any]:
    """The model's reports (model card, candidate comparison, calibration, profit curve,
    business impact, fairness); ``{}`` when it has none."""
    reports: dict[str, Any] = plain(getattr(model.scorer, "reports", None) or {})
    return reports


@router.get("/v1/schema", dependencies=[Depends(Requires(Role.SCORER, Role.ANALYST))])
def input_schema(model: LoadedModel = Depends(current_model)) -> dict[str, Any]:
    """The fields an application must have: kind, range or categories, nullability."""
    schema: dict[str, Any] = plain(model.scorer.input_schema.to_dict())
    return schema
