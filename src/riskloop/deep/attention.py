"""Multi-head self-attention, written out (no ``nn.MultiheadAttention``, no
``scaled_dot_product_attention``): the four projections, the scaled dot products, the softmax,
dropout on the attention weights, and the output projection. Proven equal to PyTorch's own
implementations with copied weights, forward and gradients (tests/deep/test_attention.py).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class MultiHeadSelfAttention(nn.Module):
    """Self-attention of a sequence of tokens with ``n_heads`` heads.

    Parameters
    ----------
    d_token : int
        Width of each token; split into ``n_heads`` heads of width ``d_token // n_heads``.
    n_heads : int
        Number of heads: independent attention maps, each over its own slice of the width.
    dropout : float
        Probability of zeroing an attention weight during training (after the softmax).
    """

    def __init__(self, d_token: int, n_heads: int, dropout: float = 0.0):
        super().__init__()
        if d_token % n_heads:
            raise ValueError(f"d_token={d_token} is not divisible by n_heads={n_heads}")
        self.n_heads = n_heads
        self.W_q = nn.Linear(d_token, d_token)
        self.W_k = nn.Linear(d_token, d_token)
        self.W_v = nn.Linear(d_token, d_token)
        self.W_out = nn.Linear(d_token, d_token)
        self.dropout = nn.Dropout(dropout)

    def _split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, tokens, d) → (batch, heads, tokens, d / heads)."""
        batch, tokens, width = x.shape
        return x.reshape(batch, tokens, self.n_heads, width // self.n_heads).transpose(1, 2)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Attend every token to every token.

        Returns
        -------
        output : Tensor (batch, tokens, d)
        weights : Tensor (batch, heads, tokens, tokens)
            The softmax weights before dropout: row i says how token i mixes the others.
        """
        q = self._split_heads(self.W_q(x))
        k = self._split_heads(self.W_k(x))
        v = self._split_heads(self.W_v(x))
        # Dividing by √(d/h) keeps the scores' variance near 1 whatever the head width, so the
        # softmax does not saturate at initialisation.
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        weights = torch.softmax(scores, dim=-1)
        mixed = self.dropout(weights) @ v
        batch, _, tokens, _ = mixed.shape
        mixed = mixed.transpose(1, 2).reshape(batch, tokens, -1)
        return self.W_out(mixed), weights
