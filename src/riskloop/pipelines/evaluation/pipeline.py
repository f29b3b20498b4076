from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.evaluation.nodes import (
    attach_reports,
    business_impact,
    evaluate_scorer,
    explanation_report,
    fairness_assessment,
    model_card,
    predict_test_split,
    sensitive_inputs_comparison,
)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                evaluate_scorer,
                inputs=["selected_scorer", "validation", "test", "scenario"],
                outputs="metrics",
                name="evaluate_scorer",
            ),
            node(
                business_impact,
                inputs=[
                    "selected_scorer",
                    "baseline_policies",
                    "test",
                    "scenario",
                    "params:evaluation",
                ],
                outputs=["business_impact", "business_impact_plot"],
                name="business_impact",
            ),
            node(
                predict_test_split,
                inputs=["selected_scorer", "test", "scenario"],
                outputs="test_predictions",
                name="predict_test_split",
            ),
            node(
                fairness_assessment,
                inputs=["selected_scorer", "validation", "test", "scenario"],
                outputs="fairness_report",
                name="fairness_assessment",
            ),
            node(
                sensitive_inputs_comparison,
                inputs=[
                    "selected_scorer",
                    "train",
                    "validation",
                    "test",
                    "scenario",
                    "params:tuning",
                ],
                outputs="sensitive_inputs_comparison",
                name="sensitive_inputs_comparison",
            ),
            node(
                model_card,
                inputs=[
                    "selected_scorer",
                    "metrics",
                    "business_impact",
                    "fairness_report",
                    "scenario",
                    "sensitive_inputs_comparison",
                ],
                outputs="model_card",
                name="model_card",
            ),
            node(
                explanation_report,
                inputs=["selected_scorer", "test", "params:evaluation"],
                outputs=["explanation_report", "shap_importance_plot"],
                name="explanation_report",
            ),
            node(
                attach_reports,
                inputs=[
                    "selected_scorer",
                    "business_impact",
                    "fairness_report",
                    "model_card",
                    "explanation_report",
                ],
                outputs="scorer",
                name="attach_reports",
            ),
        ]
    )
