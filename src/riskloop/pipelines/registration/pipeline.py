from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.registration.nodes import register_scorer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                register_scorer,
                inputs=[
                    "scorer",
                    "validation",
                    "metrics",
                    "fairness_report",
                    "scenario",
                    "params:registration",
                    "params:promotion_gate",
                ],
                outputs="registration_report",
                name="register_scorer",
            )
        ]
    )
