"""Benchmark cases: riskloop.scratch MLPClassifier against scikit-learn's MLPClassifier.

Both sides get identical settings and seeds; with those, our Adam trajectory reproduces
scikit-learn's to ~1e-15, so any time difference is implementation, not convergence.

Extra keys in each case (for the runner in ``benchmarks/scratch.py``):

``dataset``
    ``"credit"`` (the bundled credit data, one-hot + imputed) or ``"synthetic_1m_20"``
    (1,000,000 x 20 rows, e.g. ``make_classification(n_samples=1_000_000, n_features=20)``).
``preprocess``
    ``"standardize"``: fit a StandardScaler on the training rows first (not timed). An MLP
    without scaled inputs converges badly in both libraries, which would time the wrong thing.

Both estimators emit a ConvergenceWarning when ``max_iter`` is reached (the 1M case stops at
10 epochs on purpose: the time per epoch is what is compared); the runner may silence it.
"""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    from riskloop.scratch.neural_network import MLPClassifier

    credit = dict(hidden_layer_sizes=(64,), max_iter=200, tol=1e-4, random_state=0)
    million = dict(hidden_layer_sizes=(64,), max_iter=10, random_state=0)
    return [
        {
            "name": "mlp_credit_h64",
            "ours": lambda: MLPClassifier(**credit),
            "reference": lambda: SklearnMLP(**credit),
            "reference_name": "sklearn.neural_network.MLPClassifier",
            "fit_kwargs": {},
            "dataset": "credit",
            "preprocess": "standardize",
        },
        {
            "name": "mlp_1m_x20_h64_10epochs",
            "ours": lambda: MLPClassifier(**million),
            "reference": lambda: SklearnMLP(**million),
            "reference_name": "sklearn.neural_network.MLPClassifier",
            "fit_kwargs": {},
            "dataset": "synthetic_1m_20",
            "preprocess": "standardize",
        },
    ]
