from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.data_processing import create_pipeline as data_processing
from riskloop.pipelines.eda.nodes import explore_training_data


def create_pipeline(**kwargs) -> Pipeline:
    """The EDA report of the training split; it brings data processing along so that
    ``kedro run --pipeline eda`` works on a fresh clone (the nodes merge in ``__default__``)."""
    return data_processing() + pipeline(
        [
            node(
                explore_training_data,
                inputs=["train", "scenario", "params:eda"],
                outputs=["eda_report", "eda_summary"],
                name="explore_training_data",
            )
        ]
    )
