"""Calibration: turn a model's score into a probability that means what it says.

Two maps from a raw probability p to a calibrated one, plus "none":

* **Platt** — a logistic regression on the logit: p' = σ(a · logit(p) + b). Two numbers.
* **Isotonic** — the best non-decreasing step function of p (pool-adjacent-violators, by
  :class:`sklearn.isotonic.IsotonicRegression`), stored as its breakpoints and applied by linear
  interpolation, clipped at the ends.

Which map to use is chosen on the validation split **by cross-fitting**: the rows are cut into
k folds; each method is fitted on k−1 folds and predicts the held-out one, so every row gets a
calibrated probability from a map that never saw it. The method with the lowest Brier score of
those cross-fitted probabilities wins ("none" included, so calibration must earn its place) and
is then refitted on all validation rows. The cross-fitted probabilities of the winner are what
the decision threshold is chosen on, so the threshold is not tuned on the map's own fit.

Calibrators are plain numbers (``to_dict``/``calibrator_from_dict``): the scorer stores them as
JSON, never pickle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from riskloop.evaluation.metrics import brier_score

EPS = 1e-12


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


class Calibrator(Protocol):
    @property
    def method(self) -> str: ...

    def transform(self, probability: np.ndarray) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class IdentityCalibrator:
    """No calibration: the model's probability is used as it is."""

    method: str = "none"

    def transform(self, probability: np.ndarray) -> np.ndarray:
        return np.asarray(probability, dtype=np.float64)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method}


@dataclass(frozen=True)
class PlattCalibrator:
    """p' = σ(slope · logit(p) + intercept)."""

    slope: float
    intercept: float
    method: str = "platt"

    @classmethod
    def fit(cls, probability: np.ndarray, y: np.ndarray) -> PlattCalibrator:
        from sklearn.linear_model import LogisticRegression

        # a (nearly) unpenalised fit: two parameters on hundreds of rows need no shrinkage
        model = LogisticRegression(C=1e6, max_iter=1000)
        model.fit(_logit(probability).reshape(-1, 1), np.asarray(y).astype(int))
        return cls(slope=float(model.coef_[0, 0]), intercept=float(model.intercept_[0]))

    def transform(self, probability: np.ndarray) -> np.ndarray:
        z = self.slope * _logit(probability) + self.intercept
        return 1.0 / (1.0 + np.exp(-z))

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "slope": self.slope, "intercept": self.intercept}


@dataclass(frozen=True)
class IsotonicCalibrator:
    """Non-decreasing piecewise-linear map through the breakpoints (x, y), clipped at the ends."""

    x: tuple[float, ...]
    y: tuple[float, ...]
    method: str = "isotonic"

    @classmethod
    def fit(cls, probability: np.ndarray, y: np.ndarray) -> IsotonicCalibrator:
        from sklearn.isotonic import IsotonicRegression

        model = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        model.fit(np.asarray(probability, dtype=np.float64), np.asarray(y, dtype=np.float64))
        return cls(
            x=tuple(map(float, model.X_thresholds_)), y=tuple(map(float, model.y_thresholds_))
        )

    def transform(self, probability: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(probability, dtype=np.float64), self.x, self.y)

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "x": list(self.x), "y": list(self.y)}


METHODS = {"none": None, "platt": PlattCalibrator, "isotonic": IsotonicCalibrator}


def fit_calibrator(method: str, probability: np.ndarray, y: np.ndarray) -> Calibrator:
    if method not in METHODS:
        raise ValueError(f"unknown calibration method {method!r}; choose one of {list(METHODS)}")
    if method == "platt":
        return PlattCalibrator.fit(probability, y)
    if method == "isotonic":
        return IsotonicCalibrator.fit(probability, y)
    return IdentityCalibrator()


def calibrator_from_dict(document: dict[str, Any] | None) -> Calibrator | None:
    """Rebuild a calibrator saved with ``to_dict`` (None stays None)."""
    if document is None:
        return None
    method = document.get("method")
    if method == "none":
        return IdentityCalibrator()
    if method == "platt":
        return PlattCalibrator(
            slope=float(document["slope"]), intercept=float(document["intercept"])
        )
    if method == "isotonic":
        return IsotonicCalibrator(x=tuple(document["x"]), y=tuple(document["y"]))
    raise ValueError(f"unknown calibration method {method!r} in the stored scorer")


def cross_fitted(
    method: str, probability: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0
) -> np.ndarray:
    """Calibrated probability of each row from a map fitted on the other folds (stratified)."""
    from sklearn.model_selection import StratifiedKFold

    probability = np.asarray(probability, dtype=np.float64)
    y = np.asarray(y).astype(int)
    out = np.empty_like(probability)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for fit_rows, held_out in splitter.split(probability.reshape(-1, 1), y):
        calibrator = fit_calibrator(method, probability[fit_rows], y[fit_rows])
        out[held_out] = calibrator.transform(probability[held_out])
    return out


def choose_calibration(
    probability: np.ndarray,
    y: np.ndarray,
    methods: tuple[str, ...] = ("none", "platt", "isotonic"),
    folds: int = 5,
    seed: int = 0,
) -> tuple[Calibrator, np.ndarray, dict[str, float]]:
    """Pick the calibration method with the lowest cross-fitted Brier score, refit it on all rows.

    Returns the fitted calibrator, the winner's cross-fitted probabilities (for choosing the
    threshold honestly) and the cross-fitted Brier score of every method.
    """
    scores: dict[str, float] = {}
    fitted: dict[str, np.ndarray] = {}
    for method in methods:
        fitted[method] = cross_fitted(method, probability, y, folds=folds, seed=seed)
        scores[method] = brier_score(y, fitted[method])
    best = min(methods, key=lambda m: (scores[m], methods.index(m)))
    return fit_calibrator(best, probability, y), fitted[best], scores


def reliability_bins(
    y: np.ndarray, probability: np.ndarray, n_bins: int = 10
) -> list[dict[str, float | int]]:
    """Mean predicted vs observed rate in equal-width probability bins (non-empty bins only)."""
    p = np.asarray(probability, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    index = np.minimum((p * n_bins).astype(int), n_bins - 1)
    bins = []
    for b in range(n_bins):
        mask = index == b
        if mask.any():
            bins.append(
                {
                    "predicted": float(p[mask].mean()),
                    "observed": float(y[mask].mean()),
                    "count": int(mask.sum()),
                }
            )
    return bins
