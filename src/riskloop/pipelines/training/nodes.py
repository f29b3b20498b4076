"""Fit the candidates, choose the one that makes the lender the most money, calibrate it, set its
threshold by profit, and package it as a scorer.

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
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import infer_input_schema, target_vector
from riskloop.evaluation import business, policies
from riskloop.evaluation.calibration import choose_calibration, reliability_bins
from riskloop.evaluation.drift import numeric_profile, reference_profile
from riskloop.evaluation.explain import ExplanationSetup
from riskloop.evaluation.gates import group_masks, worst_group_fairness
from riskloop.evaluation.metrics import classification_metrics
from riskloop.pipelines.training.candidates import candidate_available
from riskloop.pipelines.training.tuning import make_pipeline, tune_candidate
from riskloop.scorer import Scorer

log = logging.getLogger(__name__)
SELECT = "select"


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


def _candidate_names(model: dict[str, Any]) -> list[str]:
    if model["type"] != SELECT:
        return [model["type"]]
    names = [n for n in model.get("candidates", []) if candidate_available(n)]
    skipped = sorted(set(model.get("candidates", [])) - set(names))
    if skipped:
        log.warning("candidates not available here, skipped: %s", ", ".join(skipped))
    if not names:
        raise ValueError("model.candidates names no candidate that can be built here")
    return names


def _validation_row(
    name: str,
    kind: str,
    y_val: np.ndarray,
    approved: np.ndarray,
    probability: np.ndarray | None,
    exposure: np.ndarray,
    term: np.ndarray,
    scenario: Scenario,
    n_bootstrap: int,
    seed: int,
) -> dict[str, Any]:
    costs = scenario.costs
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


def fit_baselines(
    train: pd.DataFrame, scenario: Scenario, decision_floor: float | None
) -> list[dict[str, Any]]:
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
    if business.has_cost_model(scenario):
        # held to the same rules as the models: profit-maximising, approval floor, fairness
        exposure, term = business.exposure_and_term(train, scenario)
        probability = policies.policy_probability(scorecard, train)
        fair = fairness_constraint(train, scenario)
        scorecard["threshold"], _ = business.best_threshold(
            probability, y, exposure, term, scenario.costs, decision_floor,
            None if fair is None else lambda t: fair(probability < t),
        )  # fmt: skip
    else:
        scorecard["threshold"] = scenario.decision.threshold
    found.append(scorecard)
    return found


def select_and_calibrate(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    scenario: Scenario,
    model: dict[str, Any],
    tuning: dict[str, Any],
    candidates: dict[str, dict[str, Any]],
    search_spaces: dict[str, dict[str, Any]],
    lineage: dict[str, Any],
) -> tuple[Scorer, pd.DataFrame, dict[str, Any]]:
    """Tune and compare the candidates, calibrate the winner, set its threshold by profit.

    ``model.type`` is ``select`` (compare ``model.candidates``) or one candidate's name (fit
    only it, with its configured parameters). Returns the scorer (reports ``comparison``,
    ``calibration`` and ``profit_curve`` attached), the comparison table (candidates and
    baselines) and the baseline policies.
    """
    by_profit = business.has_cost_model(scenario)
    floor = scenario.decision.min_approval_rate
    schema = infer_input_schema(train, scenario)
    x_train, y_train = train[schema.names], target_vector(train, scenario)
    y_val = target_vector(validation, scenario)
    e_train, t_train = business.exposure_and_term(train, scenario)
    e_val, t_val = business.exposure_and_term(validation, scenario)
    folds, seed = int(tuning.get("folds", 3)), int(tuning.get("seed", 42))
    fair_on_train = fairness_constraint(train, scenario)
    fair_on_validation = fairness_constraint(validation, scenario)
    n_boot = int(tuning.get("n_bootstrap", 500))

    rows, fitted, raw_val = [], {}, {}
    for name in _candidate_names(model):
        trials = int(tuning.get("trials", 1)) if model["type"] == SELECT else 1
        trials = int((search_spaces.get(name) or {}).get("trials", trials)) if trials > 1 else 1
        space = {k: v for k, v in (search_spaces.get(name) or {}).items() if k != "trials"}
        result = tune_candidate(
            name, dict(candidates.get(name) or {}), space, x_train, y_train, schema,
            folds=folds, trials=trials, seed=seed,
        )  # fmt: skip
        started = time.perf_counter()
        pipeline = make_pipeline(name, result.params, schema).fit(x_train, y_train)
        fit_seconds = time.perf_counter() - started
        p_val = pipeline.predict_proba(validation[schema.names])[:, 1]
        if by_profit:
            threshold, _ = business.best_threshold(
                result.oof_probability, y_train, e_train, t_train, scenario.costs, floor,
                None if fair_on_train is None
                else lambda t, p=result.oof_probability: fair_on_train(p < t),
            )  # fmt: skip
        else:
            threshold = scenario.decision.threshold
        row = _validation_row(
            name, "model", y_val, p_val < threshold, p_val, e_val, t_val, scenario, n_boot, seed
        )
        row.update(
            {
                "cv_auc_mean": float(np.mean(result.fold_aucs)),
                "cv_auc_sd": float(np.std(result.fold_aucs, ddof=1))
                if len(result.fold_aucs) > 1
                else 0.0,
                "comparison_threshold": float(threshold),
                "n_trials": result.n_trials,
                "tuning_seconds": result.seconds,
                "fit_seconds": fit_seconds,
                "params": result.params,
            }
        )
        rows.append(row)
        fitted[name], raw_val[name] = pipeline, p_val

    objective = "validation_profit" if by_profit else "validation_auc"
    best = max(rows, key=lambda r: (r[objective], r["validation_auc"]))
    name = best["name"]
    calibrator, crossfit_val, brier_by_method = choose_calibration(
        raw_val[name], y_val, folds=int(tuning.get("calibration_folds", 5)), seed=seed
    )
    if by_profit:
        unconstrained, best_profit = business.best_threshold(
            crossfit_val, y_val, e_val, t_val, scenario.costs, floor
        )
        # fair both on the cross-fitted scores the profit is judged on and on the final
        # calibrated scores the promotion gate will measure
        final_val = calibrator.transform(raw_val[name])
        threshold, fair_profit = business.best_threshold(
            crossfit_val, y_val, e_val, t_val, scenario.costs, floor,
            None if fair_on_validation is None
            else lambda t: fair_on_validation(crossfit_val < t)
            and fair_on_validation(final_val < t),
        )  # fmt: skip
        threshold_source = "profit-maximising on cross-fitted calibrated validation scores" + (
            "" if fair_on_validation is None else ", within the fairness bounds"
        )
    else:
        threshold = unconstrained = scenario.decision.threshold
        best_profit = fair_profit = float("nan")
        threshold_source = "configured (the scenario sets no cost model)"

    baselines = fit_baselines(train, scenario, floor)
    for policy in baselines:
        approved = policies.policy_decisions(policy, validation)
        rows.append(
            _validation_row(
                policy["name"],
                "baseline",
                y_val,
                approved,
                policies.policy_probability(policy, validation),
                e_val,
                t_val,
                scenario,
                n_boot,
                seed,
            )  # fmt: skip
        )
    for row in rows:
        row["selected"] = row["name"] == name
    comparison = pd.DataFrame(rows)

    curve = business.profit_curve(crossfit_val, y_val, e_val, t_val, scenario.costs)
    curve["chosen_threshold"] = float(threshold)
    # what the fairness bounds cost: the unconstrained optimum beside the chosen threshold
    curve["unconstrained_threshold"] = float(unconstrained)
    curve["fairness_cost_per_1000"] = (
        float(1000 * (best_profit - fair_profit) / len(y_val)) if by_profit else None
    )
    pipeline = fitted[name]
    scorer = Scorer(
        input_schema=schema,
        preprocessor=pipeline.named_steps["features"],
        estimator=pipeline.named_steps["model"],
        threshold=float(threshold),
        positive_class=str(scenario.data.positive_class),
        reference=reference_profile(train, schema),
        metadata={
            "model_name": scenario.model_name,
            "scenario": scenario.name,
            "model_type": name,
            "params": best["params"],
            "selected_by": objective,
            "calibration": calibrator.method,
            "threshold_source": threshold_source,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_sha256": lineage.get("sha256"),
            "n_train": len(train),
        },
        calibrator=None if calibrator.method == "none" else calibrator,
        explanation=explanation_setup(pipeline.named_steps["features"], train, schema, scenario),
        reports={
            "comparison": _records(comparison),
            "calibration": {
                "method": calibrator.method,
                "chosen_by": "lowest cross-fitted Brier score on the validation split",
                "brier_by_method": brier_by_method,
                "bins": reliability_bins(y_val, crossfit_val),
                "bins_uncalibrated": reliability_bins(y_val, raw_val[name]),
            },
            "profit_curve": curve,
        },
    )
    with_score_profile(scorer, train)
    return scorer, comparison, {"policies": baselines}


def with_score_profile(scorer: Scorer, train: pd.DataFrame) -> Scorer:
    """Add the distribution of the scorer's own (calibrated) training probabilities to its
    reference profile, under ``"score"``: the monitor's baseline for prediction drift and the
    label-free AUC the model expects of itself."""
    scorer.reference["score"] = numeric_profile(scorer.predict_proba(train))
    return scorer


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN → None)."""
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def train_scorer(
    train: pd.DataFrame,
    scenario: Scenario,
    model: dict[str, Any],
    candidates: dict[str, dict[str, Any]],
    lineage: dict[str, Any],
) -> Scorer:
    """Fit one candidate with its configured parameters, no tuning or calibration (fast; the
    tests' fixture scorer). ``model.type`` names the candidate, its parameters are
    ``candidates[model.type]``; the threshold is the scenario's configured one."""
    params = dict(candidates.get(model["type"]) or {})
    schema = infer_input_schema(train, scenario)
    fitted = make_pipeline(model["type"], params, schema).fit(
        train[schema.names], target_vector(train, scenario)
    )
    scorer = Scorer(
        input_schema=schema,
        preprocessor=fitted.named_steps["features"],
        estimator=fitted.named_steps["model"],
        threshold=scenario.decision.threshold,
        positive_class=str(scenario.data.positive_class),
        reference=reference_profile(train, schema),
        metadata={
            "model_name": scenario.model_name,
            "scenario": scenario.name,
            "model_type": model["type"],
            "params": params,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_sha256": lineage.get("sha256"),
            "n_train": len(train),
        },
        explanation=explanation_setup(fitted.named_steps["features"], train, schema, scenario),
    )
    return with_score_profile(scorer, train)


def explanation_setup(
    preprocessor: Any, train: pd.DataFrame, schema: Any, scenario: Scenario
) -> ExplanationSetup:
    """What the scorer needs to explain itself later: the training model matrix's mean row and
    a small seeded sample of it, with the scenario's ``top_k`` and reason texts."""
    return ExplanationSetup.from_training_matrix(
        preprocessor.transform(train[schema.names]),
        top_k=scenario.explanations.top_k,
        reason_texts=scenario.explanations.reason_texts,
    )
