"""Feature transforms shared by training and serving."""

from riskloop.features.preprocessing import TabularPreprocessor

__all__ = ["TabularPreprocessor"]
