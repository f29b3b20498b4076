"""The figures of one window of the prediction log, each with the sample size it rests on:
feature and prediction drift against the scorer's reference, approval rate and its parity
across sensitive groups, label-free expected AUC and bad rate, realised performance and
fairness over the outcomes that have arrived, and latency percentiles."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.drift import (
    drift_by_feature,
    ks_against_reference,
    numeric_bin_counts,
    population_stability_index,
)
from riskloop.evaluation.fairness import fairness_report, sensitive_groups
from riskloop.evaluation.label_free import expected_auc, expected_bad_rate
from riskloop.evaluation.metrics import classification_metrics
from riskloop.scorer import Scorer


def number(value: Any) -> float | None:
    """A finite float, or None (JSON and SQL cannot hold NaN): how every figure is stored."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def reference_expected_auc(scorer: Scorer) -> float | None:
    """The label-free AUC of the training scores (from the score profile's sample): what the
    model expects of itself on the population it was trained on. None for older scorers."""
    score = (scorer.reference or {}).get("score")
    if not score or len(score.get("sample", [])) < 2:
        return None
    return number(expected_auc(np.asarray(score["sample"], dtype=np.float64)))


def reference_realised_auc(scorer: Scorer) -> float | None:
    """The AUC the scorer reached on held-out labelled rows at training time (its
    ``performance`` reference): the baseline of ``realised_auc_drop``. Scorers trained before
    it was recorded fall back to :func:`reference_expected_auc`."""
    performance = (scorer.reference or {}).get("performance") or {}
    if performance.get("auc") is None:
        return reference_expected_auc(scorer)
    return number(performance["auc"])


def prediction_drift(scorer: Scorer, probability: np.ndarray) -> tuple[float | None, float | None]:
    """PSI and KS p-value of the window's scores against the training score profile; (None,
    None) for a scorer trained before score profiles existed."""
    score = (scorer.reference or {}).get("score")
    if not score:
        return None, None
    counts = numeric_bin_counts(probability, score["edges"])
    psi = population_stability_index(np.asarray(score["shares"]), counts)
    _, p_value = ks_against_reference(np.asarray(score["sample"], dtype=np.float64), probability)
    return number(psi), number(p_value)


def selection_rate_parity(approved: np.ndarray, labels: pd.Series) -> float | None:
    """min over groups of the approval rate / max over groups (needs two groups)."""
    rates = pd.Series(approved.astype(np.float64), index=labels.index).groupby(labels).mean()
    if len(rates) < 2 or rates.max() <= 0:
        return None
    return number(rates.min() / rates.max())


def window_metrics(
    scorer: Scorer,
    inputs: pd.DataFrame,
    probability: np.ndarray,
    outcome: pd.Series,
    latency_ms: pd.Series,
    min_labelled: int,
    scenario: Any = None,
) -> tuple[dict[str, tuple[float | None, int]], pd.DataFrame]:
    """Every metric of one window as {name: (value, n)}, and its per-feature drift table.

    ``outcome`` holds 1/0 where the outcome has arrived, NaN elsewhere.
    """
    n = len(inputs)
    metrics: dict[str, tuple[float | None, int]] = {"rows": (float(n), n)}
    drift = drift_by_feature(scorer.reference, inputs)
    drift = drift.sort_values("psi", ascending=False, ignore_index=True)
    for row in drift.itertuples():
        metrics[f"psi:{row.feature}"] = (number(row.psi), int(row.n))
        metrics[f"p_value:{row.feature}"] = (number(row.p_value), int(row.n))
    metrics["max_feature_psi"] = (number(drift["psi"].max()) if len(drift) else None, n)
    psi, p_value = prediction_drift(scorer, probability)
    metrics["prediction_psi"] = (psi, n)
    metrics["prediction_p_value"] = (p_value, n)

    approved = probability < scorer.threshold
    metrics["approval_rate"] = (number(approved.mean()) if n else None, n)
    metrics["mean_probability"] = (number(probability.mean()) if n else None, n)
    reference_auc = reference_expected_auc(scorer)
    estimated = number(expected_auc(probability))
    metrics["expected_auc"] = (estimated, n)
    metrics["expected_bad_rate"] = (
        number(expected_bad_rate(probability, approved)),
        int(approved.sum()),
    )
    metrics["expected_auc_drop"] = (
        None if reference_auc is None or estimated is None else reference_auc - estimated,
        n,
    )

    labelled = outcome.notna().to_numpy()
    n_labelled = int(labelled.sum())
    metrics["n_labelled"] = (float(n_labelled), n_labelled)
    y = outcome.to_numpy()[labelled].astype(np.int64)
    p = probability[labelled]
    both_classes = n_labelled >= min_labelled and 0 < y.sum() < n_labelled
    realised = classification_metrics(y, p) if both_classes else {}
    for name in ("auc", "ks", "brier", "bad_rate"):
        metrics[f"realised_{name}"] = (number(realised.get(name)), n_labelled)
    metrics["expected_auc_labelled"] = (
        number(expected_auc(p)) if both_classes else None,
        n_labelled,
    )
    approved_labelled = approved[labelled]
    metrics["bad_rate_approved"] = (
        number(y[approved_labelled].mean())
        if n_labelled >= min_labelled and approved_labelled.any()
        else None,
        int(approved_labelled.sum()),
    )
    reference_realised = reference_realised_auc(scorer)
    metrics["realised_auc_drop"] = (
        None
        if reference_realised is None or realised.get("auc") is None
        else reference_realised - realised["auc"],
        n_labelled,
    )

    if scenario is not None and scenario.data.sensitive:
        present = [a for a in scenario.data.sensitive if a in inputs.columns]
        if present:
            groups = sensitive_groups(inputs[present], _only(scenario, present))
            for attribute in present:
                metrics[f"selection_rate_parity:{attribute}"] = (
                    selection_rate_parity(approved, groups[attribute]),
                    n,
                )
            if both_classes:
                report = fairness_report(
                    y, approved_labelled, p, groups[labelled].reset_index(drop=True), 0
                )
                for attribute, summary in report.items():
                    for measure in ("demographic_parity_ratio", "equalized_odds_difference"):
                        metrics[f"{measure}:{attribute}"] = (
                            number(summary[measure]),
                            n_labelled,
                        )

    latency = pd.to_numeric(latency_ms, errors="coerce").dropna().to_numpy()
    for q in (50, 95, 99):
        metrics[f"latency_p{q}_ms"] = (
            number(np.percentile(latency, q)) if latency.size else None,
            int(latency.size),
        )
    return metrics, drift


class _OnlyAttributes:
    """A scenario view whose sensitive attributes are only those present in the log."""

    def __init__(self, scenario: Any, present: list[str]):
        self.fairness = scenario.fairness
        self.data = type("Data", (), {"sensitive": present})()


def _only(scenario: Any, present: list[str]) -> Any:
    if list(scenario.data.sensitive) == present:
        return scenario
    return _OnlyAttributes(scenario, present)
