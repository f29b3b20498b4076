"""Decide what registration does with the scorer: measure it and the current champion on the
same validation rows, apply the promotion gate
(:func:`riskloop.evaluation.gates.promotion_gate`: profit, AUC tolerance, fairness), and hand the
scorer, its tags and the verdict to the catalog's ``registration_report`` dataset
(:class:`riskloop.pipelines.datasets.ModelRegistrationDataset`), which registers it in MLflow.
The champion comes from the catalog too (:class:`~riskloop.pipelines.datasets.ChampionDataset`):
no node here talks to the registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskloop.config import validate_config
from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation import business
from riskloop.evaluation.gates import (
    GateThresholds,
    ModelEvidence,
    promotion_gate,
    validation_fairness,
)
from riskloop.evaluation.metrics import classification_metrics
from riskloop.pipelines.datasets import Champion, ModelRegistration
from riskloop.scorer import APPROVE, Scorer


@dataclass(frozen=True)
class ChampionEvidence:
    """The current champion's version and its evidence on the validation rows: both None
    without a champion; the evidence None, with ``note`` saying why, when it cannot score them."""

    version: str | None
    evidence: ModelEvidence | None
    note: str = ""


def validation_evidence(
    scorer: Scorer, validation: pd.DataFrame, scenario: Scenario
) -> ModelEvidence:
    """Profit per 1,000 (None without a cost model) and AUC of a scorer's own decisions on the
    validation rows."""
    y = target_vector(validation, scenario)
    probability = scorer.predict_proba(validation)
    profit = None
    if business.has_cost_model(scenario):
        exposure, term = business.exposure_and_term(validation, scenario)
        approved = np.asarray(scorer.decide(probability)) == APPROVE
        profit = business.profit_per_1000(y, approved, exposure, term, scenario.costs)
    return ModelEvidence(profit_per_1000=profit, auc=classification_metrics(y, probability)["auc"])


def candidate_evidence(
    scorer: Scorer,
    validation: pd.DataFrame,
    fairness_report: dict[str, Any],
    scenario: Scenario,
) -> ModelEvidence:
    """The new scorer's validation profit and AUC, with the worst fairness figures of the
    evaluation's report (groups of at least ``fairness.min_group_size`` rows)."""
    worst = validation_fairness(fairness_report, scenario.fairness.min_group_size)
    measured = validation_evidence(scorer, validation, scenario)
    return ModelEvidence(
        measured.profit_per_1000, measured.auc, worst["dp_ratio"], worst["eo_difference"]
    )


def champion_evidence(
    champion: Champion | None, validation: pd.DataFrame, scenario: Scenario
) -> ChampionEvidence:
    """The champion re-scored on *this* validation split (at its own threshold), so both models
    are compared on the same rows; no evidence when it cannot score the current data."""
    if champion is None:
        return ChampionEvidence(None, None)
    if champion.scorer is None:
        note = f"; champion v{champion.version} was refused ({champion.refusal})"
        return ChampionEvidence(champion.version, None, note)
    try:
        return ChampionEvidence(
            champion.version, validation_evidence(champion.scorer, validation, scenario)
        )
    except (KeyError, ValueError) as error:
        note = f"; champion v{champion.version} cannot score the current data ({error})"
        return ChampionEvidence(champion.version, None, note)


def promotion_decision(
    scorer: Scorer,
    candidate: ModelEvidence,
    champion: ChampionEvidence,
    metrics: dict[str, dict[str, float]],
    scenario: Scenario,
    registration: dict[str, Any],
    gate_thresholds: dict[str, Any],
) -> ModelRegistration:
    """The registration of ``scorer``: its tags and run metrics, and whether it becomes champion
    — when it passes the promotion gate (``gate_thresholds``: ``params:promotion_gate``,
    :class:`GateThresholds`) and ``registration.promote`` is not false."""
    previous = champion.evidence
    decision = promotion_gate(
        candidate,
        previous,
        validate_config(gate_thresholds, GateThresholds, "params:promotion_gate"),
        dp_ratio_min=scenario.fairness.demographic_parity_ratio_min,
        eo_difference_max=scenario.fairness.equalized_odds_difference_max,
    )
    run_metrics = {
        f"{split}_{name}": float(value)
        for split, values in metrics.items()
        for name, value in values.items()
    }
    if candidate.profit_per_1000 is not None:
        run_metrics["validation_profit_per_1000"] = candidate.profit_per_1000
    tags = {
        "validation_auc": f"{candidate.auc:.6f}",
        "test_auc": f"{metrics['test']['auc']:.6f}",
        "validation_profit_per_1000": str(candidate.profit_per_1000),
        "data_sha256": str(scorer.metadata.get("data_sha256")),
        "trained_at": str(scorer.metadata.get("trained_at")),
        "model_type": str(scorer.metadata.get("model_type")),
        "calibration": str(scorer.metadata.get("calibration", "none")),
        "threshold": f"{scorer.threshold:.6f}",
    }
    # `promote: false` (the retraining workflow): register only; the workflow compares the
    # challenger with the champion on recent labelled outcomes and moves the alias itself.
    promoted = decision.promote and bool(registration.get("promote", True))
    report = {
        "promoted": promoted,
        "gate_passed": decision.promote,
        "reason": decision.reason + champion.note,
        "failed_gates": decision.failures,
        "candidate_validation_auc": candidate.auc,
        "candidate_validation_profit_per_1000": candidate.profit_per_1000,
        "candidate_dp_ratio": candidate.dp_ratio,
        "candidate_eo_difference": candidate.eo_difference,
        # the registration dataset puts the new version here when it becomes champion
        "champion_version": champion.version,
        "previous_champion_version": champion.version,
        "previous_champion_validation_auc": None if previous is None else previous.auc,
        "previous_champion_validation_profit_per_1000": (
            None if previous is None else previous.profit_per_1000
        ),
    }
    return ModelRegistration(scorer, scenario.model_name, tags, run_metrics, promoted, report)
