"""Data drift of the logged applications against the champion's training reference."""

from __future__ import annotations

import pandas as pd

from riskloop.evaluation.drift import drift_by_feature
from riskloop.scorer import Scorer
from riskloop.store import PredictionStore


class EmptyPredictionLogError(RuntimeError):
    """There is nothing to compare yet."""


def feature_drift(
    scorer: Scorer, store: PredictionStore, window: int | None = None
) -> pd.DataFrame:
    """PSI per feature between the scorer's training reference and the newest ``window`` logged
    applications (all of them when None), sorted from most to least drifted."""
    logged = store.recent_inputs(limit=window)
    if logged.empty:
        raise EmptyPredictionLogError(
            f"the prediction log at {store.url} is empty: score some applications first"
            " (POST /v1/score), then run the monitor again"
        )
    table = drift_by_feature(scorer.reference, logged)
    return table.sort_values("psi", ascending=False, ignore_index=True)
