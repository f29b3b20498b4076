"""Benchmark cases: exact CART tree and random forest against scikit-learn.

Settings are equal on both sides. The goal is fit time <= 1.5x scikit-learn's on
1,000,000 x 20. The forest case is kept to a few minutes: 20 trees of depth at
most 12, sqrt(20) = 4 features per split, bootstrap, 2 threads on each side.
"""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.ensemble import RandomForestClassifier as ReferenceForest
    from sklearn.tree import DecisionTreeClassifier as ReferenceTree

    from riskloop.scratch.forest import RandomForestClassifier
    from riskloop.scratch.tree import DecisionTreeClassifier

    tree = dict(max_depth=None, min_samples_leaf=1, random_state=0)
    forest = dict(
        n_estimators=20, max_depth=12, max_features="sqrt", bootstrap=True, n_jobs=2, random_state=0
    )
    return [
        {
            "name": "decision_tree",
            "ours": lambda: DecisionTreeClassifier(**tree),
            "reference": lambda: ReferenceTree(**tree),
            "reference_name": "sklearn.tree.DecisionTreeClassifier",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
        {
            "name": "random_forest",
            "ours": lambda: RandomForestClassifier(**forest),
            "reference": lambda: ReferenceForest(**forest),
            "reference_name": "sklearn.ensemble.RandomForestClassifier",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
    ]
