"""Measure the scorer on the validation and test splits."""

from __future__ import annotations

import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import target_vector
from riskloop.evaluation.metrics import classification_metrics
from riskloop.scorer import Scorer


def evaluate_scorer(
    scorer: Scorer, validation: pd.DataFrame, test: pd.DataFrame, scenario: Scenario
) -> dict[str, dict[str, float]]:
    """AUC, Gini, KS, Brier on validation (used for selection) and test (reported only)."""
    return {
        split: classification_metrics(target_vector(frame, scenario), scorer.predict_proba(frame))
        for split, frame in (("validation", validation), ("test", test))
    }
