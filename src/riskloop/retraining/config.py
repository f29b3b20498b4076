"""The retraining configuration (``conf/base/retraining.yml``), validated, together with the
promotion gate's thresholds it shares with the registration pipeline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from riskloop.config import load_config
from riskloop.evaluation.gates import (
    GateThresholds,
    JudgeThresholds,
    load_gate_thresholds,
    load_judge_thresholds,
)


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


class LabelChecksSpec(BaseModel):
    """How a feedback batch is checked before its outcomes may train or judge a model
    (:mod:`riskloop.retraining.label_checks`, docs/retraining.md)."""

    model_config = ConfigDict(extra="forbid")

    alpha: float = Field(
        0.001,
        gt=0.0,
        lt=0.5,
        description="family-wise significance level of the bad-rate tests of one batch"
        " (Bonferroni over the overall test and every segment tested)",
    )
    bad_rate_tolerance: float = Field(
        0.05,
        ge=0.0,
        lt=1.0,
        description="absolute gap between observed and expected bad rate never quarantined",
    )
    min_rows: int = Field(
        50, ge=5, description="fewer rows: a segment is not tested; API outcomes wait"
    )
    segment_columns: list[str] | None = Field(
        None,
        description="input columns whose values are segments; None: every categorical input"
        " with at most max_segment_levels values",
    )
    max_segment_levels: int = Field(12, ge=2)
    min_maturity_days: float = Field(
        30.0,
        ge=0.0,
        description="an outcome observed sooner than this after the decision is held",
    )


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
    first_champion: dict[str, Any] = Field(
        default_factory=dict,
        description="parameters merged over `training` for the first champion's run only",
    )


class ShadowSpec(BaseModel):
    """When the comparison uses the challenger's shadow scores of live traffic."""

    model_config = ConfigDict(extra="forbid")

    min_labelled: int = Field(
        100,
        ge=10,
        description="labelled applications the challenger shadow-scored needed to judge it on"
        " them; fewer: the offline holdout",
    )


class AlertRetrainSpec(BaseModel):
    """Which of the monitor's alerts retrain a challenger (``riskloop monitor
    --retrain-on-alerts``, the deployed monitor loop), and how often at most."""

    model_config = ConfigDict(extra="forbid")

    retrain_on: list[str] = Field(
        default_factory=lambda: [
            "sustained_drift",
            "prediction_drift",
            "realised_performance_drop",
            "label_free_estimate_drop",
        ],
        description="rule names of conf/base/monitoring.yml whose alert starts a retrain",
    )
    min_interval_hours: float = Field(
        24.0,
        gt=0,
        description="rate limit: no alert-driven retrain within this many hours of the last"
        " retrain of any kind (the journal's newest retrain_started event)",
    )


class RetrainingFile(BaseModel):
    """``conf/base/retraining.yml`` as written (every section optional)."""

    model_config = ConfigDict(extra="forbid")

    policy: PolicySpec = Field(default_factory=PolicySpec)
    training: dict[str, Any] = Field(
        default_factory=dict, description="parameter overrides of the challenger's pipeline run"
    )
    simulation: SimulationSpec = Field(default_factory=SimulationSpec)
    shadow: ShadowSpec = Field(default_factory=ShadowSpec)
    label_checks: LabelChecksSpec = Field(default_factory=LabelChecksSpec)
    alerts: AlertRetrainSpec = Field(default_factory=AlertRetrainSpec)


class RetrainingConfig(RetrainingFile):
    """What the retraining workflow runs on: ``retraining.yml`` and the promotion gate.

    Parameters
    ----------
    gates : GateThresholds
        The promotion gate's thresholds, from ``conf/base/parameters_promotion.yml`` (the
        registration pipeline reads the same section, so a promotion means one thing).
    judge : JudgeThresholds
        What the retraining judge asks beyond the gate (floors, intervals, fairness
        tolerances), from the same file's ``retraining_judge`` section.
    """

    gates: GateThresholds
    judge: JudgeThresholds


def load_retraining_config(path: Path, gate_thresholds_path: Path) -> RetrainingConfig:
    """Read the retraining configuration and the promotion gate's thresholds.

    Parameters
    ----------
    path : Path
        ``conf/base/retraining.yml``; defaults for every section when the file does not exist.
    gate_thresholds_path : Path
        ``conf/base/parameters_promotion.yml`` (required: the thresholds have no defaults).

    Raises
    ------
    riskloop.config.ConfigError
        Either file breaks its rules; the message names the file, the key and the value.
    """
    retraining = load_config(path, RetrainingFile, missing_ok=True)
    return RetrainingConfig(
        **dict(retraining),
        gates=load_gate_thresholds(gate_thresholds_path),
        judge=load_judge_thresholds(gate_thresholds_path),
    )
