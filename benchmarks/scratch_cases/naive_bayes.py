"""Benchmark case: Gaussian naive Bayes against scikit-learn."""

from __future__ import annotations


def cases() -> list[dict]:
    from sklearn.naive_bayes import GaussianNB as Reference

    from riskloop.scratch import GaussianNB

    return [
        {
            "name": "gaussian_nb",
            "ours": GaussianNB,
            "reference": Reference,
            "reference_name": "sklearn GaussianNB",
            "fit_kwargs": {},
        }
    ]
