"""Register the scorer; make it champion when it passes the promotion gate
(:func:`riskloop.evaluation.gates.promotion_gate`: profit, AUC tolerance, fairness)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from riskloop import registry
from riskloop.config import validate_config
from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation import business
from riskloop.evaluation.gates import GateThresholds, ModelEvidence, promotion_gate
from riskloop.evaluation.metrics import classification_metrics
from riskloop.pipelines.evaluation.nodes import fairness_summary
from riskloop.scorer import APPROVE, Scorer


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


def register_scorer(
    scorer: Scorer,
    validation: pd.DataFrame,
    metrics: dict[str, dict[str, float]],
    fairness_report: dict[str, Any],
    scenario: Scenario,
    registration: dict[str, Any],
    gate_thresholds: dict[str, Any],
) -> dict[str, Any]:
    """Log metrics, register a new model version, and move the champion alias if it passes the
    promotion gate (``gate_thresholds``: ``params:promotion_gate``, :class:`GateThresholds`).

    The champion is re-scored on *this* validation split (at its own threshold), so both
    models are compared on the same rows.
    """
    for split, values in metrics.items():
        registry.log_metrics(values, prefix=f"{split}_")
    name = scenario.model_name
    worst = fairness_summary(fairness_report, scenario.fairness.min_group_size)
    candidate = validation_evidence(scorer, validation, scenario)
    candidate = ModelEvidence(
        candidate.profit_per_1000, candidate.auc, worst["dp_ratio"], worst["eo_difference"]
    )
    current = registry.load_champion(name)
    champion, champion_version, note = None, None, ""
    if current is not None:
        champion_scorer, info = current
        champion_version = info.version
        try:
            champion = validation_evidence(champion_scorer, validation, scenario)
        except (KeyError, ValueError) as error:
            note = f"; champion v{info.version} cannot score the current data ({error})"
    decision = promotion_gate(
        candidate,
        champion,
        validate_config(gate_thresholds, GateThresholds, "params:promotion_gate"),
        dp_ratio_min=scenario.fairness.demographic_parity_ratio_min,
        eo_difference_max=scenario.fairness.equalized_odds_difference_max,
    )
    if candidate.profit_per_1000 is not None:
        registry.log_metrics({"validation_profit_per_1000": candidate.profit_per_1000})
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
    version = registry.register_scorer(scorer, name, tags)
    # `promote: false` (the retraining workflow): register only; the workflow compares the
    # challenger with the champion on recent labelled outcomes and moves the alias itself.
    promoted = decision.promote and bool(registration.get("promote", True))
    if promoted:
        registry.set_alias(name, version.version, registry.CHAMPION)
    return {
        "model_name": name,
        "version": version.version,
        "promoted": promoted,
        "gate_passed": decision.promote,
        "reason": decision.reason + note,
        "failed_gates": decision.failures,
        "candidate_validation_auc": candidate.auc,
        "candidate_validation_profit_per_1000": candidate.profit_per_1000,
        "candidate_dp_ratio": candidate.dp_ratio,
        "candidate_eo_difference": candidate.eo_difference,
        "champion_version": version.version if promoted else champion_version,
        "previous_champion_version": champion_version,
        "previous_champion_validation_auc": None if champion is None else champion.auc,
        "previous_champion_validation_profit_per_1000": (
            None if champion is None else champion.profit_per_1000
        ),
    }
