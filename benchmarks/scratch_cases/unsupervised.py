"""Benchmark cases: k-means and PCA against scikit-learn.

``kind``: "clusterer" (batch = predict) or "transformer" (batch = transform);
they have no predict_proba, so no single-row or AUC columns.
"""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.cluster import KMeans as ReferenceKMeans
    from sklearn.decomposition import PCA as ReferencePCA

    from riskloop.scratch import PCA, KMeans

    return [
        {
            "name": "kmeans",
            "ours": lambda: KMeans(8, n_init=1, random_state=0),
            "reference": lambda: ReferenceKMeans(8, n_init=1, random_state=0),
            "reference_name": "sklearn KMeans (lloyd, k-means++)",
            "fit_kwargs": {},
            "kind": "clusterer",
        },
        {
            "name": "pca",
            "ours": lambda: PCA(5),
            "reference": lambda: ReferencePCA(5),
            "reference_name": "sklearn PCA (auto solver)",
            "fit_kwargs": {},
            "kind": "transformer",
        },
    ]
