"""Register the scorer; make it champion when there is none or when it beats the champion."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskloop import registry
from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation.metrics import classification_metrics
from riskloop.scorer import Scorer


def champion_decision(
    candidate_auc: float, champion_auc: float | None, min_improvement: float
) -> tuple[bool, str]:
    """Promote when there is no comparable champion or the candidate's validation AUC is higher
    by more than ``min_improvement``. Equal is not better: a retrain on the same data keeps the
    champion."""
    if champion_auc is None:
        return True, "no comparable champion"
    if candidate_auc > champion_auc + min_improvement:
        return True, (
            f"validation AUC {candidate_auc:.4f} beats champion's {champion_auc:.4f}"
            f" by more than {min_improvement:g}"
        )
    return False, (
        f"validation AUC {candidate_auc:.4f} does not beat champion's {champion_auc:.4f}"
        f" by more than {min_improvement:g}"
    )


def register_scorer(
    scorer: Scorer,
    validation: pd.DataFrame,
    metrics: dict[str, dict[str, float]],
    scenario: Scenario,
    registration: dict[str, Any],
) -> dict[str, Any]:
    """Log metrics, register a new model version, and move the champion alias if it earned it.

    The champion is re-scored on *this* validation split, so both models are compared on the
    same rows.
    """
    for split, values in metrics.items():
        registry.log_metrics(values, prefix=f"{split}_")
    name = scenario.model_name
    current = registry.load_champion(name)
    champion_auc, champion_version, note = None, None, ""
    if current is not None:
        champion, info = current
        champion_version = info.version
        try:
            champion_auc = classification_metrics(
                target_vector(validation, scenario), champion.predict_proba(validation)
            )["auc"]
        except (KeyError, ValueError) as error:
            note = f"; champion v{info.version} cannot score the current data ({error})"
    candidate_auc = metrics["validation"]["auc"]
    promote, reason = champion_decision(
        candidate_auc, champion_auc, registration["min_improvement"]
    )
    tags = {
        "validation_auc": f"{candidate_auc:.6f}",
        "test_auc": f"{metrics['test']['auc']:.6f}",
        "data_sha256": str(scorer.metadata.get("data_sha256")),
        "trained_at": str(scorer.metadata.get("trained_at")),
        "model_type": str(scorer.metadata.get("model_type")),
    }
    version = registry.register_scorer(scorer, name, tags)
    if promote:
        registry.set_alias(name, version.version, registry.CHAMPION)
    return {
        "model_name": name,
        "version": version.version,
        "promoted": promote,
        "reason": reason + note,
        "candidate_validation_auc": candidate_auc,
        "champion_version": version.version if promote else champion_version,
        "previous_champion_version": champion_version,
        "previous_champion_validation_auc": champion_auc,
    }
