"""Fit the preprocessing + model pipeline and package it as a scorer."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sklearn.pipeline import Pipeline

from riskloop.data.scenario import Scenario
from riskloop.data.schema import infer_input_schema, target_vector
from riskloop.evaluation.drift import reference_profile
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.pipelines.training.candidates import build_estimator
from riskloop.scorer import Scorer


def train_scorer(
    train: pd.DataFrame,
    scenario: Scenario,
    model: dict[str, Any],
    candidates: dict[str, dict[str, Any]],
    lineage: dict[str, Any],
) -> Scorer:
    """Fit ``preprocessing → estimator`` on the training split and wrap it as a scorer.

    ``model.type`` names the candidate; its hyper-parameters are ``candidates[model.type]``.
    """
    params = dict(candidates.get(model["type"]) or {})
    schema = infer_input_schema(train, scenario)
    fitted = Pipeline(
        [
            (
                "features",
                TabularPreprocessor(numeric=schema.numeric, categorical=schema.categorical),
            ),
            ("model", build_estimator(model["type"], params)),
        ]
    ).fit(train[schema.names], target_vector(train, scenario))
    return Scorer(
        input_schema=schema,
        preprocessor=fitted.named_steps["features"],
        estimator=fitted.named_steps["model"],
        threshold=scenario.decision.threshold,
        positive_class=str(scenario.data.positive_class),
        reference=reference_profile(train, schema),
        metadata={
            "model_name": scenario.model_name,
            "scenario": scenario.name,
            "model_type": model["type"],
            "params": params,
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "data_sha256": lineage.get("sha256"),
            "n_train": len(train),
        },
    )
