from typing import Any

from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.training.nodes import (
    assemble_scorer,
    calibrate_candidate,
    choose_threshold,
    compare_candidates,
    compare_with_baselines,
    comparison_table,
    fit_baselines,
    fit_candidates,
    profit_curve,
    select_candidate,
    tune_candidates,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Tune, fit and compare the candidates and baselines on validation; calibrate the most
    profitable candidate, set its threshold and package it as ``selected_scorer``. The
    intermediate datasets (tuned and fitted candidates, calibration, threshold, profit curve)
    are not in the catalog: they live in memory for the run."""
    return pipeline(
        [
            node(
                tune_candidates,
                inputs=[
                    "train",
                    "scenario",
                    "params:model",
                    "params:tuning",
                    "params:candidates",
                    "params:search_spaces",
                ],
                outputs="tuned_candidates",
                name="tune_candidates",
            ),
            node(
                fit_candidates,
                inputs=["tuned_candidates", "train", "scenario"],
                outputs="fitted_candidates",
                name="fit_candidates",
            ),
            node(
                compare_candidates,
                inputs=[
                    "tuned_candidates",
                    "fitted_candidates",
                    "train",
                    "validation",
                    "scenario",
                    "params:tuning",
                ],
                outputs="candidate_comparison",
                name="compare_candidates",
            ),
            node(
                select_candidate,
                inputs=["candidate_comparison", "scenario"],
                outputs="selected_candidate",
                name="select_candidate",
            ),
            node(
                calibrate_candidate,
                inputs=[
                    "selected_candidate",
                    "fitted_candidates",
                    "validation",
                    "scenario",
                    "params:tuning",
                ],
                outputs="calibrated_candidate",
                name="calibrate_candidate",
            ),
            node(
                choose_threshold,
                inputs=["calibrated_candidate", "validation", "scenario"],
                outputs="decision_threshold",
                name="choose_threshold",
            ),
            node(
                fit_baselines,
                inputs=["train", "scenario"],
                outputs="baseline_policies",
                name="fit_baselines",
            ),
            node(
                compare_with_baselines,
                inputs=[
                    "candidate_comparison",
                    "baseline_policies",
                    "selected_candidate",
                    "validation",
                    "scenario",
                    "params:tuning",
                ],
                outputs="comparison_rows",
                name="compare_with_baselines",
            ),
            node(
                comparison_table,
                inputs="comparison_rows",
                outputs="model_comparison",
                name="comparison_table",
            ),
            node(
                profit_curve,
                inputs=["calibrated_candidate", "decision_threshold", "validation", "scenario"],
                outputs="profit_curve",
                name="profit_curve",
            ),
            node(
                assemble_scorer,
                inputs=[
                    "selected_candidate",
                    "tuned_candidates",
                    "fitted_candidates",
                    "calibrated_candidate",
                    "decision_threshold",
                    "comparison_rows",
                    "profit_curve",
                    "train",
                    "validation",
                    "scenario",
                    "data_lineage",
                ],
                outputs="selected_scorer",
                name="assemble_scorer",
            ),
        ]
    )
