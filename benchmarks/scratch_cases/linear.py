"""Benchmark cases: logistic regression (ours: Newton/IRLS) against scikit-learn.

Keys beyond the common ones: ``fast_row`` names the single-row serving method.
"""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.linear_model import LogisticRegression as Reference

    from riskloop.scratch import LogisticRegression

    return [
        {
            "name": "logistic_regression",
            "ours": lambda: LogisticRegression(C=1.0),
            "reference": lambda: Reference(C=1.0, max_iter=1000),
            "reference_name": "sklearn LogisticRegression (lbfgs)",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
        {
            "name": "logistic_regression_newton",
            "ours": lambda: LogisticRegression(C=1.0),
            "reference": lambda: Reference(C=1.0, solver="newton-cholesky"),
            "reference_name": "sklearn LogisticRegression (newton-cholesky)",
            "fit_kwargs": {},
            "fast_row": "predict_proba_row",
        },
    ]
