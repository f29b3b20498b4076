"""Benchmark cases: riskloop.scratch HistGradientBoostingClassifier against
scikit-learn's HistGradientBoostingClassifier and LightGBM, at equal settings.

Equal settings: 100 iterations, learning rate 0.1, 31 leaves, at least 20
samples per leaf, no L2 penalty, 255 bins, no early stopping, no row or column
subsampling. LightGBM's names: ``n_estimators``, ``num_leaves``,
``min_child_samples``, ``reg_lambda``, ``max_bin``; its ``min_child_weight``
(1e-3) is the same minimum hessian per leaf as scikit-learn's and ours.

``fast_row`` names the single-row serving method (``predict_proba_row``). The
task's goals: fit at most 1.0 x scikit-learn on 1,000,000 x 20 (run alone on
the machine: both libraries spin threads, and a shared machine distorts both),
and under 50 us per row through the fast path for a 300-tree model (see
``single_row_300_trees``; its ``max_rows`` keeps it small, since only the
latency matters there).
"""

from __future__ import annotations

SETTINGS = dict(
    learning_rate=0.1,
    max_iter=100,
    max_leaf_nodes=31,
    min_samples_leaf=20,
    l2_regularization=0.0,
    max_bins=255,
    early_stopping=False,
)


def _lightgbm(n_estimators: int = 100):
    from lightgbm import LGBMClassifier

    return LGBMClassifier(
        n_estimators=n_estimators,
        learning_rate=0.1,
        num_leaves=31,
        max_depth=-1,
        min_child_samples=20,
        min_child_weight=1e-3,
        reg_lambda=0.0,
        reg_alpha=0.0,
        max_bin=255,
        subsample=1.0,
        colsample_bytree=1.0,
        verbose=-1,
    )


def cases() -> list[dict]:
    from sklearn.ensemble import HistGradientBoostingClassifier as Reference

    from riskloop.scratch.gbdt import HistGradientBoostingClassifier

    return [
        {
            "name": "hist_gradient_boosting",
            "ours": lambda: HistGradientBoostingClassifier(**SETTINGS, random_state=0),
            "reference": lambda: Reference(**SETTINGS, random_state=0),
            "reference_name": "sklearn HistGradientBoostingClassifier",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
        {
            "name": "hist_gradient_boosting_vs_lightgbm",
            "ours": lambda: HistGradientBoostingClassifier(**SETTINGS, random_state=0),
            "reference": _lightgbm,
            "reference_name": "LightGBM LGBMClassifier",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
        {
            "name": "single_row_300_trees",
            "ours": lambda: HistGradientBoostingClassifier(**{**SETTINGS, "max_iter": 300}),
            "reference": lambda: Reference(**{**SETTINGS, "max_iter": 300}),
            "reference_name": "sklearn HistGradientBoostingClassifier (300 trees)",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
            "max_rows": 20_000,
        },
    ]
