"""Training nodes: tune and fit the candidates, compare them with the non-ML baselines on
validation, calibrate the most profitable one, set its threshold by profit, and package it as a
scorer. Each node wires one step; the protocol and its logic are in
:mod:`riskloop.pipelines.training.selection` and :mod:`riskloop.pipelines.training.tuning`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import (
    InputSchema,
    analysed_attributes_schema,
    infer_input_schema,
    target_vector,
)
from riskloop.evaluation import policies
from riskloop.evaluation.calibration import choose_calibration, reliability_bins
from riskloop.evaluation.drift import numeric_profile, reference_profile
from riskloop.evaluation.explain import ExplanationSetup
from riskloop.evaluation.metrics import classification_metrics
from riskloop.pipelines.training import selection
from riskloop.pipelines.training.selection import CalibratedCandidate, ThresholdChoice
from riskloop.pipelines.training.tuning import (
    FittedCandidate,
    TuningResult,
    fit_candidate,
    tune_candidate,
)
from riskloop.scorer import Scorer


def tune_candidates(
    train: pd.DataFrame,
    scenario: Scenario,
    model: dict[str, Any],
    tuning: dict[str, Any],
    candidates: dict[str, dict[str, Any]],
    search_spaces: dict[str, dict[str, Any]],
) -> dict[str, TuningResult]:
    """Cross-validated tuning of every candidate on the training split, by name.

    ``model.type`` is ``select`` (tune every name in ``model.candidates`` within its budget) or
    one candidate's name (only its configured parameters ``candidates[name]``, no search).
    """
    schema = infer_input_schema(train, scenario)
    x_train, y_train = train[schema.names], target_vector(train, scenario)
    costs = selection.decision_costs_or_none(train, y_train, scenario)
    folds, seed = int(tuning.get("folds", 3)), int(tuning.get("seed", 42))
    tuned = {}
    for name in selection.candidate_names(model, has_costs=costs is not None):
        trials, space = selection.tuning_budget(name, model, tuning, search_spaces)
        tuned[name] = tune_candidate(
            name, dict(candidates.get(name) or {}), space, x_train, y_train, schema,
            folds=folds, trials=trials, seed=seed, costs=costs,
        )  # fmt: skip
    return tuned


def fit_candidates(
    tuned: dict[str, TuningResult], train: pd.DataFrame, scenario: Scenario
) -> dict[str, FittedCandidate]:
    """Every tuned candidate refitted with its best parameters on the whole training split."""
    schema = infer_input_schema(train, scenario)
    y_train = target_vector(train, scenario)
    costs = selection.decision_costs_or_none(train, y_train, scenario)
    return {
        name: fit_candidate(name, result.params, train, y_train, schema, costs)
        for name, result in tuned.items()
    }


def compare_candidates(
    tuned: dict[str, TuningResult],
    fitted: dict[str, FittedCandidate],
    train: pd.DataFrame,
    validation: pd.DataFrame,
    scenario: Scenario,
    tuning: dict[str, Any],
) -> list[dict[str, Any]]:
    """One comparison row per candidate: its validation profit at its comparison threshold
    (with a bootstrap interval), validation metrics, cross-validation AUC and costs."""
    n_bootstrap, seed = int(tuning.get("n_bootstrap", 500)), int(tuning.get("seed", 42))
    rows = []
    for name, result in tuned.items():
        probability = fitted[name].probability(validation)
        threshold = selection.comparison_threshold(result, train, scenario)
        row = selection.validation_row(
            name, "model", probability < threshold, probability, validation, scenario,
            n_bootstrap, seed,
        )  # fmt: skip
        row.update(selection.tuning_summary(result, threshold, fitted[name].fit_seconds))
        rows.append(row)
    return rows


def select_candidate(candidate_rows: list[dict[str, Any]], scenario: Scenario) -> str:
    """The name of the best candidate by the selection objective (ties: higher AUC)."""
    objective = selection.selection_objective(scenario)
    return str(max(candidate_rows, key=lambda r: (r[objective], r["validation_auc"]))["name"])


def calibrate_candidate(
    selected: str,
    fitted: dict[str, FittedCandidate],
    validation: pd.DataFrame,
    scenario: Scenario,
    tuning: dict[str, Any],
) -> CalibratedCandidate:
    """Calibrate the selected candidate on the validation split: the method with the lowest
    cross-fitted Brier score, refitted on all validation rows."""
    raw = fitted[selected].probability(validation)
    calibrator, crossfit, brier_by_method = choose_calibration(
        raw,
        target_vector(validation, scenario),
        folds=int(tuning.get("calibration_folds", 5)),
        seed=int(tuning.get("seed", 42)),
    )
    return CalibratedCandidate(calibrator, raw, crossfit, brier_by_method)


def choose_threshold(
    calibrated: CalibratedCandidate, validation: pd.DataFrame, scenario: Scenario
) -> ThresholdChoice:
    """The served threshold: the most profitable fair one on validation (see
    :func:`riskloop.pipelines.training.selection.choose_threshold`)."""
    return selection.choose_threshold(calibrated, validation, scenario)


def fit_baselines(train: pd.DataFrame, scenario: Scenario) -> dict[str, Any]:
    """The non-ML policies fitted on the training split: approve all, the rule, a scorecard."""
    return {"policies": selection.fit_baselines(train, scenario)}


def compare_with_baselines(
    candidate_rows: list[dict[str, Any]],
    baseline_policies: dict[str, Any],
    selected: str,
    validation: pd.DataFrame,
    scenario: Scenario,
    tuning: dict[str, Any],
) -> list[dict[str, Any]]:
    """The comparison rows: the candidates', then one per baseline policy on the validation
    split, with the selected candidate marked."""
    n_bootstrap, seed = int(tuning.get("n_bootstrap", 500)), int(tuning.get("seed", 42))
    rows = [dict(row) for row in candidate_rows]
    for policy in baseline_policies["policies"]:
        rows.append(
            selection.validation_row(
                policy["name"],
                "baseline",
                policies.policy_decisions(policy, validation),
                policies.policy_probability(policy, validation),
                validation,
                scenario,
                n_bootstrap,
                seed,
            )  # fmt: skip
        )
    for row in rows:
        row["selected"] = row["name"] == selected
    return rows


def comparison_table(comparison_rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The comparison rows as a table (a column per figure; blank where a row has none)."""
    return pd.DataFrame(comparison_rows)


def profit_curve(
    calibrated: CalibratedCandidate,
    threshold: ThresholdChoice,
    validation: pd.DataFrame,
    scenario: Scenario,
) -> dict[str, Any]:
    """Profit against the threshold on validation, with the chosen and unconstrained ones."""
    return selection.threshold_profit_curve(calibrated, threshold, validation, scenario)


def assemble_scorer(
    selected: str,
    tuned: dict[str, TuningResult],
    fitted: dict[str, FittedCandidate],
    calibrated: CalibratedCandidate,
    threshold: ThresholdChoice,
    comparison_rows: list[dict[str, Any]],
    curve: dict[str, Any],
    train: pd.DataFrame,
    validation: pd.DataFrame,
    scenario: Scenario,
    lineage: dict[str, Any],
) -> Scorer:
    """The deployable scorer of the selected candidate: its fitted features and estimator, the
    calibration and threshold, the training reference profile, lineage, and the selection's
    reports (``comparison``, ``calibration``, ``profit_curve``)."""
    schema = infer_input_schema(train, scenario)
    pipeline = fitted[selected].pipeline
    calibrator = calibrated.calibrator
    y_val = target_vector(validation, scenario)
    scorer = Scorer(
        input_schema=schema,
        preprocessor=pipeline.named_steps["features"],
        estimator=pipeline.named_steps["model"],
        threshold=threshold.threshold,
        positive_class=str(scenario.data.positive_class),
        reference=reference_profile(train, schema),
        metadata={
            "model_name": scenario.model_name,
            "scenario": scenario.name,
            "model_type": selected,
            "params": tuned[selected].params,
            "selected_by": selection.selection_objective(scenario),
            "calibration": calibrator.method,
            "threshold_source": threshold.source,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_sha256": lineage.get("sha256"),
            "n_train": len(train),
        },
        calibrator=None if calibrator.method == "none" else calibrator,
        explanation=explanation_setup(pipeline.named_steps["features"], train, schema, scenario),
        analysed_schema=analysed_attributes_schema(train, scenario),
        reports={
            "comparison": selection.records(comparison_table(comparison_rows)),
            "calibration": {
                "method": calibrator.method,
                "chosen_by": "lowest cross-fitted Brier score on the validation split",
                "brier_by_method": calibrated.brier_by_method,
                "bins": reliability_bins(y_val, calibrated.crossfit_probability),
                "bins_uncalibrated": reliability_bins(y_val, calibrated.raw_probability),
            },
            "profit_curve": curve,
        },
    )
    scorer.reference.update(held_out_reference(scorer, validation, scenario))
    return scorer


def held_out_reference(
    scorer: Scorer, validation: pd.DataFrame, scenario: Scenario
) -> dict[str, Any]:
    """What the monitor compares a served model with, measured on rows its estimator was not
    fitted on (the validation split): ``score``, the profile of its scores (the baseline of
    prediction drift and of the label-free AUC it expects of itself), and ``performance``, its
    realised AUC there (the baseline of ``realised_auc_drop``).

    Training rows would flatter it: an estimator ranks the rows it was fitted on better than
    any new applicant, so a drop alert measured against them fires on a model that is merely
    at its real level (docs/monitoring.md).
    """
    probability = scorer.predict_proba(validation)
    y = target_vector(validation, scenario)
    return {
        "score": numeric_profile(probability),
        "performance": {
            "auc": float(classification_metrics(y, probability)["auc"]),
            "n": len(validation),
            "rows": "validation split",
        },
    }


def explanation_setup(
    preprocessor: Any, train: pd.DataFrame, schema: InputSchema, scenario: Scenario
) -> ExplanationSetup:
    """What the scorer needs to explain itself later: the training model matrix's mean row and
    a small seeded sample of it, with the scenario's ``top_k``, reason texts and the features
    never given as a reason (sensitive attributes and their proxies)."""
    return ExplanationSetup.from_training_matrix(
        preprocessor.transform(train[schema.names]),
        top_k=scenario.explanations.top_k,
        reason_texts=scenario.explanations.reason_texts,
        never_reasons=scenario.never_reasons(),
    )
