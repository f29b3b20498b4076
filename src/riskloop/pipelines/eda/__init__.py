from riskloop.pipelines.eda.pipeline import create_pipeline

__all__ = ["create_pipeline"]
