from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                validate_and_clean,
                inputs=["raw_applications", "scenario"],
                outputs=["applications", "data_lineage"],
                name="validate_and_clean",
            ),
            node(
                split_applications,
                inputs=["applications", "scenario", "params:split"],
                outputs=["train", "validation", "test"],
                name="split_applications",
            ),
        ]
    )
