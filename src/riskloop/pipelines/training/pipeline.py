from kedro.pipeline import Pipeline, node, pipeline

from riskloop.pipelines.training.nodes import select_and_calibrate


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                select_and_calibrate,
                inputs=[
                    "train",
                    "validation",
                    "scenario",
                    "params:model",
                    "params:tuning",
                    "params:candidates",
                    "params:search_spaces",
                    "data_lineage",
                ],
                outputs=["selected_scorer", "model_comparison", "baseline_policies"],
                name="select_and_calibrate",
            )
        ]
    )
