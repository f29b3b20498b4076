"""Champion against challenger: both models' evidence on the same applications, through the
promotion gate (:func:`riskloop.evaluation.gates.promotion_gate`).

Where they are compared: on the challenger's shadow scores of labelled live applications when
there are enough of them (the champion's logged answers beside them), else both models score the
offline holdout of recent labelled applications (:mod:`riskloop.retraining.policy`).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation import business
from riskloop.evaluation.fairness import sensitive_groups
from riskloop.evaluation.gates import (
    GateDecision,
    ModelEvidence,
    group_masks,
    promotion_gate,
    worst_group_fairness,
)
from riskloop.evaluation.metrics import classification_metrics
from riskloop.retraining.config import RetrainingConfig
from riskloop.retraining.policy import production_rows
from riskloop.scorer import APPROVE
from riskloop.store import PredictionStore, ShadowStore


class ScoresApplications(Protocol):
    """What the gates need of a model: probabilities for a frame and decisions for them."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray: ...

    def decide(self, probability: np.ndarray) -> list[str]: ...


class LoggedScores:
    """Scores already known for the rows of a frame, in row order: the challenger's shadow
    scores or the champion's logged ones, with the decisions that were taken with them.

    Parameters
    ----------
    probability : array
        Probability of the risky outcome per row.
    decisions : list of str
        The decision logged with each probability.
    """

    def __init__(self, probability: np.ndarray, decisions: list[str]):
        self.probability = np.asarray(probability, dtype=np.float64)
        self.decisions = list(decisions)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        if len(frame) != len(self.probability):
            raise ValueError(f"{len(self.probability)} logged scores for {len(frame)} rows")
        return self.probability

    def decide(self, probability: np.ndarray) -> list[str]:
        return self.decisions


def shadow_comparison(
    store: PredictionStore,
    reference: pd.DataFrame,
    scenario: Scenario,
    challenger_version: str,
    min_labelled: int,
) -> tuple[pd.DataFrame, LoggedScores, LoggedScores] | None:
    """The labelled applications the challenger ``challenger_version`` shadow-scored, as
    data-file rows, with its shadow scores and the champion's logged scores; None when fewer
    than ``min_labelled`` (then the comparison falls back to the offline holdout)."""
    labelled = ShadowStore(store.engine).labelled(scenario.model_name, challenger_version)
    if len(labelled) < min_labelled:
        return None
    frame = production_rows(labelled, reference, scenario).reset_index(drop=True)
    challenger = LoggedScores(
        labelled["shadow_probability"].to_numpy(), labelled["shadow_decision"].tolist()
    )
    champion = LoggedScores(labelled["probability"].to_numpy(), labelled["decision"].tolist())
    return frame, challenger, champion


def compare(
    challenger: ScoresApplications,
    champion: ScoresApplications | None,
    challenger_version: str,
    holdout: pd.DataFrame,
    store: PredictionStore,
    reference: pd.DataFrame,
    scenario: Scenario,
    config: RetrainingConfig,
) -> tuple[GateDecision, ModelEvidence, ModelEvidence | None, str, int]:
    """Champion against challenger through the promotion gate: on the challenger's shadow
    scores of labelled live applications when there are at least ``config.shadow.min_labelled``
    (and a champion), else both models on the offline ``holdout``. Returns the verdict, both
    evidences, which comparison was used ("shadow" / "offline_holdout") and its row count."""
    shadow = None
    if champion is not None:
        shadow = shadow_comparison(
            store, reference, scenario, challenger_version, config.shadow.min_labelled
        )
    if shadow is not None:
        frame, shadow_scores, logged_scores = shadow
        decision, challenger_evidence, champion_evidence = judge(
            shadow_scores, logged_scores, frame, scenario, config
        )
        return decision, challenger_evidence, champion_evidence, "shadow", len(frame)
    decision, challenger_evidence, champion_evidence = judge(
        challenger, champion, holdout, scenario, config
    )
    return decision, challenger_evidence, champion_evidence, "offline_holdout", len(holdout)


def holdout_evidence(
    model: ScoresApplications, holdout: pd.DataFrame, scenario: Scenario
) -> ModelEvidence:
    """Profit per 1,000 (scenario costs; None without a cost model), AUC, Brier and the worst
    fairness figures of ``model``'s own decisions on the holdout rows."""
    y = target_vector(holdout, scenario)
    probability = np.asarray(model.predict_proba(holdout), dtype=np.float64)
    approved = np.asarray(model.decide(probability)) == APPROVE
    profit = None
    if business.has_cost_model(scenario):
        exposure, term = business.exposure_and_term(holdout, scenario)
        profit = business.profit_per_1000(y, approved, exposure, term, scenario.costs)
    metrics = classification_metrics(y, probability)
    dp_ratio = eo_difference = None
    if scenario.data.sensitive:
        groups = sensitive_groups(holdout, scenario)
        dp_ratio, eo_difference = worst_group_fairness(
            approved, y, group_masks(groups, scenario.fairness.min_group_size)
        )
    return ModelEvidence(profit, metrics["auc"], dp_ratio, eo_difference, metrics["brier"])


def judge(
    challenger: ScoresApplications,
    champion: ScoresApplications | None,
    holdout: pd.DataFrame,
    scenario: Scenario,
    config: RetrainingConfig,
) -> tuple[GateDecision, ModelEvidence, ModelEvidence | None]:
    """Both models on the same holdout, through the promotion gate."""
    challenger_evidence = holdout_evidence(challenger, holdout, scenario)
    champion_evidence = None if champion is None else holdout_evidence(champion, holdout, scenario)
    decision = promotion_gate(
        challenger_evidence,
        champion_evidence,
        config.gates,
        dp_ratio_min=scenario.fairness.demographic_parity_ratio_min,
        eo_difference_max=scenario.fairness.equalized_odds_difference_max,
    )
    return decision, challenger_evidence, champion_evidence
