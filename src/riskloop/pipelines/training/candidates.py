"""The estimators the training pipeline can fit, by the name used in ``parameters_training.yml``.

Each entry builds an unfitted classifier from keyword parameters; the scorer must have a
storage codec for its class (see :mod:`riskloop.scorer`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _sklearn_logistic_regression(**params: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**params)


CANDIDATES: dict[str, Callable[..., Any]] = {
    "sklearn_logistic_regression": _sklearn_logistic_regression,
}


def build_estimator(spec: dict[str, Any]) -> Any:
    """``{"type": name, "params": {...}}`` → an unfitted estimator."""
    name = spec["type"]
    if name not in CANDIDATES:
        raise ValueError(f"unknown model type {name!r}; choose one of {', '.join(CANDIDATES)}")
    return CANDIDATES[name](**(spec.get("params") or {}))
