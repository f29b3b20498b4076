"""The estimators the training pipeline can fit, by the name used in ``parameters_training.yml``.

Each entry builds an unfitted classifier from keyword parameters; the scorer must have a
storage codec for its class (see :mod:`riskloop.scorer`). The ``scratch_*`` candidates are
riskloop's own implementations (:mod:`riskloop.scratch`); ``sklearn_*`` are library references.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _sklearn_logistic_regression(**params: Any) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**params)


def _lightgbm(**params: Any) -> Any:
    import lightgbm

    # one thread and deterministic histograms: the same data and seed give the same model
    defaults = {"verbose": -1, "n_jobs": 1, "deterministic": True, "force_row_wise": True}
    return lightgbm.LGBMClassifier(**{**defaults, **params})


def _scratch(class_name: str) -> Callable[..., Any]:
    def build(**params: Any) -> Any:
        from riskloop import scratch

        if not hasattr(scratch, class_name) and class_name == "HistGradientBoostingClassifier":
            from riskloop.scratch.gbdt import HistGradientBoostingClassifier

            return HistGradientBoostingClassifier(**params)
        return getattr(scratch, class_name)(**params)

    build.__name__ = f"scratch_{class_name}"
    return build


def _ft_transformer(loss: str) -> Callable[..., Any]:
    # The optional deep extra: importing riskloop.deep.estimator imports torch, so without it
    # the candidate is "not available here" and the run skips it.
    def build(**params: Any) -> Any:
        from riskloop.deep.estimator import FTTransformerClassifier

        return FTTransformerClassifier(**{"loss": loss, **params})

    build.__name__ = f"ft_transformer_{loss}"
    return build


CANDIDATES: dict[str, Callable[..., Any]] = {
    "sklearn_logistic_regression": _sklearn_logistic_regression,
    "scratch_logistic_regression": _scratch("LogisticRegression"),
    "scratch_gaussian_nb": _scratch("GaussianNB"),
    "scratch_knn": _scratch("KNeighborsClassifier"),
    "scratch_mlp": _scratch("MLPClassifier"),
    "scratch_decision_tree": _scratch("DecisionTreeClassifier"),
    "scratch_random_forest": _scratch("RandomForestClassifier"),
    "scratch_hist_gradient_boosting": _scratch("HistGradientBoostingClassifier"),
    "lightgbm": _lightgbm,
    "ft_transformer": _ft_transformer("log_loss"),
    "ft_transformer_cost_sensitive": _ft_transformer("cost_sensitive"),
}


def needs_costs(name: str) -> bool:
    """Whether candidate ``name`` trains on the scenario's cost model (a cost-sensitive loss
    weighted by each row's cost of a wrong decision), so a scenario without costs cannot use it."""
    return bool(build_estimator(name).get_params().get("loss") == "cost_sensitive")


def candidate_available(name: str) -> bool:
    """Whether candidate ``name`` can be built here (its library or module imports)."""
    try:
        build_estimator(name)
    except (ImportError, AttributeError):
        return False
    return True


def build_estimator(name: str, params: dict[str, Any] | None = None) -> Any:
    """An unfitted estimator of candidate ``name`` with hyper-parameters ``params``."""
    if name not in CANDIDATES:
        raise ValueError(f"unknown model type {name!r}; choose one of {', '.join(CANDIDATES)}")
    return CANDIDATES[name](**(params or {}))
