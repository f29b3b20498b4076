"""Cross-validated tuning of one candidate with a fixed budget (Optuna, seeded TPE).

Each trial draws hyper-parameters from the candidate's search space (``search_spaces`` in
``conf/base/parameters_training.yml``) over its fixed ones (``candidates``), fits
``preprocessing → estimator`` on k−1 stratified folds of the training split and scores the
held-out fold by AUC; the trial's value is the mean fold AUC. The first trial is always the
configured parameters, so a budget of one trial is "no tuning". The preprocessing is refitted
inside every fold, so no fold's statistics leak into its own evaluation.

A search space entry is ``{low, high}`` (float; ``log: true`` for a log scale, ``int: true``
for integers) or ``{choices: [...]}``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline

from riskloop.data.schema import InputSchema
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.pipelines.training.candidates import build_estimator


@dataclass
class TuningResult:
    """Outcome of tuning one candidate: best parameters, their fold AUCs and out-of-fold scores."""

    name: str
    params: dict[str, Any]
    fold_aucs: list[float]
    oof_probability: np.ndarray
    n_trials: int
    seconds: float


@dataclass(frozen=True)
class FittedCandidate:
    """A tuned candidate refitted on the whole training split: the ``features → model``
    pipeline, the input columns it reads and how long the fit took."""

    pipeline: Pipeline
    inputs: list[str]
    fit_seconds: float

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        """Uncalibrated probability of the positive (risky) class for each row of ``frame``."""
        return np.asarray(self.pipeline.predict_proba(frame[self.inputs])[:, 1])


def make_pipeline(name: str, params: dict[str, Any], schema: InputSchema) -> Pipeline:
    """An unfitted ``features → model`` pipeline of candidate ``name`` for inputs ``schema``."""
    return Pipeline(
        [
            (
                "features",
                TabularPreprocessor(numeric=schema.numeric, categorical=schema.categorical),
            ),
            ("model", build_estimator(name, params)),
        ]
    )


def fit_pipeline(
    pipeline: Pipeline, frame: pd.DataFrame, y: np.ndarray, costs: np.ndarray | None = None
) -> Pipeline:
    """Fit ``features → model`` on ``frame``: the features first, then the model on their matrix.

    Two kinds of model need more than the matrix. A model that makes one token per feature
    (the FT-Transformer) is told which columns are numbers and which one-hot blocks form one
    categorical feature — known only once the features are fitted. A model trained on a
    cost-sensitive loss gets ``costs``, each row's cost of a wrong decision
    (:func:`riskloop.evaluation.business.decision_costs`), as its sample weights.
    """
    features, model = pipeline.named_steps["features"], pipeline.named_steps["model"]
    matrix = features.fit_transform(frame)
    params = model.get_params()
    if "category_sizes" in params:
        model.set_params(
            n_numeric=len(features.numeric),
            category_sizes=tuple(len(levels) for levels in features.categories_),
        )
    fit_params = {"sample_weight": costs} if params.get("loss") == "cost_sensitive" else {}
    model.fit(matrix, y, **fit_params)
    return pipeline


def fit_candidate(
    name: str,
    params: dict[str, Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    schema: InputSchema,
    costs: np.ndarray | None = None,
) -> FittedCandidate:
    """Fit candidate ``name`` with ``params`` on the ``schema`` inputs of all of ``frame`` (its
    target ``y``; ``costs`` per row for cost-sensitive models), timed."""
    started = time.perf_counter()
    pipeline = fit_pipeline(make_pipeline(name, params, schema), frame[schema.names], y, costs)
    return FittedCandidate(pipeline, list(schema.names), time.perf_counter() - started)


def suggest(trial: Any, space: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Draw one value per searched parameter."""
    drawn: dict[str, Any] = {}
    for key, spec in space.items():
        if "choices" in spec:
            drawn[key] = trial.suggest_categorical(key, list(spec["choices"]))
        elif spec.get("int"):
            drawn[key] = trial.suggest_int(
                key, int(spec["low"]), int(spec["high"]), log=bool(spec.get("log"))
            )
        else:
            drawn[key] = trial.suggest_float(
                key, float(spec["low"]), float(spec["high"]), log=bool(spec.get("log"))
            )
    return drawn


def cross_validate(
    name: str,
    params: dict[str, Any],
    frame: pd.DataFrame,
    y: np.ndarray,
    schema: InputSchema,
    folds: int,
    seed: int,
    costs: np.ndarray | None = None,
) -> tuple[list[float], np.ndarray]:
    """Fold AUCs and the out-of-fold probability of every training row."""
    oof = np.empty(len(y), dtype=np.float64)
    aucs = []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(frame, y):
        fitted = fit_pipeline(
            make_pipeline(name, params, schema),
            frame.iloc[fit_rows],
            y[fit_rows],
            None if costs is None else costs[fit_rows],
        )
        oof[held_out] = fitted.predict_proba(frame.iloc[held_out])[:, 1]
        aucs.append(float(roc_auc_score(y[held_out], oof[held_out])))
    return aucs, oof


def tune_candidate(
    name: str,
    fixed: dict[str, Any],
    space: dict[str, dict[str, Any]],
    frame: pd.DataFrame,
    y: np.ndarray,
    schema: InputSchema,
    folds: int,
    trials: int,
    seed: int,
    costs: np.ndarray | None = None,
) -> TuningResult:
    """Search ``space`` for ``trials`` trials (the first = ``fixed``); best by mean fold AUC."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    started = time.perf_counter()
    space = space if trials > 1 else {}
    results: dict[int, tuple[dict[str, Any], list[float], np.ndarray]] = {}

    def objective(trial: Any) -> float:
        params = {**fixed, **suggest(trial, space)}
        aucs, oof = cross_validate(name, params, frame, y, schema, folds, seed, costs)
        results[trial.number] = (params, aucs, oof)
        return float(np.mean(aucs))

    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=seed))
    start = {k: fixed[k] for k in space if k in fixed}
    if start:
        study.enqueue_trial(start, skip_if_exists=True)
    study.optimize(objective, n_trials=max(1, trials))
    params, aucs, oof = results[study.best_trial.number]
    return TuningResult(
        name=name,
        params=params,
        fold_aucs=aucs,
        oof_probability=oof,
        n_trials=len(study.trials),
        seconds=time.perf_counter() - started,
    )
