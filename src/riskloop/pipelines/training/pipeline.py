from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.training.nodes import train_scorer


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                train_scorer,
                inputs=["train", "scenario", "params:model", "params:candidates", "data_lineage"],
                outputs="scorer",
                name="train_scorer",
            )
        ]
    )
