"""The FT-Transformer's forward pass in NumPy: how a trained network scores without PyTorch.

Training happens in PyTorch (:mod:`riskloop.deep`); its weights are exported here as plain
arrays, and serving runs this file alone. Reading it top to bottom is reading the model
(Gorishniy et al., "Revisiting Deep Learning Models for Tabular Data", NeurIPS 2021):

1. **Feature tokenizer.** Numeric feature j becomes the token ``x_j · W_j + b_j`` (a learned
   direction scaled by the value); categorical feature j becomes ``E_j[level] + b_j`` (an
   embedding per category; an unseen or missing level has only the bias). A learned ``[CLS]``
   token is put first, so a row is a sequence of ``1 + n_features`` tokens of width d.
2. **Transformer blocks** (pre-norm residual): ``x ← x + MHSA(LN(x))`` then
   ``x ← x + FFN(LN(x))``; the first block has no normalisation before its attention, as in
   the paper. Multi-head self-attention with h heads of width d/h::

       Q = x W_q,  K = x W_k,  V = x W_v          (split into h heads)
       A = softmax(Q Kᵀ / √(d/h))                 (one t × t map per head, rows sum to 1)
       MHSA(x) = concat_h(A V) W_o

   The feed-forward sublayer is ReGLU: ``(a ⊙ relu(g)) W_2`` with ``[a, g] = x W_1``.
3. **Head.** ``p = σ(relu(LN(x_[CLS])) · w + c)``: only the [CLS] token's final state is read,
   so the [CLS] row of the attention maps says which features the model looked at.

Every array is float64, so this forward pass equals PyTorch's in float64 to ~1e-12 (tested).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

# LayerNorm's epsilon, as torch.nn.LayerNorm's default
_EPS = 1e-5


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Normalise the last axis to zero mean and unit variance, then scale and shift."""
    mean = x.mean(axis=-1, keepdims=True)
    variance = x.var(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + _EPS) * weight + bias


def softmax(scores: np.ndarray) -> np.ndarray:
    """Softmax over the last axis (shifted by the row maximum, so exp never overflows)."""
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class Layout:
    """Which columns of the model matrix are numeric and which form one categorical feature.

    The matrix is the preprocessor's: ``n_numeric`` standardised numbers first, then one block
    of one-hot indicators per categorical feature, of sizes ``category_sizes``.
    """

    n_numeric: int
    category_sizes: tuple[int, ...] = ()

    @property
    def n_columns(self) -> int:
        return self.n_numeric + sum(self.category_sizes)

    @property
    def n_features(self) -> int:
        return self.n_numeric + len(self.category_sizes)


class FTTransformerNetwork:
    """A trained FT-Transformer as arrays: ``predict_proba`` and the attention maps.

    Parameters
    ----------
    layout : Layout
        Numeric columns and categorical blocks of the input matrix.
    n_heads : int
        Attention heads per block; the token width must be divisible by it.
    weights : dict of str to ndarray
        The network's parameters under PyTorch's ``state_dict`` names (see
        :meth:`riskloop.deep.FTTransformer.export_weights`).
    """

    def __init__(self, layout: Layout, n_heads: int, weights: dict[str, np.ndarray]):
        self.layout = layout
        self.n_heads = n_heads
        self.weights = {k: np.asarray(v, dtype=np.float64) for k, v in weights.items()}
        self.n_blocks = sum(1 for k in self.weights if k.endswith(".attention.W_q.weight"))
        self.classes_ = np.array([0, 1])
        self._embedding_offsets = np.cumsum((0, *layout.category_sizes))

    # ---- the three stages of the module docstring
    def tokens(self, X: np.ndarray) -> np.ndarray:
        """(n, 1 + n_features, d): the [CLS] token, then one token per feature."""
        w = self.weights
        X = np.asarray(X, dtype=np.float64)
        n_numeric = self.layout.n_numeric
        numeric = (
            X[:, :n_numeric, None] * w["tokenizer.numeric_weight"] + w["tokenizer.numeric_bias"]
        )
        parts = [np.broadcast_to(w["tokenizer.cls"], (len(X), 1, w["tokenizer.cls"].shape[-1]))]
        parts.append(numeric)
        if self.layout.category_sizes:
            table, bias = w["tokenizer.category_embeddings"], w["tokenizer.category_bias"]
            for j, (start, stop) in enumerate(
                zip(self._embedding_offsets[:-1], self._embedding_offsets[1:], strict=True)
            ):
                one_hot = X[:, n_numeric + start : n_numeric + stop]
                parts.append((one_hot @ table[start:stop] + bias[j])[:, None, :])
        return np.concatenate(parts, axis=1)

    def attention(self, block: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Multi-head self-attention of ``block`` on tokens ``x``: (output, maps (n, h, t, t))."""
        prefix = f"blocks.{block}.attention."
        n, t, d = x.shape
        h = self.n_heads
        d_head = d // h

        def heads(name: str) -> np.ndarray:
            projected = self._linear(prefix + name, x)
            return projected.reshape(n, t, h, d_head).transpose(0, 2, 1, 3)

        q, k, v = heads("W_q"), heads("W_k"), heads("W_v")
        maps = softmax(q @ k.transpose(0, 1, 3, 2) / math.sqrt(d_head))
        mixed = (maps @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
        return self._linear(prefix + "W_out", mixed), maps

    def block(self, index: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One pre-norm residual block: (new residual stream, its attention maps)."""
        prefix = f"blocks.{index}."
        normed = x
        if prefix + "attention_norm.weight" in self.weights:  # the first block has none
            normed = self._layer_norm(prefix + "attention_norm", x)
        attended, maps = self.attention(index, normed)
        x = x + attended
        hidden = self._linear(prefix + "ffn.linear_first", self._layer_norm(prefix + "ffn_norm", x))
        value, gate = np.split(hidden, 2, axis=-1)
        return x + self._linear(prefix + "ffn.linear_second", value * np.maximum(gate, 0.0)), maps

    def head(self, x: np.ndarray) -> np.ndarray:
        """The logit of the risky outcome from the [CLS] token's final state."""
        cls = np.maximum(self._layer_norm("head.norm", x[:, 0]), 0.0)
        return self._linear("head.linear", cls)[:, 0]

    def _linear(self, name: str, x: np.ndarray) -> np.ndarray:
        return x @ self.weights[name + ".weight"].T + self.weights[name + ".bias"]

    def _layer_norm(self, name: str, x: np.ndarray) -> np.ndarray:
        return layer_norm(x, self.weights[name + ".weight"], self.weights[name + ".bias"])

    def forward(self, X: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """Logits (n,) and the attention maps of every block (each (n, h, t, t))."""
        x = self.tokens(X)
        maps = []
        for index in range(self.n_blocks):
            x, block_maps = self.block(index, x)
            maps.append(block_maps)
        return self.head(x), maps

    # ---- the estimator contract the scorer uses
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        logits, _ = self.forward(X)
        p = 1.0 / (1.0 + np.exp(-logits))
        return np.column_stack([1.0 - p, p])

    def cls_attention(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """How the [CLS] token attends to the feature tokens, per row (n, n_features).

        ``last_layer``: the last block's [CLS] row averaged over heads. ``rollout``: attention
        rollout (Abnar & Zuidema, 2020) — each block's head-averaged map mixed with the
        identity for the residual path, ``Ã = (A + I) / 2``, multiplied through the blocks,
        read at the [CLS] row. Both leave out [CLS]-to-[CLS] and are renormalised over the
        features. Attention says where the model looked, not how much a feature moved the
        score (that is SHAP's question): the two can disagree (docs/explanations.md).
        """
        _, maps = self.forward(X)
        averaged = [m.mean(axis=1) for m in maps]  # (n, t, t) per block
        t = averaged[0].shape[-1]
        rollout = np.broadcast_to(np.eye(t), averaged[0].shape).copy()
        for a in averaged:
            rollout = (0.5 * (a + np.eye(t))) @ rollout
        result = {}
        for name, matrix in (("last_layer", averaged[-1]), ("rollout", rollout)):
            features = matrix[:, 0, 1:]
            result[name] = features / features.sum(axis=1, keepdims=True)
        return result

    # ---- storage: arrays in .npz, settings in JSON (no pickle)
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        np.savez(directory / "weights.npz", allow_pickle=False, **self.weights)
        settings = {
            "n_numeric": self.layout.n_numeric,
            "category_sizes": list(self.layout.category_sizes),
            "n_heads": self.n_heads,
        }
        (directory / "network.json").write_text(json.dumps(settings, indent=1))

    @classmethod
    def load(cls, directory: Path) -> FTTransformerNetwork:
        settings: dict[str, Any] = json.loads((directory / "network.json").read_text())
        with np.load(directory / "weights.npz", allow_pickle=False) as arrays:
            weights = {name: arrays[name] for name in arrays.files}
        layout = Layout(
            int(settings["n_numeric"]), tuple(int(s) for s in settings["category_sizes"])
        )
        return cls(layout, int(settings["n_heads"]), weights)
