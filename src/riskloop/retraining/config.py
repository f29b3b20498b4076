"""The retraining configuration (``conf/base/retraining.yml``), validated."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class RetrainingConfigError(ValueError):
    """The retraining configuration cannot be read or breaks its rules."""


class PolicySpec(BaseModel):
    """Which rows train the challenger and which judge it (docs/retraining.md)."""

    model_config = ConfigDict(extra="forbid")

    lookback_rows: int = Field(3000, ge=1, description="newest labelled production rows used")
    holdout_share: float = Field(0.3, gt=0.0, lt=1.0, description="newest share: the holdout")
    min_holdout_rows: int = Field(100, ge=10, description="fewer: no comparison, no retrain")
    reference_ratio: float | Literal["all"] = Field(
        1.0, description="reference rows per production row in the training set, or 'all'"
    )
    seed: int = 0


class GateSpec(BaseModel):
    """Thresholds of :func:`riskloop.evaluation.gates.promotion_gate` on the holdout."""

    model_config = ConfigDict(extra="forbid")

    min_profit_improvement: float = 0.0
    auc_tolerance: float = Field(0.01, ge=0.0)
    min_auc_improvement: float = 0.0
    brier_tolerance: float | None = Field(0.01, ge=0.0)


class SimulationSpec(BaseModel):
    """Defaults of ``riskloop simulate``."""

    model_config = ConfigDict(extra="forbid")

    windows: int = Field(8, ge=2)
    rows_per_window: int = Field(300, ge=50)
    feedback_delay: int = Field(1, ge=0)
    cooldown_windows: int = Field(3, ge=0)
    seed: int = 7
    retrain_on: list[str] | None = Field(
        None, description="trigger names that start a retrain; None = every fired trigger"
    )
    training: dict[str, Any] = Field(default_factory=dict)


class ShadowSpec(BaseModel):
    """When the comparison uses the challenger's shadow scores of live traffic."""

    model_config = ConfigDict(extra="forbid")

    min_labelled: int = Field(
        100,
        ge=10,
        description="labelled applications the challenger shadow-scored needed to judge it on"
        " them; fewer: the offline holdout",
    )


class RetrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: PolicySpec = Field(default_factory=PolicySpec)
    gates: GateSpec = Field(default_factory=GateSpec)
    training: dict[str, Any] = Field(
        default_factory=dict, description="parameter overrides of the challenger's pipeline run"
    )
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)


def load_retraining_config(path: Path) -> RetrainingConfig:
    """Read ``path`` (defaults for everything when the file does not exist)."""
    if not path.is_file():
        return RetrainingConfig()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
        return RetrainingConfig.model_validate(raw)
    except yaml.YAMLError as error:
        raise RetrainingConfigError(f"{path} is not valid YAML: {error}") from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']} (received {e.get('input')!r})"
            for e in error.errors()
        )
        raise RetrainingConfigError(f"{path} is invalid: {problems}") from None
