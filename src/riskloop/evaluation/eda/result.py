"""``explore``: every analysis of the EDA report, run once into an :class:`EDAResult`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.eda._inputs import outcome_vector
from riskloop.evaluation.eda.binning import assign_bins
from riskloop.evaluation.eda.correlation import rank_correlation, strongest_correlations
from riskloop.evaluation.eda.missingness import missingness
from riskloop.evaluation.eda.structure import pca_kmeans_view
from riskloop.evaluation.eda.woe import DEFAULT_SMOOTHING, iv_strength, woe_table


@dataclass
class EDAResult:
    """Everything the EDA report shows, computed once.

    Attributes
    ----------
    overview : dict
        ``n_rows``, ``n_bad``, ``bad_rate``, ``numeric``, ``categorical`` (feature lists).
    missingness : DataFrame
        :func:`missingness` of the features.
    information_values : DataFrame
        ``feature``, ``kind``, ``iv``, ``strength``, ``n_bins``; highest IV first.
    woe : dict of str to DataFrame
        :func:`woe_table` per feature (it includes the risky-outcome rate per bin).
    correlation : DataFrame
        :func:`rank_correlation` of the numeric features (empty with fewer than two).
    structure : dict
        :func:`pca_kmeans_view`.
    settings : dict
        The binning and clustering settings used.
    """

    overview: dict[str, Any]
    missingness: pd.DataFrame
    information_values: pd.DataFrame
    woe: dict[str, pd.DataFrame]
    correlation: pd.DataFrame
    structure: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """A small JSON document of the findings (no per-row data)."""
        clusters = self.structure["clusters_table"]
        return {
            "overview": self.overview,
            "settings": self.settings,
            "information_value": _records(self.information_values),
            "missingness": _records(self.missingness[self.missingness["n_missing"] > 0]),
            "strongest_correlations": _records(strongest_correlations(self.correlation)),
            "explained_variance_ratio": [
                float(v) for v in self.structure["explained_variance_ratio"][:5]
            ],
            "clusters": _records(clusters),
        }


def _records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe dicts (NaN becomes None)."""
    clean = table.astype(object).where(table.notna(), None)
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in clean.to_dict("records")
    ]


def explore(
    frame: pd.DataFrame,
    y: Any,
    numeric: Sequence[str],
    categorical: Sequence[str],
    *,
    bins: int = 10,
    max_categories: int = 20,
    smoothing: float = DEFAULT_SMOOTHING,
    n_clusters: int = 4,
    seed: int = 0,
) -> EDAResult:
    """Run every analysis of the EDA report on ``frame``.

    Parameters
    ----------
    frame : DataFrame
        The data (in the pipeline: the training split, so nothing is learnt from the rows
        models are later judged on).
    y : array-like of 0/1
        Outcome per row; 1 is the risky outcome.
    numeric, categorical : sequence of str
        The features, by kind.
    bins, max_categories, smoothing
        Binning and WoE smoothing (:func:`assign_bins`, :func:`woe_table`).
    n_clusters, seed
        k-means settings (:func:`pca_kmeans_view`).
    """
    outcome = outcome_vector(y, len(frame))
    features = [*numeric, *categorical]
    kinds = {**dict.fromkeys(numeric, "numeric"), **dict.fromkeys(categorical, "categorical")}
    woe: dict[str, pd.DataFrame] = {}
    rows = []
    for name in features:
        binned = assign_bins(
            frame[name],
            bins,
            categorical=kinds[name] == "categorical",
            max_categories=max_categories,
        )
        iv, table = woe_table(binned, outcome, smoothing)
        woe[name] = table
        rows.append(
            {
                "feature": name,
                "kind": kinds[name],
                "iv": iv,
                "strength": iv_strength(iv),
                "n_bins": len(table),
            }
        )
    ivs = pd.DataFrame(rows, columns=["feature", "kind", "iv", "strength", "n_bins"])
    ivs = ivs.sort_values("iv", ascending=False, kind="stable").reset_index(drop=True)
    correlation = (
        rank_correlation(frame, numeric) if len(numeric) >= 2 else pd.DataFrame(dtype=float)
    )
    return EDAResult(
        overview={
            "n_rows": len(frame),
            "n_bad": int(outcome.sum()),
            "bad_rate": float(outcome.mean()) if len(frame) else float("nan"),
            "numeric": list(numeric),
            "categorical": list(categorical),
        },
        missingness=missingness(frame[features], outcome),
        information_values=ivs,
        woe=woe,
        correlation=correlation,
        structure=pca_kmeans_view(frame, numeric, categorical, outcome, n_clusters, seed),
        settings={
            "bins": bins,
            "max_categories": max_categories,
            "smoothing": smoothing,
            "n_clusters": n_clusters,
            "seed": seed,
        },
    )
