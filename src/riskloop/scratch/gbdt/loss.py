"""Log-loss kernels: gradients/hessians w.r.t. raw scores, and the mean loss.

Binary (half binomial): ``p = sigmoid(f)``, loss ``log(1 + e^f) - y f``,
gradient ``p - y``, hessian ``p (1 - p)``.
Multiclass (half multinomial, one raw score per class): ``p = softmax(f)``,
loss ``logsumexp(f) - f_y``, gradient ``p_k - [y = k]``, hessian
``p_k (1 - p_k)`` (the diagonal of the Hessian, as in scikit-learn/LightGBM).
Derivatives are computed in float64, multiplied by the sample weight, and
stored in float32.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: Arrays with at least this many samples are processed on all threads.
PARALLEL_MIN_SAMPLES = 50_000


@njit(cache=True, inline="always")
def _binomial_row(i, y, raw, sample_weight, gradients, hessians):
    p = 1.0 / (1.0 + np.exp(-raw[i]))
    gradients[i] = (p - y[i]) * sample_weight[i]
    hessians[i] = p * (1.0 - p) * sample_weight[i]


@njit(cache=True, inline="always")
def _multinomial_row(i, y, raw, sample_weight, gradients, hessians):
    n_classes = raw.shape[0]
    top = raw[0, i]
    for k in range(1, n_classes):
        top = max(top, raw[k, i])
    total = 0.0
    for k in range(n_classes):
        total += np.exp(raw[k, i] - top)
    for k in range(n_classes):
        p = np.exp(raw[k, i] - top) / total
        gradients[k, i] = (p - (1.0 if y[i] == k else 0.0)) * sample_weight[i]
        hessians[k, i] = p * (1.0 - p) * sample_weight[i]


@njit(cache=True, parallel=True)
def _binomial_parallel(y, raw, sample_weight, gradients, hessians):
    for i in prange(y.shape[0]):
        _binomial_row(i, y, raw, sample_weight, gradients, hessians)


@njit(cache=True)
def _binomial_serial(y, raw, sample_weight, gradients, hessians):
    for i in range(y.shape[0]):
        _binomial_row(i, y, raw, sample_weight, gradients, hessians)


@njit(cache=True, parallel=True)
def _multinomial_parallel(y, raw, sample_weight, gradients, hessians):
    for i in prange(y.shape[0]):
        _multinomial_row(i, y, raw, sample_weight, gradients, hessians)


@njit(cache=True)
def _multinomial_serial(y, raw, sample_weight, gradients, hessians):
    for i in range(y.shape[0]):
        _multinomial_row(i, y, raw, sample_weight, gradients, hessians)


def binomial_gradients(
    y: np.ndarray,
    raw: np.ndarray,
    sample_weight: np.ndarray,
    gradients: np.ndarray,
    hessians: np.ndarray,
) -> None:
    """Fill float32 ``gradients``/``hessians`` (n_samples,) in place; y is float64 0/1."""
    kernel = _binomial_parallel if y.shape[0] >= PARALLEL_MIN_SAMPLES else _binomial_serial
    kernel(y, raw, sample_weight, gradients, hessians)


def multinomial_gradients(
    y: np.ndarray,
    raw: np.ndarray,
    sample_weight: np.ndarray,
    gradients: np.ndarray,
    hessians: np.ndarray,
) -> None:
    """Fill float32 ``gradients``/``hessians`` (n_classes, n_samples) in place; raw is (K, n)."""
    kernel = _multinomial_parallel if y.shape[0] >= PARALLEL_MIN_SAMPLES else _multinomial_serial
    kernel(y, raw, sample_weight, gradients, hessians)


@njit(cache=True)
def mean_log_loss(y: np.ndarray, raw: np.ndarray, sample_weight: np.ndarray) -> float:
    """Weighted mean log-loss; raw is (1, n) for binary, (K, n) for multiclass."""
    total = 0.0
    weight = 0.0
    n_outputs = raw.shape[0]
    for i in range(y.shape[0]):
        if n_outputs == 1:
            f = raw[0, i]
            # log(1 + e^f) computed without overflow.
            loss = (f if f > 0 else 0.0) + np.log1p(np.exp(-abs(f))) - y[i] * f
        else:
            top = raw[0, i]
            for k in range(1, n_outputs):
                top = max(top, raw[k, i])
            s = 0.0
            for k in range(n_outputs):
                s += np.exp(raw[k, i] - top)
            loss = top + np.log(s) - raw[int(y[i]), i]
        total += sample_weight[i] * loss
        weight += sample_weight[i]
    return total / weight


def baseline_raw(y: np.ndarray, sample_weight: np.ndarray, n_classes: int) -> np.ndarray:
    """Raw score of the best constant model: the logit / centred log of class priors."""
    if n_classes == 2:
        eps = 10 * np.finfo(np.float64).eps
        p = np.clip(np.average(y, weights=sample_weight), eps, 1 - eps)
        return np.array([np.log(p / (1 - p))])
    eps = np.finfo(np.float64).eps
    priors = np.array([np.average(y == k, weights=sample_weight) for k in range(n_classes)])
    log_priors = np.log(np.clip(priors, eps, 1 - eps))
    return log_priors - log_priors.mean()
