"""Champion against challenger: both models' evidence on the same applications, through the
retraining judge (:func:`riskloop.evaluation.judge.judge_promotion`: refusals, floors, paired
bootstrap intervals, the fairness verdict, and the trusted evaluation rows).

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
from riskloop.evaluation.gates import ModelEvidence
from riskloop.evaluation.judge import (
    FairnessBounds,
    JudgedRows,
    Judgement,
    ScoredRows,
    judge_promotion,
    model_evidence,
)
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
    champion_version: str | None = None,
) -> tuple[pd.DataFrame, LoggedScores, LoggedScores] | None:
    """The labelled applications the challenger ``challenger_version`` shadow-scored and the
    champion ``champion_version`` decided (any version when None), as data-file rows, with the
    shadow scores and the champion's logged scores; None when fewer than ``min_labelled`` (then
    the comparison falls back to the offline holdout)."""
    labelled = ShadowStore(store.engine).labelled(
        scenario.model_name, challenger_version, champion_version
    )
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
    champion_version: str | None = None,
    trusted: pd.DataFrame | None = None,
) -> tuple[Judgement, ModelEvidence, ModelEvidence | None, str, int]:
    """Champion against challenger through the promotion gate: on the challenger's shadow
    scores of labelled live applications when there are at least ``config.shadow.min_labelled``
    that the champion ``champion_version`` decided, else both models on the offline
    ``holdout``. Returns the verdict, both
    evidences, which comparison was used ("shadow" / "offline_holdout") and its row count.
    ``trusted``: data-file rows whose labels were verified once (the training data's untouched
    test split); both models score them too and the challenger may not be confidently worse
    there."""
    on_trusted = None
    if trusted is not None and champion is not None:
        on_trusted = (challenger, champion, trusted)
    shadow = None
    if champion is not None:
        shadow = shadow_comparison(
            store,
            reference,
            scenario,
            challenger_version,
            config.shadow.min_labelled,
            champion_version,
        )
    if shadow is not None:
        frame, shadow_scores, logged_scores = shadow
        decision, challenger_evidence, champion_evidence = judge(
            shadow_scores, logged_scores, frame, scenario, config, on_trusted
        )
        return decision, challenger_evidence, champion_evidence, "shadow", len(frame)
    decision, challenger_evidence, champion_evidence = judge(
        challenger, champion, holdout, scenario, config, on_trusted
    )
    return decision, challenger_evidence, champion_evidence, "offline_holdout", len(holdout)


def judged_rows(frame: pd.DataFrame, scenario: Scenario) -> JudgedRows:
    """The labelled rows of ``frame`` as the judge reads them: outcomes, the money each
    approval makes (the scenario's costs; None without a cost model) and the sensitive groups."""
    y = target_vector(frame, scenario)
    gain, review_cost = None, 0.0
    if business.has_cost_model(scenario):
        exposure, term = business.exposure_and_term(frame, scenario)
        gain = business.approval_gain(y, exposure, term, scenario.costs)
        review_cost = scenario.costs.review_cost
    groups = sensitive_groups(frame, scenario) if scenario.data.sensitive else None
    return JudgedRows(y, gain, review_cost, groups, scenario.fairness.min_group_size)


def scored_rows(model: ScoresApplications, frame: pd.DataFrame) -> ScoredRows:
    """``model``'s probabilities and approvals on ``frame``."""
    probability = np.asarray(model.predict_proba(frame), dtype=np.float64)
    return ScoredRows(probability, np.asarray(model.decide(probability)) == APPROVE)


def holdout_evidence(
    model: ScoresApplications, holdout: pd.DataFrame, scenario: Scenario
) -> ModelEvidence:
    """Profit per 1,000 (scenario costs; None without a cost model), AUC, Brier and the worst
    fairness figures of ``model``'s own decisions on the holdout rows."""
    return model_evidence(scored_rows(model, holdout), judged_rows(holdout, scenario))


def judge(
    challenger: ScoresApplications,
    champion: ScoresApplications | None,
    holdout: pd.DataFrame,
    scenario: Scenario,
    config: RetrainingConfig,
    trusted: tuple[ScoresApplications, ScoresApplications, pd.DataFrame] | None = None,
) -> tuple[Judgement, ModelEvidence, ModelEvidence | None]:
    """Both models on the same holdout (and on the trusted rows), through the retraining
    judge (:func:`riskloop.evaluation.judge.judge_promotion`)."""
    rows = judged_rows(holdout, scenario)
    challenger_scores = scored_rows(challenger, holdout)
    champion_scores = None if champion is None else scored_rows(champion, holdout)
    on_trusted = None
    if trusted is not None and len(trusted[2]):
        trusted_challenger, trusted_champion, trusted_frame = trusted
        on_trusted = (
            scored_rows(trusted_challenger, trusted_frame),
            scored_rows(trusted_champion, trusted_frame),
            judged_rows(trusted_frame, scenario),
        )
    bounds = FairnessBounds(
        scenario.fairness.demographic_parity_ratio_min,
        scenario.fairness.equalized_odds_difference_max,
        config.judge.dp_ratio_tolerance,
        config.judge.eo_difference_tolerance,
    )
    judgement = judge_promotion(
        challenger_scores, champion_scores, rows, config.gates, config.judge, bounds, on_trusted
    )
    challenger_evidence = judgement.challenger or model_evidence(challenger_scores, rows)
    champion_evidence = judgement.champion
    if champion_evidence is None and champion_scores is not None:
        champion_evidence = model_evidence(champion_scores, rows)
    return judgement, challenger_evidence, champion_evidence
