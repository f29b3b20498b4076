"""Measure the selected scorer: metrics, business impact against the baselines, fairness, test
predictions, the model card; then attach the small reports to the scorer."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import numpy as np
import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation import business, policies
from riskloop.evaluation.gates import validation_fairness
from riskloop.evaluation.metrics import classification_metrics
from riskloop.evaluation.model_card import render_model_card
from riskloop.pipelines.evaluation import rendering
from riskloop.pipelines.evaluation.rendering import CHAMPION_POLICY
from riskloop.scorer import APPROVE, Scorer


def evaluate_scorer(
    scorer: Scorer, validation: pd.DataFrame, test: pd.DataFrame, scenario: Scenario
) -> dict[str, dict[str, float]]:
    """AUC, Gini, KS, Brier on validation (used for selection) and test (reported only)."""
    return {
        split: classification_metrics(target_vector(frame, scenario), scorer.predict_proba(frame))
        for split, frame in (("validation", validation), ("test", test))
    }


def business_impact(
    scorer: Scorer,
    baseline_policies: dict[str, Any],
    test: pd.DataFrame,
    scenario: Scenario,
    evaluation: dict[str, Any],
) -> tuple[dict[str, Any], Any]:
    """Profit per 1,000, approval and bad rates of the model and every baseline on the test split,
    the paired-bootstrap interval of model − baseline, the answer, and a plot (matplotlib)."""
    costs = scenario.costs
    n_boot, seed = int(evaluation.get("n_bootstrap", 1000)), int(evaluation.get("seed", 0))
    y = target_vector(test, scenario)
    exposure, term = business.exposure_and_term(test, scenario)
    decisions = {CHAMPION_POLICY: np.asarray(scorer.decide(scorer.predict_proba(test))) == APPROVE}
    for policy in baseline_policies["policies"]:
        decisions[policy["name"]] = policies.policy_decisions(policy, test)
    summary: dict[str, Any] = {}
    for name, approved in decisions.items():
        entry: dict[str, Any] = business.policy_summary(y, approved, exposure, term, costs)
        profits = business.row_profit(y, approved, exposure, term, costs)
        entry["profit_ci"] = business.bootstrap_ci(profits, n_bootstrap=n_boot, seed=seed)
        summary[name] = entry
    differences = {
        name: business.paired_difference(
            y, decisions[CHAMPION_POLICY], approved, exposure, term, costs, n_boot, seed
        )
        for name, approved in decisions.items()
        if name != CHAMPION_POLICY
    }
    model_type = str(scorer.metadata.get("model_type"))
    answer, worth_it = rendering.worth_it_answer(model_type, differences)
    set_by_file = business.has_cost_model(scenario)
    report = {
        "split": "test",
        "model_type": model_type,
        "threshold": scorer.threshold,
        "costs": costs.model_dump(),
        "cost_model_note": (
            f"loss given default {costs.loss_given_default:g} × exposure on a default; margin"
            f" {costs.margin:g} × exposure × term on a repaid loan; review cost"
            f" {costs.review_cost:g} per application"
            + ("" if set_by_file else " (riskloop's defaults: the scenario sets no cost model)")
        ),
        "policies": summary,
        "model_minus_baseline": differences,
        "beats_every_baseline": all(d["estimate"] > 0 for d in differences.values()),
        "ml_worth_it": worth_it,
        "answer": answer,
    }
    return report, rendering.impact_figure(summary, model_type)


def predict_test_split(scorer: Scorer, test: pd.DataFrame, scenario: Scenario) -> pd.DataFrame:
    """One row per test application: outcome, probability, decision, sensitive attributes."""
    probability = scorer.predict_proba(test)
    frame = pd.DataFrame(
        {
            "y_true": target_vector(test, scenario),
            "probability": probability,
            "decision": scorer.decide(probability),
        }
    )
    for column in scenario.data.sensitive:
        if column in test.columns:
            frame[column] = test[column].to_numpy()
    return frame


def fairness_assessment(
    scorer: Scorer, validation: pd.DataFrame, test: pd.DataFrame, scenario: Scenario
) -> dict[str, Any]:
    """Fairness of the scorer's decisions per sensitive attribute, on validation (the gate reads
    it) and test (reported), with the gate's verdict; empty sections without attributes."""
    from riskloop.evaluation import fairness

    report: dict[str, Any] = {
        "convention": fairness.CONVENTION,
        "bounds": {
            "demographic_parity_ratio_min": scenario.fairness.demographic_parity_ratio_min,
            "equalized_odds_difference_max": scenario.fairness.equalized_odds_difference_max,
        },
    }
    for split, frame in (("validation", validation), ("test", test)):
        groups = fairness.sensitive_groups(frame, scenario)
        if groups.shape[1] == 0:
            report[split] = None
            continue
        probability = scorer.predict_proba(frame)
        approved = np.asarray(scorer.decide(probability)) == APPROVE
        section = fairness.fairness_report(
            target_vector(frame, scenario), approved, probability, groups
        )
        ok, failures = fairness.fairness_gate(section, scenario)
        report[split] = rendering.jsonable(
            {"attributes": section, "within_bounds": ok, "failures": failures}
        )
    report["mitigation"] = fairness_mitigation(scorer, test, scenario)
    return report


def sensitive_inputs_comparison(
    scorer: Scorer,
    train: pd.DataFrame,
    validation: pd.DataFrame,
    test: pd.DataFrame,
    scenario: Scenario,
    tuning: dict[str, Any],
) -> dict[str, Any]:
    """What leaving the sensitive attributes out of the inputs costs and gains, on the test split.

    The selected scorer is one variant; the other is the same model family with the same tuned
    parameters, trained by the same nodes (fit, calibration, profit threshold) with the
    scenario's ``allow_sensitive_attributes_as_model_inputs`` flipped — no re-tuning. Both are
    scored on the same test rows: AUC, profit per 1,000, approval rate and, per sensitive
    attribute (all groups, however small), the demographic-parity ratio and the equalised-odds
    difference. Empty when the scenario names no sensitive attribute present in the data.

    Returns
    -------
    dict
        ``{"champion": "with" | "without", "model_type", "variants": {"without": {...},
        "with": {...}}}``, each variant ``{"inputs", "auc", "profit_per_1000",
        "approval_rate", "fairness": {attribute: {"demographic_parity_ratio",
        "equalized_odds_difference"}}}``.
    """
    from riskloop.evaluation import fairness
    from riskloop.pipelines.runner import run_in_memory
    from riskloop.pipelines.training.pipeline import create_pipeline

    groups = fairness.sensitive_groups(test, scenario)
    if groups.shape[1] == 0:
        return {}
    allowed = scenario.fairness.allow_sensitive_attributes_as_model_inputs
    flipped = scenario.model_copy(
        update={
            "fairness": scenario.fairness.model_copy(
                update={"allow_sensitive_attributes_as_model_inputs": not allowed}
            )
        }
    )
    model_type = str(scorer.metadata["model_type"])
    inputs = {
        "train": train,
        "validation": validation,
        "scenario": flipped,
        "params:model": {"type": model_type},
        "params:tuning": tuning,
        "params:candidates": {model_type: dict(scorer.metadata.get("params") or {})},
        "params:search_spaces": {},
        "data_lineage": {"sha256": scorer.metadata.get("data_sha256")},
    }
    other = run_in_memory(create_pipeline(), inputs, ["selected_scorer"])["selected_scorer"]
    y = target_vector(test, scenario)
    exposure, term = business.exposure_and_term(test, scenario)

    def measured(variant: Scorer) -> dict[str, Any]:
        probability = variant.predict_proba(test)
        approved = np.asarray(variant.decide(probability)) == APPROVE
        summary = business.policy_summary(y, approved, exposure, term, scenario.costs)
        by_attribute = fairness.fairness_report(y, approved, probability, groups, n_bootstrap=0)
        return {
            "inputs": list(variant.input_schema.names),
            "auc": float(classification_metrics(y, probability)["auc"]),
            "profit_per_1000": summary["profit_per_1000"],
            "approval_rate": summary["approval_rate"],
            "fairness": {
                attribute: {
                    "demographic_parity_ratio": section["demographic_parity_ratio"],
                    "equalized_odds_difference": section["equalized_odds_difference"],
                }
                for attribute, section in by_attribute.items()
            },
        }

    with_sensitive, without_sensitive = (scorer, other) if allowed else (other, scorer)
    return rendering.jsonable(
        {
            "champion": "with" if allowed else "without",
            "model_type": model_type,
            "split": "test",
            "variants": {
                "without": measured(without_sensitive),
                "with": measured(with_sensitive),
            },
        }
    )


def model_card(
    scorer: Scorer,
    metrics: dict[str, Any],
    business_report: dict[str, Any],
    fairness_report: dict[str, Any],
    scenario: Scenario,
    sensitive_comparison: dict[str, Any] | None = None,
) -> str:
    """The model card (markdown), every number from this run; ``sensitive_comparison``
    (:func:`sensitive_inputs_comparison`) adds what leaving the sensitive attributes out of the
    inputs costs and gains."""
    meta, reports = scorer.metadata, scorer.reports
    comparison = reports.get("comparison", [])
    worst = validation_fairness(fairness_report, scenario.fairness.min_group_size)
    lines = []
    if worst["dp_ratio"] is not None:
        lines.append(
            "On validation (groups of at least"
            f" {scenario.fairness.min_group_size} rows), the worst demographic-parity ratio over"
            f" {', '.join(scenario.data.sensitive)}"
            f" is {worst['dp_ratio']:.3f}"
            f" (bound ≥ {scenario.fairness.demographic_parity_ratio_min:g})"
            f" and the worst equalised-odds difference is {worst['eo_difference']:.3f}"
            f" (bound ≤ {scenario.fairness.equalized_odds_difference_max:g})."
        )
    test_section = (fairness_report or {}).get("test") or {}
    if test_section:
        lines.append(
            "On the test split, counting every group however small (per-group rates and"
            " intervals in fairness.json), the bounds are"
            + (" met." if test_section.get("within_bounds") else " not all met:")
        )
        lines.extend(f"test split: {f}" for f in test_section.get("failures") or [])
    context = {
        "model_name": scenario.model_name,
        "scenario": scenario.name,
        "trained_at": meta.get("trained_at"),
        "positive_class": scorer.positive_class,
        "threshold": scorer.threshold,
        "threshold_source": meta.get("threshold_source", "configured"),
        "model_type": meta.get("model_type"),
        "selected_by": meta.get("selected_by", "configuration"),
        "params": json.dumps(meta.get("params", {})),
        "calibration": meta.get("calibration", "none"),
        "brier_by_method": reports.get("calibration", {}).get("brier_by_method", {}),
        "n_candidates": sum(r["kind"] == "model" for r in comparison),
        "n_baselines": sum(r["kind"] == "baseline" for r in comparison),
        "comparison": [rendering.comparison_row_for_card(r) for r in comparison],
        "data_sha256": meta.get("data_sha256"),
        "n_train": meta.get("n_train"),
        "inputs": ", ".join(scorer.input_schema.names),
        "metrics": metrics,
        "business": business_report,
        "fairness_lines": lines,
        "sensitive": ", ".join(scenario.data.sensitive),
        "use_sensitive": scenario.fairness.allow_sensitive_attributes_as_model_inputs,
        "never_reasons": ", ".join(scenario.never_reasons()),
        "sensitive_comparison": sensitive_comparison or {},
        "dp_min": scenario.fairness.demographic_parity_ratio_min,
        "eo_max": scenario.fairness.equalized_odds_difference_max,
    }
    return render_model_card(context)


def attach_reports(
    scorer: Scorer,
    business_report: dict[str, Any],
    fairness_report: dict[str, Any],
    card: str,
    explanations: dict[str, Any],
) -> Scorer:
    """The scorer with its reports for the API/UI: model card, business impact, fairness and
    global explanations."""
    reports = {
        **scorer.reports,
        "business": business_report,
        "fairness": fairness_report,
        "model_card": card,
        "explanations": explanations,
    }
    return dataclasses.replace(scorer, reports=reports)


def explanation_report(
    scorer: Scorer, test: pd.DataFrame, evaluation: dict[str, Any]
) -> tuple[dict[str, Any], Any]:
    """Global importance (mean |SHAP| per input feature on a test sample, exact explanations)
    and the agreement of LIME's and SHAP's top features on a few applicants, plus a plot.

    Empty (with the reason) for a scorer trained without explanation state.
    """
    from riskloop.evaluation.explain import attention_agreement, lime_agreement

    if scorer.explanation is None:
        return {
            "available": False,
            "reason": "scorer has no explanation state",
        }, rendering.no_explanations_figure()
    explainer = scorer.explainer()
    # the model-agnostic explainer costs seconds per row: explain fewer rows with it
    n_rows = int(evaluation.get("importance_sample", 200))
    if explainer.family == "agnostic":
        n_rows = min(n_rows, 20)
    sample = test.sample(min(n_rows, len(test)), random_state=int(evaluation.get("seed", 0)))
    records = sample[scorer.input_schema.names].astype(object)
    records = records.where(sample[scorer.input_schema.names].notna(), None).to_dict("records")
    explained = scorer.explain_records(records)
    features = list(explained[0]["contributions"]) if explained else []
    importance = {
        f: float(np.mean([abs(row["contributions"][f]) for row in explained])) for f in features
    }
    importance = dict(sorted(importance.items(), key=lambda item: -item[1]))
    report: dict[str, Any] = {
        "available": True,
        "output_space": explainer.output_space,
        "family": explainer.family,
        "n_explained": len(explained),
        "mean_abs_contribution": importance,
    }
    if explained and "attention" in explained[0]:  # an attention model: where it looked
        report["attention"] = attention_agreement(explained)
    n_lime = min(int(evaluation.get("lime_sample", 20)), len(sample))
    if n_lime > 0:
        matrix = scorer.preprocessor.transform(sample[scorer.input_schema.names].iloc[:n_lime])
        _, contributions = explainer.explain_matrix(matrix)
        agreement = lime_agreement(
            scorer.estimator.predict_proba,
            matrix,
            list(scorer.preprocessor.get_feature_names_out()),
            contributions,
            top_k=scorer.explanation.top_k,
            seed=int(evaluation.get("seed", 0)),
            training_matrix=scorer.preprocessor.transform(sample[scorer.input_schema.names]),
        )
        report["lime"] = rendering.jsonable(agreement)
    return report, rendering.importance_figure(importance, explainer.output_space)


def fairness_mitigation(scorer: Scorer, test: pd.DataFrame, scenario: Scenario) -> dict[str, Any]:
    """Report-only comparison, per sensitive attribute: the served decisions vs fairlearn's
    ThresholdOptimizer (demographic parity) on the test split — profit, parity and approval
    before/after (see :func:`riskloop.evaluation.fairness.mitigate_with_threshold_optimizer`)."""
    from riskloop.evaluation import fairness

    groups = fairness.sensitive_groups(test, scenario)
    if groups.shape[1] == 0:
        return {}
    y = target_vector(test, scenario)
    probability = scorer.predict_proba(test)
    approved = np.asarray(scorer.decide(probability)) == APPROVE
    exposure, term = business.exposure_and_term(test, scenario)

    def profit(decisions: np.ndarray) -> float:
        return business.expected_profit(
            y, np.asarray(decisions, bool), exposure, term, scenario.costs
        )

    comparison: dict[str, Any] = {}
    for attribute in groups.columns:
        try:
            comparison[attribute] = fairness.mitigate_with_threshold_optimizer(
                y, probability, approved, groups[attribute], profit
            )
        except ValueError as error:  # e.g. a group with a single outcome
            comparison[attribute] = {"error": str(error)}
    return rendering.jsonable(comparison)
