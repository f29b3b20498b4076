"""Dense layers, activations and the log-loss: forward pass and hand-written backpropagation.

Everything here works in place on buffers the caller owns, so one training step allocates
(almost) nothing: the hot work is the matrix products, done by BLAS through ``np.matmul``.

Notation (one mini-batch of ``n`` rows, layers ``l = 0 .. L-1``)::

    A_0 = X
    Z_{l+1} = A_l W_l + b_l               dense layer
    A_{l+1} = f(Z_{l+1})                  hidden activation f, or the output link g for l = L-1

    loss = sum_i s_i * CE(y_i, A_L[i]) / S  +  alpha / (2 S) * sum_l ||W_l||^2,   S = sum_i s_i

    D_L    = s * (A_L - Y)                canonical link: d CE / d Z_L for sigmoid or softmax
    dW_l   = (A_l^T D_{l+1} + alpha W_l) / S
    db_l   = sum_rows(D_{l+1}) / S
    D_l    = (D_{l+1} W_l^T) * f'(Z_l)    f' written in terms of A_l = f(Z_l)

``S`` is the number of rows when there are no sample weights, which gives scikit-learn's
scaling of the L2 term: ``alpha / 2 * ||W||^2 / n_samples`` per batch.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

HIDDEN_ACTIVATIONS = ("identity", "logistic", "tanh", "relu")


def _identity(Z: np.ndarray) -> None:
    pass


def _logistic(Z: np.ndarray) -> None:
    # 1 / (1 + exp(-z)); exp overflows to inf for very negative z, which correctly gives 0.
    with np.errstate(over="ignore"):
        np.negative(Z, out=Z)
        np.exp(Z, out=Z)
    Z += 1.0
    np.reciprocal(Z, out=Z)


def _tanh(Z: np.ndarray) -> None:
    np.tanh(Z, out=Z)


def _relu(Z: np.ndarray) -> None:
    np.maximum(Z, 0.0, out=Z)


def _softmax(Z: np.ndarray) -> None:
    # Subtracting the row maximum keeps exp() finite without changing the result.
    Z -= Z.max(axis=1, keepdims=True)
    np.exp(Z, out=Z)
    Z /= Z.sum(axis=1, keepdims=True)


ACTIVATIONS: dict[str, Callable[[np.ndarray], None]] = {
    "identity": _identity,
    "logistic": _logistic,
    "tanh": _tanh,
    "relu": _relu,
    "softmax": _softmax,
}


def _identity_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    pass


def _logistic_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    delta *= A
    delta *= 1.0 - A


def _tanh_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    delta *= 1.0 - A * A


def _relu_derivative(A: np.ndarray, delta: np.ndarray) -> None:
    # relu'(z) = 1 for z > 0 else 0 (the subgradient 0 at z = 0, as scikit-learn uses).
    np.multiply(delta, A > 0, out=delta)


# f'(Z) expressed through A = f(Z), multiplied into the back-propagated delta in place.
DERIVATIVES: dict[str, Callable[[np.ndarray, np.ndarray], None]] = {
    "identity": _identity_derivative,
    "logistic": _logistic_derivative,
    "tanh": _tanh_derivative,
    "relu": _relu_derivative,
}


def forward(
    X: np.ndarray,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    activation: str,
    out_activation: str,
    activations: list[np.ndarray],
) -> np.ndarray:
    """Run the network on ``X`` and keep every layer's output for backpropagation.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        Input rows.
    coefs, intercepts : list of ndarray
        Layer weights ``W_l`` of shape (fan_in, fan_out) and biases ``b_l`` of shape (fan_out,).
    activation : str
        Hidden activation, one of ``HIDDEN_ACTIVATIONS``.
    out_activation : {"logistic", "softmax"}
        Output link.
    activations : list of ndarray
        ``activations[l]`` receives ``A_{l+1}``; each has at least ``n`` rows (only the first
        ``n`` are used, so buffers sized for the largest batch serve the smaller last one).

    Returns
    -------
    ndarray of shape (n, n_outputs)
        The output ``A_L`` (a view into ``activations[-1]``).
    """
    n = X.shape[0]
    hidden = ACTIVATIONS[activation]
    n_layers = len(coefs)
    A = X
    for layer in range(n_layers):
        out = activations[layer][:n]
        np.matmul(A, coefs[layer], out=out)
        out += intercepts[layer]
        if layer < n_layers - 1:
            hidden(out)
        else:
            ACTIVATIONS[out_activation](out)
        A = out
    return A


def log_loss(y: np.ndarray, proba: np.ndarray, sample_weight: np.ndarray | None = None) -> float:
    """Mean (or weighted mean) cross-entropy of integer labels under predicted probabilities.

    ``proba`` has one column (probability of class 1, sigmoid output) or one column per class
    (softmax output). Probabilities are clipped to ``[eps, 1 - eps]`` of their dtype, as in
    scikit-learn, so a confident mistake costs a large but finite loss.
    """
    eps = np.finfo(proba.dtype).eps
    if proba.shape[1] == 1:
        # Clip p1 before taking the complement, as clipping the two-column matrix would.
        p1 = np.clip(proba[:, 0], eps, 1 - eps)
        p_true = np.where(y == 1, p1, 1.0 - p1)
    else:
        p_true = np.clip(proba[np.arange(proba.shape[0]), y], eps, 1 - eps)
    per_row = -np.log(p_true)
    if sample_weight is None:
        return float(per_row.mean())
    return float(np.dot(per_row, sample_weight) / sample_weight.sum())


def backprop(
    X: np.ndarray,
    y: np.ndarray,
    sample_weight: np.ndarray | None,
    coefs: list[np.ndarray],
    intercepts: list[np.ndarray],
    activation: str,
    out_activation: str,
    alpha: float,
    activations: list[np.ndarray],
    deltas: list[np.ndarray],
    coef_grads: list[np.ndarray],
    intercept_grads: list[np.ndarray],
) -> float:
    """Loss of one batch and, written into ``coef_grads``/``intercept_grads``, its gradient.

    Parameters
    ----------
    X : ndarray of shape (n, n_features)
        The batch.
    y : ndarray of shape (n,), int
        Encoded labels ``0 .. n_classes - 1``.
    sample_weight : ndarray of shape (n,) or None
        Row weights; None means all ones.
    coefs, intercepts : list of ndarray
        Current parameters (read only here).
    activation, out_activation : str
        Hidden activation and output link.
    alpha : float
        L2 strength; the penalty is ``alpha / 2 * sum ||W_l||^2 / S`` (see module docstring).
    activations, deltas : list of ndarray
        Work buffers with at least ``n`` rows, shaped like each layer's output.
    coef_grads, intercept_grads : list of ndarray
        Output buffers shaped like ``coefs``/``intercepts``.

    Returns
    -------
    float
        The regularised loss of the batch.
    """
    n = X.shape[0]
    proba = forward(X, coefs, intercepts, activation, out_activation, activations)
    loss = log_loss(y, proba, sample_weight)
    weight_sum = float(n) if sample_weight is None else float(sample_weight.sum())
    squared_norm = sum(float(np.dot(W.ravel(), W.ravel())) for W in coefs)
    loss += 0.5 * alpha * squared_norm / weight_sum

    last = len(coefs) - 1
    delta = deltas[last][:n]
    delta[...] = proba
    if proba.shape[1] == 1:
        delta[:, 0] -= y
    else:
        delta[np.arange(n), y] -= 1.0
    if sample_weight is not None:
        delta *= sample_weight[:, None]

    derivative = DERIVATIVES[activation]
    for layer in range(last, -1, -1):
        A_in = X if layer == 0 else activations[layer - 1][:n]
        delta = deltas[layer][:n]
        np.matmul(A_in.T, delta, out=coef_grads[layer])
        coef_grads[layer] += alpha * coefs[layer]
        coef_grads[layer] /= weight_sum
        np.sum(delta, axis=0, out=intercept_grads[layer])
        intercept_grads[layer] /= weight_sum
        if layer > 0:
            delta_in = deltas[layer - 1][:n]
            np.matmul(delta, coefs[layer].T, out=delta_in)
            derivative(A_in, delta_in)
    return loss
