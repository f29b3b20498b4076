from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.evaluation.nodes import evaluate_scorer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                evaluate_scorer,
                inputs=["scorer", "validation", "test", "scenario"],
                outputs="metrics",
                name="evaluate_scorer",
            )
        ]
    )
