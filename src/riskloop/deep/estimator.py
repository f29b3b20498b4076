"""Training the FT-Transformer: our own loop behind the scikit-learn estimator contract.

* **AdamW** with weight decay on the weight matrices only — norms, biases and the tokenizer's
  embeddings are not decayed, as in the paper.
* **Early stopping** on a stratified validation share of the training rows: the weights of the
  best validation loss are kept.
* **Deterministic**: the seed fixes the initialisation, the validation split, the batch order
  and dropout; deterministic kernels on one thread — the same data and seed give the same
  weights, bit for bit.
* **Two losses.** ``log_loss`` is the plain binary cross-entropy. ``cost_sensitive`` weighs
  each row by what a wrong decision on it costs the lender: a bad row by the loss given
  default of its exposure (the cost of approving it), a good row by the margin it would have
  earned (the cost of declining it) — the weights come from the scenario's cost model as
  ``sample_weight`` (:func:`riskloop.evaluation.business.decision_costs`). Minimising that
  weighted log-loss fits the probability the profit-maximising threshold needs, so selection
  compares the two losses by validation profit like any other hyper-parameter.

After ``fit`` the network is exported to NumPy and ``predict_proba`` runs that export: what the
pipeline evaluates is exactly what serving computes.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from riskloop.deep.ft_transformer import FTTransformer
from riskloop.scratch.ft_transformer import FTTransformerNetwork, Layout

LOSSES = ("log_loss", "cost_sensitive")


class FTTransformerClassifier(ClassifierMixin, BaseEstimator):
    """FT-Transformer for binary classification, trained with PyTorch on the CPU (or a GPU
    when one is present and ``device="auto"``).

    Parameters
    ----------
    n_numeric : int or None
        How many leading columns are numeric; the rest are one-hot blocks of
        ``category_sizes``. None (default): every column is a numeric feature.
    category_sizes : tuple of int
        Sizes of the categorical one-hot blocks after the numeric columns. Default ().
    d_token, n_blocks, n_heads, ffn_factor : int, int, int, float
        Architecture (defaults 64, 2, 4, 4/3; the paper's 192, 3, 8 cost ~9 × more here).
    attention_dropout, ffn_dropout, residual_dropout : float
        Dropout rates (defaults 0.2, 0.1, 0.0 as in the paper).
    learning_rate : float
        AdamW step size (default 1e-3).
    weight_decay : float
        AdamW decoupled weight decay of the weight matrices (default 1e-5).
    batch_size : int
        Rows per step (default 256).
    max_epochs : int
        Upper bound on passes over the training rows (default 60).
    patience : int
        Stop after this many epochs without a better validation loss (default 8).
    validation_fraction : float
        Share of the training rows held out for early stopping (default 0.15).
    loss : {"log_loss", "cost_sensitive"}
        Plain or cost-weighted cross-entropy; ``cost_sensitive`` needs ``sample_weight``.
    device : {"auto", "cpu"}
        ``auto`` (default) trains on a GPU when PyTorch sees one, else on the CPU; the result is
        served on the CPU either way. ``cpu`` never uses a GPU.
    random_state : int
        Seed of everything random in ``fit`` (default 0).
    """

    def __init__(
        self,
        n_numeric: int | None = None,
        category_sizes: tuple[int, ...] = (),
        d_token: int = 64,
        n_blocks: int = 2,
        n_heads: int = 4,
        ffn_factor: float = 4 / 3,
        attention_dropout: float = 0.2,
        ffn_dropout: float = 0.1,
        residual_dropout: float = 0.0,
        learning_rate: float = 1e-3,
        weight_decay: float = 1e-5,
        batch_size: int = 256,
        max_epochs: int = 60,
        patience: int = 8,
        validation_fraction: float = 0.15,
        loss: str = "log_loss",
        device: str = "auto",
        random_state: int = 0,
    ):
        self.n_numeric = n_numeric
        self.category_sizes = category_sizes
        self.d_token = d_token
        self.n_blocks = n_blocks
        self.n_heads = n_heads
        self.ffn_factor = ffn_factor
        self.attention_dropout = attention_dropout
        self.ffn_dropout = ffn_dropout
        self.residual_dropout = residual_dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.loss = loss
        self.device = device
        self.random_state = random_state

    # ---- fit
    def _layout(self, n_columns: int) -> Layout:
        n_numeric = n_columns if self.n_numeric is None else int(self.n_numeric)
        layout = Layout(n_numeric, tuple(int(s) for s in self.category_sizes))
        if layout.n_columns != n_columns:
            raise ValueError(
                f"n_numeric={self.n_numeric} and category_sizes={tuple(self.category_sizes)}"
                f" describe {layout.n_columns} columns but X has {n_columns}"
            )
        return layout

    def _check_parameters(self, y: np.ndarray, sample_weight: np.ndarray | None) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"loss={self.loss!r} is not one of {LOSSES}")
        if self.loss == "cost_sensitive" and sample_weight is None:
            raise ValueError(
                "loss='cost_sensitive' needs sample_weight: each row's cost of a wrong decision"
                " (riskloop.evaluation.business.decision_costs)"
            )
        if sample_weight is not None and (
            len(sample_weight) != len(y) or not np.all(np.isfinite(sample_weight))
        ):
            raise ValueError("sample_weight must be finite, one per row")
        if self.d_token % self.n_heads:
            raise ValueError(f"d_token={self.d_token} is not divisible by n_heads={self.n_heads}")
        if not 0.0 < self.validation_fraction < 0.5:
            raise ValueError(f"validation_fraction={self.validation_fraction} is not in (0, 0.5)")

    def _split(self, y: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Stratified early-stopping split: the same share of each class held out."""
        held = []
        for label in (0, 1):
            rows = np.flatnonzero(y == label)
            n_held = max(1, int(round(self.validation_fraction * len(rows))))
            held.append(rng.permutation(rows)[:n_held])
        validation = np.sort(np.concatenate(held))
        return np.setdiff1d(np.arange(len(y)), validation), validation

    def fit(
        self, X: Any, y: Any, sample_weight: np.ndarray | None = None
    ) -> FTTransformerClassifier:
        X, y = validate_data(self, X, y, dtype=np.float64)
        self.classes_, y_index = np.unique(y, return_inverse=True)
        if len(self.classes_) != 2:
            raise ValueError(f"binary classification only; y has classes {self.classes_}")
        weights = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        self._check_parameters(y_index, weights)
        if self.loss == "log_loss":
            weights = None
        elif weights is not None:
            weights = weights / weights.mean()  # the learning rate keeps its meaning
        layout = self._layout(X.shape[1])

        rng = np.random.default_rng(self.random_state)
        train, validation = self._split(y_index, rng)
        device = torch.device(
            "cuda" if self.device == "auto" and torch.cuda.is_available() else "cpu"
        )
        with _deterministic(self.random_state):
            network = FTTransformer(
                layout,
                self.d_token,
                self.n_blocks,
                self.n_heads,
                self.ffn_factor,
                self.attention_dropout,
                self.ffn_dropout,
                self.residual_dropout,
            ).to(device)
            self.history_ = _train(
                network, X, y_index, weights, train, validation, rng, device, self
            )
        self.network_: FTTransformerNetwork = network.cpu().export()
        self.n_epochs_ = len(self.history_["validation_loss"])
        return self

    # ---- predict: the NumPy export, exactly what serving runs
    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return self.network_.predict_proba(X)

    def predict(self, X: Any) -> np.ndarray:
        return self.classes_[(self.predict_proba(X)[:, 1] >= 0.5).astype(int)]


@contextmanager
def _deterministic(seed: int) -> Iterator[None]:
    """Seeded, single-threaded, deterministic torch for the duration of a fit; the caller's
    global settings are restored afterwards."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    rng_state = torch.get_rng_state()
    torch.set_num_threads(1)
    # warn_only: a CUDA kernel without a deterministic version warns instead of failing
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.set_rng_state(rng_state)


def _weighted_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None
) -> torch.Tensor:
    losses = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction="none")
    return losses.mean() if weight is None else (losses * weight).sum() / weight.sum()


def _train(
    network: FTTransformer,
    X: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray | None,
    train: np.ndarray,
    validation: np.ndarray,
    rng: np.random.Generator,
    device: torch.device,
    params: FTTransformerClassifier,
) -> dict[str, list[float]]:
    """Mini-batch AdamW with early stopping; leaves ``network`` at its best validation loss."""
    undecayed = network.no_weight_decay()
    groups: list[dict[str, Any]] = [
        {"params": [p for n, p in network.named_parameters() if n not in undecayed]},
        {
            "params": [p for n, p in network.named_parameters() if n in undecayed],
            "weight_decay": 0.0,
        },
    ]
    optimizer = torch.optim.AdamW(groups, lr=params.learning_rate, weight_decay=params.weight_decay)
    features = torch.as_tensor(X, dtype=torch.float32, device=device)
    target = torch.as_tensor(y, dtype=torch.float32, device=device)
    weight = (
        None if weights is None else torch.as_tensor(weights, dtype=torch.float32, device=device)
    )
    valid_index = torch.as_tensor(validation, device=device)

    best_loss, best_state, stale = float("inf"), None, 0
    history: dict[str, list[float]] = {"train_loss": [], "validation_loss": []}
    for _ in range(params.max_epochs):
        network.train()
        order = rng.permutation(train)
        total = 0.0
        for start in range(0, len(order), params.batch_size):
            rows = torch.as_tensor(order[start : start + params.batch_size], device=device)
            optimizer.zero_grad()
            batch_weight = None if weight is None else weight[rows]
            loss = _weighted_loss(network(features[rows]), target[rows], batch_weight)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        network.eval()
        with torch.no_grad():
            valid_weight = None if weight is None else weight[valid_index]
            valid_loss = float(
                _weighted_loss(network(features[valid_index]), target[valid_index], valid_weight)
            )
        history["train_loss"].append(total / len(train))
        history["validation_loss"].append(valid_loss)
        if valid_loss < best_loss - 1e-6:
            best_loss, best_state, stale = valid_loss, copy.deepcopy(network.state_dict()), 0
        else:
            stale += 1
            if stale >= params.patience:
                break
    if best_state is not None:
        network.load_state_dict(best_state)
    network.eval()
    return history
