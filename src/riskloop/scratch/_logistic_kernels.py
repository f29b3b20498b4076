"""Numba kernels for the binomial log-loss: one fused pass over the rows.

Given the linear scores ``z = X θ``, a Newton step needs the loss, the
residuals ``s·(p - y)`` (gradient = Xᵀ residual) and the curvature weights
``s·p·(1 - p)`` (Hessian = Xᵀ diag(w) X). NumPy would make ~6 temporaries of
length n for that; one loop makes none and is numerically stable for any z.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _log1p_exp(z: float) -> float:
    # log(1 + e^z) without overflow for large z or loss of precision for small z.
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@njit(cache=True)
def _sigmoid(z: float) -> float:
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@njit(cache=True)
def binomial_loss(z: np.ndarray, y: np.ndarray, weights: np.ndarray) -> float:
    """Σ_i s_i [log(1 + e^{z_i}) - y_i z_i] for float64 z, y, s."""
    total = 0.0
    for i in range(z.shape[0]):
        total += weights[i] * (_log1p_exp(z[i]) - y[i] * z[i])
    return total


@njit(cache=True)
def binomial_loss_gradient_curvature(
    z: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    residual_out: np.ndarray,
    curvature_out: np.ndarray,
) -> float:
    """Loss, and per-row residuals s(p - y) and curvature weights s p (1 - p).

    Writes into ``residual_out`` and ``curvature_out`` (owned by the caller's
    solver, never the user's arrays) and returns the weighted loss.
    """
    total = 0.0
    for i in range(z.shape[0]):
        p = _sigmoid(z[i])
        total += weights[i] * (_log1p_exp(z[i]) - y[i] * z[i])
        residual_out[i] = weights[i] * (p - y[i])
        curvature_out[i] = weights[i] * p * (1.0 - p)
    return total
