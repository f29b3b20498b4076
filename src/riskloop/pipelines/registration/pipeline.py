from typing import Any

from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.registration.nodes import (
    candidate_evidence,
    champion_evidence,
    promotion_decision,
)


def create_pipeline(**kwargs: Any) -> Pipeline:
    """Measure the scorer and the current champion (``champion``, from the registry) on the
    validation split, apply the promotion gate, and save the decision to
    ``registration_report``: that dataset registers the scorer in MLflow, moves the champion
    alias when decided, and writes the report."""
    return pipeline(
        [
            node(
                candidate_evidence,
                inputs=["scorer", "validation", "fairness_report", "scenario"],
                outputs="candidate_evidence",
                name="candidate_evidence",
            ),
            node(
                champion_evidence,
                inputs=["champion", "validation", "scenario"],
                outputs="champion_evidence",
                name="champion_evidence",
            ),
            node(
                promotion_decision,
                inputs=[
                    "scorer",
                    "candidate_evidence",
                    "champion_evidence",
                    "metrics",
                    "scenario",
                    "params:registration",
                    "params:promotion_gate",
                ],
                outputs="registration_report",
                name="promotion_decision",
            ),
        ]
    )
