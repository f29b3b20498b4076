"""Choosing the model that makes the lender the most money: the logic the training nodes wire.

Selection protocol (all on rows the step did not fit on):

1. every candidate is tuned by stratified k-fold cross-validation on the training split
   (:mod:`riskloop.pipelines.training.tuning`) and refitted on the whole training split;
2. its decision threshold for the comparison is the profit-maximising one on its out-of-fold
   training scores among those whose decisions meet the fairness bounds, and its *validation
   profit* is the profit of those decisions on the validation split (with a bootstrap
   interval), beside AUC, KS, Gini and Brier;
3. the candidate with the highest validation profit is selected (by validation AUC when the
   scenario sets no cost model: profit would then be meaningless);
4. the selected model is calibrated on the validation split (method chosen by cross-fitting,
   :func:`riskloop.evaluation.calibration.choose_calibration`) and its final threshold is the
   profit-maximising one on the cross-fitted calibrated validation probabilities, subject to
   ``decision.min_approval_rate`` and the fairness bounds (one threshold for everyone). The
   test split is never used here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import infer_input_schema, target_vector
from riskloop.evaluation import business, policies
from riskloop.evaluation.calibration import Calibrator
from riskloop.evaluation.gates import group_masks, worst_group_fairness
from riskloop.evaluation.metrics import classification_metrics
from riskloop.pipelines.training.candidates import candidate_available, needs_costs
from riskloop.pipelines.training.tuning import TuningResult

log = logging.getLogger(__name__)

SELECT = "select"


@dataclass(frozen=True)
class CalibratedCandidate:
    """The selected candidate's calibration, learnt on the validation split.

    ``raw_probability`` is the uncalibrated validation probability, ``crossfit_probability``
    the calibrated one cross-fitted (each row calibrated by a map that did not see it: the
    scores the threshold is chosen on) and ``brier_by_method`` the cross-fitted Brier score of
    every method tried.
    """

    calibrator: Calibrator
    raw_probability: np.ndarray
    crossfit_probability: np.ndarray
    brier_by_method: dict[str, float]


@dataclass(frozen=True)
class ThresholdChoice:
    """The served decision threshold and what choosing it cost.

    ``unconstrained`` is the profit-maximising threshold without the fairness bounds;
    ``best_profit`` / ``fair_profit`` are the validation profits (total, not per 1,000) at the
    unconstrained and the chosen threshold (NaN without a cost model); ``source`` says how the
    threshold was chosen, in words for the model card.
    """

    threshold: float
    unconstrained: float
    best_profit: float
    fair_profit: float
    source: str


def candidate_names(model: dict[str, Any], has_costs: bool = True) -> list[str]:
    """The candidates to fit: ``model.candidates`` that can be built here when ``model.type`` is
    ``select``, else the one candidate it names. Without a cost model (``has_costs`` False) the
    candidates whose loss is weighted by it are left out."""
    if model["type"] != SELECT:
        return [model["type"]]
    names = [n for n in model.get("candidates", []) if candidate_available(n)]
    skipped = sorted(set(model.get("candidates", [])) - set(names))
    if skipped:
        log.warning("candidates not available here, skipped: %s", ", ".join(skipped))
    if not has_costs:
        names = [n for n in names if not needs_costs(n)]
    if not names:
        raise ValueError("model.candidates names no candidate that can be built here")
    return names


def decision_costs_or_none(
    frame: pd.DataFrame, y: np.ndarray, scenario: Scenario
) -> np.ndarray | None:
    """Each row's cost of a wrong decision under the scenario's cost model (the weights of a
    cost-sensitive loss); None when the scenario sets no costs."""
    return (
        business.decision_costs(frame, y, scenario) if business.has_cost_model(scenario) else None
    )


def tuning_budget(
    name: str,
    model: dict[str, Any],
    tuning: dict[str, Any],
    search_spaces: dict[str, dict[str, Any]],
) -> tuple[int, dict[str, dict[str, Any]]]:
    """The number of trials and the search space of candidate ``name``: one trial (its fixed
    parameters) unless the run compares candidates; a search space may set its own ``trials``."""
    spec = search_spaces.get(name) or {}
    trials = int(tuning.get("trials", 1)) if model["type"] == SELECT else 1
    trials = int(spec.get("trials", trials)) if trials > 1 else 1
    return trials, {k: v for k, v in spec.items() if k != "trials"}


def selection_objective(scenario: Scenario) -> str:
    """The comparison column candidates are ranked by: validation profit, or validation AUC when
    the scenario sets no cost model (profit would then be meaningless)."""
    return "validation_profit" if business.has_cost_model(scenario) else "validation_auc"


def fairness_constraint(
    frame: pd.DataFrame, scenario: Scenario
) -> Callable[[np.ndarray], bool] | None:
    """A check that approvals (bool per row of ``frame``) meet the scenario's fairness bounds
    (on groups of at least ``fairness.min_group_size`` rows), or None when it names no
    sensitive attribute."""
    if not scenario.data.sensitive:
        return None
    from riskloop.evaluation.fairness import sensitive_groups

    bounds = scenario.fairness
    masks = group_masks(sensitive_groups(frame, scenario), bounds.min_group_size)
    y = target_vector(frame, scenario)

    def acceptable(approved: np.ndarray) -> bool:
        ratio, odds = worst_group_fairness(approved, y, masks)
        return (ratio is None or ratio >= bounds.demographic_parity_ratio_min) and (
            odds is None or odds <= bounds.equalized_odds_difference_max
        )

    return acceptable


def most_profitable_fair_threshold(
    probability: np.ndarray, frame: pd.DataFrame, scenario: Scenario
) -> tuple[float, float]:
    """The threshold on ``probability`` (one per row of ``frame``) with the highest profit
    whose decisions keep ``decision.min_approval_rate`` and the fairness bounds, and that
    profit."""
    fair = fairness_constraint(frame, scenario)
    exposure, term = business.exposure_and_term(frame, scenario)
    return business.best_threshold(
        probability, target_vector(frame, scenario), exposure, term, scenario.costs,
        scenario.decision.min_approval_rate,
        None if fair is None else lambda t: fair(probability < t),
    )  # fmt: skip


def comparison_threshold(result: TuningResult, train: pd.DataFrame, scenario: Scenario) -> float:
    """Candidate's threshold for the comparison (step 2): the most profitable fair one on its
    out-of-fold training scores, or the configured one without a cost model."""
    if not business.has_cost_model(scenario):
        return scenario.decision.threshold
    return most_profitable_fair_threshold(result.oof_probability, train, scenario)[0]


def validation_row(
    name: str,
    kind: str,
    approved: np.ndarray,
    probability: np.ndarray | None,
    validation: pd.DataFrame,
    scenario: Scenario,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    """One row of the comparison table: the profit of a policy's ``approved`` decisions on the
    validation split with its bootstrap interval, approval and bad rates, and (given the
    policy's ``probability``) AUC, KS, Gini and Brier."""
    costs = scenario.costs
    y_val = target_vector(validation, scenario)
    exposure, term = business.exposure_and_term(validation, scenario)
    profits = business.row_profit(y_val, approved, exposure, term, costs)
    ci = business.bootstrap_ci(profits, n_bootstrap=n_bootstrap, seed=seed)
    summary = business.policy_summary(y_val, approved, exposure, term, costs)
    row: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "validation_profit": summary["profit_per_1000"],
        "validation_profit_low": ci["low"],
        "validation_profit_high": ci["high"],
        "validation_approval_rate": summary["approval_rate"],
        "validation_bad_rate_approved": summary["bad_rate_approved"],
    }
    if probability is not None:
        metrics = classification_metrics(y_val, probability)
        row.update({f"validation_{k}": metrics[k] for k in ("auc", "ks", "gini", "brier")})
    return row


def tuning_summary(result: TuningResult, threshold: float, fit_seconds: float) -> dict[str, Any]:
    """The comparison table's cross-validation and cost columns for one tuned candidate."""
    aucs = result.fold_aucs
    return {
        "cv_auc_mean": float(np.mean(aucs)),
        "cv_auc_sd": float(np.std(aucs, ddof=1)) if len(aucs) > 1 else 0.0,
        "comparison_threshold": float(threshold),
        "n_trials": result.n_trials,
        "tuning_seconds": result.seconds,
        "fit_seconds": fit_seconds,
        "params": result.params,
    }


def fit_baselines(train: pd.DataFrame, scenario: Scenario) -> list[dict[str, Any]]:
    """The non-ML policies: approve everyone, the configured rule, a points scorecard."""
    schema = infer_input_schema(train, scenario)
    y = target_vector(train, scenario)
    found = [policies.approve_all_policy()]
    rule = policies.rule_policy(scenario, list(train.columns))
    if rule is not None:
        found.append(rule)
    scorecard = policies.fit_scorecard(
        train[schema.names],
        y,
        schema.numeric,
        schema.categorical,
        scenario.baselines.scorecard_bins,
    )
    probability = policies.policy_probability(scorecard, train)
    if business.has_cost_model(scenario) and probability is not None:
        # held to the same rules as the models: profit-maximising, approval floor, fairness
        scorecard["threshold"], _ = most_profitable_fair_threshold(probability, train, scenario)
    else:
        scorecard["threshold"] = scenario.decision.threshold
    found.append(scorecard)
    return found


def choose_threshold(
    calibrated: CalibratedCandidate, validation: pd.DataFrame, scenario: Scenario
) -> ThresholdChoice:
    """The served threshold (step 4): the most profitable one on the cross-fitted calibrated
    validation scores that keeps the approval floor and the fairness bounds, the latter both on
    those scores and on the final calibrated ones the promotion gate will measure. Without a
    cost model, the configured threshold."""
    if not business.has_cost_model(scenario):
        configured = scenario.decision.threshold
        return ThresholdChoice(
            configured, configured, float("nan"), float("nan"),
            "configured (the scenario sets no cost model)",
        )  # fmt: skip
    crossfit = calibrated.crossfit_probability
    y_val = target_vector(validation, scenario)
    exposure, term = business.exposure_and_term(validation, scenario)
    floor = scenario.decision.min_approval_rate
    unconstrained, best_profit = business.best_threshold(
        crossfit, y_val, exposure, term, scenario.costs, floor
    )
    fair = fairness_constraint(validation, scenario)
    final = calibrated.calibrator.transform(calibrated.raw_probability)
    threshold, fair_profit = business.best_threshold(
        crossfit, y_val, exposure, term, scenario.costs, floor,
        None if fair is None else lambda t: fair(crossfit < t) and fair(final < t),
    )  # fmt: skip
    source = "profit-maximising on cross-fitted calibrated validation scores" + (
        "" if fair is None else ", within the fairness bounds"
    )
    return ThresholdChoice(
        float(threshold), float(unconstrained), float(best_profit), float(fair_profit), source
    )


def threshold_profit_curve(
    calibrated: CalibratedCandidate,
    choice: ThresholdChoice,
    validation: pd.DataFrame,
    scenario: Scenario,
) -> dict[str, Any]:
    """Profit, approval and bad rate against the threshold on the cross-fitted calibrated
    validation scores, with the chosen and the unconstrained threshold and what the fairness
    bounds cost per 1,000 applications."""
    y_val = target_vector(validation, scenario)
    exposure, term = business.exposure_and_term(validation, scenario)
    curve: dict[str, Any] = business.profit_curve(
        calibrated.crossfit_probability, y_val, exposure, term, scenario.costs
    )
    curve["chosen_threshold"] = choice.threshold
    curve["unconstrained_threshold"] = choice.unconstrained
    curve["fairness_cost_per_1000"] = (
        float(1000 * (choice.best_profit - choice.fair_profit) / len(y_val))
        if business.has_cost_model(scenario)
        else None
    )
    return curve


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN → None)."""
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]
