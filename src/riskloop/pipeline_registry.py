"""Kedro's pipeline registry: the stages of riskloop's training loop."""

from kedro.pipeline import Pipeline

from riskloop.pipelines import data_processing, eda, evaluation, registration, training


def register_pipelines() -> dict[str, Pipeline]:
    pipelines = {
        "data_processing": data_processing.create_pipeline(),
        "training": training.create_pipeline(),
        "evaluation": evaluation.create_pipeline(),
        "registration": registration.create_pipeline(),
        "eda": eda.create_pipeline(),
    }
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
