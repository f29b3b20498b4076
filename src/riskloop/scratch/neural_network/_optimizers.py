"""Stochastic optimizers that update one flat parameter vector in place.

All weights and biases of the network live in one contiguous vector (the layers are views
into it), and so do their gradients. A step is therefore one fused Numba loop over that
vector instead of a dozen NumPy temporaries per layer, which matters because a mini-batch
step on a small network is dominated by per-call overhead, not arithmetic.

Adam (Kingma & Ba, 2014), step ``t`` with gradient ``g``::

    m <- beta_1 m + (1 - beta_1) g
    v <- beta_2 v + (1 - beta_2) g^2
    lr_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
    w <- w - lr_t * m / (sqrt(v) + epsilon)

SGD with momentum ``mu`` (Nesterov's variant when ``nesterov``)::

    u <- mu u - lr g
    w <- w + (mu u - lr g   if nesterov   else   u)
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _adam_step(params, grads, m, v, step_size, beta_1, beta_2, epsilon):  # pragma: no cover
    for i in range(params.shape[0]):
        g = grads[i]
        m[i] = beta_1 * m[i] + (1.0 - beta_1) * g
        v[i] = beta_2 * v[i] + (1.0 - beta_2) * g * g
        params[i] -= step_size * m[i] / (np.sqrt(v[i]) + epsilon)


@njit(cache=True)
def _momentum_step(params, grads, velocity, learning_rate, momentum, nesterov):  # pragma: no cover
    for i in range(params.shape[0]):
        u = momentum * velocity[i] - learning_rate * grads[i]
        velocity[i] = u
        if nesterov:
            params[i] += momentum * u - learning_rate * grads[i]
        else:
            params[i] += u


class AdamOptimizer:
    """Adam on a flat parameter vector.

    Parameters
    ----------
    n_params : int
        Length of the parameter vector.
    dtype : numpy dtype
        Dtype of the parameters (the moment vectors use the same).
    learning_rate_init : float
        Base step size ``lr``.
    beta_1, beta_2 : float
        Decay rates of the first and second moment estimates, in [0, 1).
    epsilon : float
        Added to ``sqrt(v)`` for numerical stability.
    """

    def __init__(self, n_params, dtype, learning_rate_init, beta_1, beta_2, epsilon):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.beta_1 = float(beta_1)
        self.beta_2 = float(beta_2)
        self.epsilon = float(epsilon)
        self.t = 0
        self.m = np.zeros(n_params, dtype=dtype)
        self.v = np.zeros(n_params, dtype=dtype)

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Move ``params`` (in place) against ``grads``."""
        self.t += 1
        # Bias correction folded into the step size, as in the paper's efficient form.
        self.learning_rate = (
            self.learning_rate_init
            * np.sqrt(1.0 - self.beta_2**self.t)
            / (1.0 - self.beta_1**self.t)
        )
        _adam_step(
            params,
            grads,
            self.m,
            self.v,
            self.learning_rate,
            self.beta_1,
            self.beta_2,
            self.epsilon,
        )

    def epoch_ends(self, n_seen: int) -> None:
        """Adam keeps its step size across epochs."""

    def on_plateau(self) -> bool:
        """Return True: stop training when the loss stops improving."""
        return True


class SGDOptimizer:
    """Mini-batch SGD with (Nesterov) momentum and a learning-rate schedule.

    Parameters
    ----------
    n_params : int
        Length of the parameter vector.
    dtype : numpy dtype
        Dtype of the parameters.
    learning_rate_init : float
        Initial step size.
    schedule : {"constant", "invscaling", "adaptive"}
        ``"constant"`` keeps the step; ``"invscaling"`` sets it to
        ``learning_rate_init / (n_seen + 1) ** power_t`` after each epoch; ``"adaptive"``
        divides it by 5 on each plateau and stops once it falls below 1e-6.
    momentum : float
        Momentum ``mu`` in [0, 1].
    nesterov : bool
        Use Nesterov's momentum.
    power_t : float
        Exponent of the ``"invscaling"`` schedule.
    """

    def __init__(self, n_params, dtype, learning_rate_init, schedule, momentum, nesterov, power_t):
        self.learning_rate_init = float(learning_rate_init)
        self.learning_rate = self.learning_rate_init
        self.schedule = schedule
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self.power_t = float(power_t)
        self.velocity = np.zeros(n_params, dtype=dtype)

    def step(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Move ``params`` (in place) against ``grads``."""
        _momentum_step(
            params, grads, self.velocity, self.learning_rate, self.momentum, self.nesterov
        )

    def epoch_ends(self, n_seen: int) -> None:
        """Apply the ``"invscaling"`` schedule after ``n_seen`` training rows in total."""
        if self.schedule == "invscaling":
            self.learning_rate = self.learning_rate_init / (n_seen + 1) ** self.power_t

    def on_plateau(self) -> bool:
        """Return True to stop; under ``"adaptive"`` shrink the step and go on instead."""
        if self.schedule != "adaptive" or self.learning_rate <= 1e-6:
            return True
        self.learning_rate /= 5.0
        return False
