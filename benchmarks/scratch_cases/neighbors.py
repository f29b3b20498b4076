"""Benchmark case: brute-force k-NN against scikit-learn.

``max_rows``: brute force costs O(n_test · n_train · d), so the synthetic
data is capped at 50,000 rows for this case.
"""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.neighbors import KNeighborsClassifier as Reference

    from riskloop.scratch import KNeighborsClassifier

    return [
        {
            "name": "knn",
            "ours": lambda: KNeighborsClassifier(25, weights="distance"),
            "reference": lambda: Reference(n_neighbors=25, weights="distance"),
            "reference_name": "sklearn KNeighborsClassifier (auto algorithm)",
            "fit_kwargs": {},
            "max_rows": 50_000,
        }
    ]
