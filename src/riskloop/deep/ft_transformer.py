"""The FT-Transformer (Gorishniy et al., NeurIPS 2021) as a PyTorch module.

Feature tokenizer → L pre-norm transformer blocks → a head on the [CLS] token; the same
network, stage by stage, as the NumPy forward pass in
:mod:`riskloop.scratch.ft_transformer`, whose docstring gives the equations. Attention comes
from :class:`riskloop.deep.attention.MultiHeadSelfAttention`, written out by hand.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from riskloop.deep.attention import MultiHeadSelfAttention
from riskloop.scratch.ft_transformer import FTTransformerNetwork, Layout


def _uniform_(tensor: torch.Tensor, d_token: int) -> None:
    # The paper's initialisation of tokenizer parameters: U(-1/√d, 1/√d).
    bound = 1.0 / math.sqrt(d_token)
    nn.init.uniform_(tensor, -bound, bound)


class FeatureTokenizer(nn.Module):
    """One d-wide token per feature, plus a learned [CLS] token first.

    A numeric feature's token is ``x_j · W_j + b_j``; a categorical feature's is
    ``E_j[level] + b_j``, taken from its one-hot block as ``onehot @ E_j`` (an all-zero block,
    a missing or unseen level, leaves only ``b_j``).
    """

    def __init__(self, layout: Layout, d_token: int):
        super().__init__()
        self.layout = layout
        self.numeric_weight = nn.Parameter(torch.empty(layout.n_numeric, d_token))
        self.numeric_bias = nn.Parameter(torch.empty(layout.n_numeric, d_token))
        n_levels, n_categorical = sum(layout.category_sizes), len(layout.category_sizes)
        self.category_embeddings = nn.Parameter(torch.empty(n_levels, d_token))
        self.category_bias = nn.Parameter(torch.empty(n_categorical, d_token))
        self.cls = nn.Parameter(torch.empty(1, d_token))
        for parameter in self.parameters():
            _uniform_(parameter, d_token)
        # membership[l, j] = 1 when one-hot column l belongs to categorical feature j: all
        # categorical tokens come from one einsum instead of a loop over features.
        feature_of_level = np.repeat(np.arange(n_categorical), layout.category_sizes)
        membership = np.zeros((n_levels, n_categorical))
        membership[np.arange(n_levels), feature_of_level] = 1.0
        self.register_buffer("membership", torch.as_tensor(membership, dtype=torch.float32))

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        n_numeric = self.layout.n_numeric
        numeric = X[:, :n_numeric, None] * self.numeric_weight + self.numeric_bias
        one_hot = X[:, n_numeric:]
        categorical = (
            torch.einsum("nl,lj,ld->njd", one_hot, self.membership, self.category_embeddings)
            + self.category_bias
        )
        return torch.cat([self.cls.expand(len(X), 1, -1), numeric, categorical], dim=1)


class ReGLUFeedForward(nn.Module):
    """``(a ⊙ relu(g)) W_2`` with ``[a, g] = x W_1``: the paper's feed-forward sublayer."""

    def __init__(self, d_token: int, d_hidden: int, dropout: float):
        super().__init__()
        self.linear_first = nn.Linear(d_token, 2 * d_hidden)
        self.dropout = nn.Dropout(dropout)
        self.linear_second = nn.Linear(d_hidden, d_token)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.linear_first(x).chunk(2, dim=-1)
        return self.linear_second(self.dropout(value * torch.relu(gate)))


class TransformerBlock(nn.Module):
    """Pre-norm residual block: ``x + MHSA(LN(x))`` then ``x + FFN(LN(x))``.

    The first block of the network takes the tokenizer's output unnormalised
    (``first=True``), as in the paper's default configuration.
    """

    def __init__(
        self,
        d_token: int,
        n_heads: int,
        d_hidden: int,
        attention_dropout: float,
        ffn_dropout: float,
        residual_dropout: float,
        first: bool,
    ):
        super().__init__()
        self.attention_norm = None if first else nn.LayerNorm(d_token)
        self.attention = MultiHeadSelfAttention(d_token, n_heads, attention_dropout)
        self.ffn_norm = nn.LayerNorm(d_token)
        self.ffn = ReGLUFeedForward(d_token, d_hidden, ffn_dropout)
        self.residual_dropout = nn.Dropout(residual_dropout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        normed = x if self.attention_norm is None else self.attention_norm(x)
        attended, weights = self.attention(normed)
        x = x + self.residual_dropout(attended)
        x = x + self.residual_dropout(self.ffn(self.ffn_norm(x)))
        return x, weights


class Head(nn.Module):
    """The logit of the risky outcome from the [CLS] token: ``relu(LN(x_cls)) · w + c``."""

    def __init__(self, d_token: int):
        super().__init__()
        self.norm = nn.LayerNorm(d_token)
        self.linear = nn.Linear(d_token, 1)

    def forward(self, cls: torch.Tensor) -> torch.Tensor:
        return self.linear(torch.relu(self.norm(cls))).squeeze(-1)


class FTTransformer(nn.Module):
    """Feature tokenizer, ``n_blocks`` transformer blocks and a [CLS] head.

    Parameters
    ----------
    layout : Layout
        Numeric columns and categorical one-hot blocks of the input matrix.
    d_token : int
        Token width (the paper's default is 192).
    n_blocks : int
        Transformer blocks (default 3).
    n_heads : int
        Attention heads per block (default 8).
    ffn_factor : float
        Hidden width of the feed-forward sublayer as a multiple of ``d_token`` (4/3).
    attention_dropout, ffn_dropout, residual_dropout : float
        Dropout rates (defaults 0.2, 0.1, 0.0).
    """

    def __init__(
        self,
        layout: Layout,
        d_token: int = 192,
        n_blocks: int = 3,
        n_heads: int = 8,
        ffn_factor: float = 4 / 3,
        attention_dropout: float = 0.2,
        ffn_dropout: float = 0.1,
        residual_dropout: float = 0.0,
    ):
        super().__init__()
        self.layout = layout
        self.n_heads = n_heads
        self.tokenizer = FeatureTokenizer(layout, d_token)
        d_hidden = max(1, int(d_token * ffn_factor))
        self.blocks = nn.ModuleList(
            TransformerBlock(
                d_token,
                n_heads,
                d_hidden,
                attention_dropout,
                ffn_dropout,
                residual_dropout,
                first=index == 0,
            )
            for index in range(n_blocks)
        )
        self.head = Head(d_token)

    def forward(
        self, X: torch.Tensor, return_attention: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        x = self.tokenizer(X)
        maps = []
        for block in self.blocks:
            x, weights = block(x)
            maps.append(weights)
        logits = self.head(x[:, 0])
        return (logits, maps) if return_attention else logits

    def no_weight_decay(self) -> set[str]:
        """Parameters AdamW leaves undecayed, as in the paper: norms, biases, embeddings."""
        names = set()
        for name, _ in self.named_parameters():
            if name.startswith("tokenizer.") or name.endswith(".bias") or "norm" in name:
                names.add(name)
        return names

    def export(self) -> FTTransformerNetwork:
        """The same network as float64 arrays for NumPy serving."""
        weights = {
            name: tensor.detach().to(torch.float64).cpu().numpy().copy()
            for name, tensor in self.named_parameters()
        }
        return FTTransformerNetwork(self.layout, self.n_heads, weights)
