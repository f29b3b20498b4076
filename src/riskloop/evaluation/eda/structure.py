"""The structure of the model matrix: principal components and k-means clusters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from riskloop.evaluation.eda._inputs import outcome_vector
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.scratch import PCA, KMeans


def pca_kmeans_view(
    frame: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    y: Any,
    n_clusters: int = 4,
    seed: int = 0,
    n_profile: int = 3,
) -> dict[str, Any]:
    """Principal components and k-means clusters of the model matrix, with the outcome beside.

    The model matrix is what the models see: :class:`~riskloop.features.TabularPreprocessor`
    (median imputation, standardised numbers, one-hot categories). PCA and k-means are
    riskloop's own (:mod:`riskloop.scratch`); k-means runs on the full matrix, not on the 2-D
    projection, which is only for looking.

    Parameters
    ----------
    frame : DataFrame
        The data.
    numeric, categorical : sequence of str
        The model's numeric and categorical inputs.
    y : array-like of 0/1
        Outcome per row (1 = risky); never used to fit, only to describe the clusters.
    n_clusters : int
        k of k-means. Default 4.
    seed : int
        Seed of the k-means initialisations. Default 0.
    n_profile : int
        Model-matrix columns that describe each cluster (those whose cluster mean is furthest
        from the overall mean, in standard deviations). Default 3.

    Returns
    -------
    dict
        ``coordinates`` (n × 2 projections on the first two components), ``clusters``
        (cluster of each row, numbered by decreasing size), ``explained_variance_ratio`` (all
        components), ``feature_names`` (model-matrix columns), ``loadings`` (DataFrame: the
        first two components' weight per model-matrix column), ``clusters_table`` (DataFrame:
        ``cluster``, ``count``, ``share``, ``bad_rate``, ``lift`` = bad rate / overall bad rate,
        ``profile``).
    """
    outcome = outcome_vector(y, len(frame))
    if not 1 <= n_clusters <= len(frame):
        raise ValueError(f"n_clusters must be in [1, {len(frame)}], received {n_clusters}")
    preprocessor = TabularPreprocessor(numeric=list(numeric), categorical=list(categorical))
    matrix = preprocessor.fit_transform(frame)
    names = [str(n) for n in preprocessor.get_feature_names_out()]
    pca = PCA().fit(matrix)
    coordinates = pca.transform(matrix)[:, :2]
    if coordinates.shape[1] < 2:  # a single input column: show it against zero
        coordinates = np.column_stack([coordinates, np.zeros(len(frame))])
    kmeans = KMeans(n_clusters=n_clusters, n_init=4, random_state=seed).fit(matrix)
    # Number the clusters by size so the labels do not depend on the initialisation order.
    sizes = np.bincount(kmeans.labels_, minlength=n_clusters)
    rank = np.empty(n_clusters, dtype=int)
    rank[np.argsort(-sizes, kind="stable")] = np.arange(n_clusters)
    clusters = rank[kmeans.labels_]

    overall_rate = float(outcome.mean())
    spread = matrix.std(axis=0)
    spread = np.where(spread > 0, spread, 1.0)
    rows = []
    for cluster in range(n_clusters):
        members = clusters == cluster
        shift = (matrix[members].mean(axis=0) - matrix.mean(axis=0)) / spread
        strongest = np.argsort(-np.abs(shift), kind="stable")[:n_profile]
        bad_rate = float(outcome[members].mean()) if members.any() else float("nan")
        rows.append(
            {
                "cluster": cluster,
                "count": int(members.sum()),
                "share": float(members.mean()),
                "bad_rate": bad_rate,
                "lift": bad_rate / overall_rate if overall_rate > 0 else float("nan"),
                "profile": ", ".join(f"{names[j]} {shift[j]:+.1f} sd" for j in strongest),
            }
        )
    components = pca.components_[:2]
    loadings = pd.DataFrame(components.T, index=names, columns=["pc1", "pc2"][: len(components)])
    return {
        "coordinates": coordinates,
        "clusters": clusters,
        "explained_variance_ratio": pca.explained_variance_ratio_.copy(),
        "feature_names": names,
        "loadings": loadings,
        "clusters_table": pd.DataFrame(rows),
    }
