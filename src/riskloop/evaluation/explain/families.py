"""Which model is explained (a wrapper's inner model) and how: linear, tree or agnostic."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np


def explained_model(estimator: Any) -> Any:
    """The model whose margin is explained: a wrapper's inner, uncalibrated model.

    A riskloop wrapper (e.g. a calibrator) names its inner fitted model with the attribute
    ``explained_model``; a scikit-learn ``CalibratedClassifierCV`` with one calibrated
    classifier (``ensemble=False`` or a frozen/prefit model) is unwrapped to that model.
    A fitted LightGBM model (or riskloop's wrapper of one) is explained through its
    ``booster_``. Anything else is explained as it is.
    """
    seen = 0
    while seen < 5:  # wrappers of wrappers, but never an endless loop
        seen += 1
        inner = getattr(estimator, "explained_model", None)
        if inner is not None and inner is not estimator:
            estimator = inner
            continue
        calibrated = getattr(estimator, "calibrated_classifiers_", None)
        if calibrated is not None and len(calibrated) == 1:
            estimator = calibrated[0].estimator
            continue
        if type(estimator).__name__ == "FrozenEstimator":
            estimator = estimator.estimator
            continue
        # LightGBM: explain its Booster (the scorer stores a Booster behind a small wrapper).
        booster = getattr(estimator, "booster_", None)
        if booster is not None and type(booster).__module__.startswith("lightgbm"):
            estimator = booster
        break
    return estimator


def _is_linear_logistic(model: Any) -> bool:
    coef = getattr(model, "coef_", None)
    return (
        coef is not None
        and np.ndim(coef) == 2
        and np.shape(coef)[0] == 1
        and hasattr(model, "intercept_")
        and type(model).__name__ == "LogisticRegression"
    )


def model_family(model: Any) -> Literal["linear", "tree", "agnostic"]:
    """How a fitted binary classifier is explained: ``linear``, ``tree`` or ``agnostic``."""
    if _is_linear_logistic(model):
        return "linear"
    if hasattr(model, "shap_model"):
        return "tree"
    module, name = type(model).__module__, type(model).__name__
    if module.startswith(("lightgbm", "xgboost")):
        return "tree"
    if module.startswith(("sklearn.tree", "sklearn.ensemble")) and any(
        word in name for word in ("Tree", "Forest", "Boosting")
    ):
        return "tree"
    return "agnostic"
