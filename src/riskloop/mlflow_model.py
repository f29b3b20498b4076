"""MLflow "models from code" definition of the scorer as a pyfunc model.

MLflow executes this file when a tool loads the registered model (``mlflow.pyfunc.load_model``,
``mlflow models serve --env-manager local``); riskloop's own service never does — it reads the
scorer directory directly (:func:`riskloop.registry.load_scorer`). The wrapper is not pickled:
MLflow stores this source file, and the scorer travels as the ``scorer`` artifact in its
JSON + npz format, verified against the SHA-256 recorded in the model config.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel, PythonModelContext

from riskloop.scorer import Scorer


class ScorerModel(PythonModel):
    """pyfunc face of :class:`riskloop.scorer.Scorer`."""

    def load_context(self, context: PythonModelContext) -> None:
        expected = (context.model_config or {}).get("scorer_sha256")
        self.scorer = Scorer.load(context.artifacts["scorer"], expected_sha256=expected)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: Any = None
    ) -> pd.DataFrame:
        probability = self.scorer.predict_proba(model_input)
        return pd.DataFrame(
            {"probability_of_default": probability, "decision": self.scorer.decide(probability)}
        )


# Required by models-from-code: tells MLflow which object this file defines.
mlflow.models.set_model(ScorerModel())
