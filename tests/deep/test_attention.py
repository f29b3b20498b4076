"""Our written-out attention equals PyTorch's own, with copied weights, in float64."""

from __future__ import annotations

import pytest
import torch

from riskloop.deep.attention import MultiHeadSelfAttention


def _pair(d_token: int, n_heads: int, seed: int = 0):
    torch.manual_seed(seed)
    ours = MultiHeadSelfAttention(d_token, n_heads).double()
    reference = torch.nn.MultiheadAttention(d_token, n_heads, batch_first=True).double()
    with torch.no_grad():
        reference.in_proj_weight.copy_(
            torch.cat([ours.W_q.weight, ours.W_k.weight, ours.W_v.weight])
        )
        reference.in_proj_bias.copy_(torch.cat([ours.W_q.bias, ours.W_k.bias, ours.W_v.bias]))
        reference.out_proj.weight.copy_(ours.W_out.weight)
        reference.out_proj.bias.copy_(ours.W_out.bias)
    return ours, reference


@pytest.mark.parametrize(("d_token", "n_heads"), [(8, 1), (16, 4), (24, 8)])
def test_forward_and_gradients_equal_nn_multihead_attention(d_token, n_heads):
    ours, reference = _pair(d_token, n_heads)
    x = torch.randn(5, 7, d_token, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)

    output, weights = ours(x)
    expected, expected_weights = reference(
        x_ref, x_ref, x_ref, need_weights=True, average_attn_weights=False
    )
    torch.testing.assert_close(output, expected, rtol=0, atol=1e-6)
    torch.testing.assert_close(weights, expected_weights, rtol=0, atol=1e-6)

    upstream = torch.randn_like(output)
    (output * upstream).sum().backward()
    (expected * upstream).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad, rtol=0, atol=1e-6)
    torch.testing.assert_close(
        ours.W_out.weight.grad, reference.out_proj.weight.grad, atol=1e-6, rtol=0
    )
    in_grad = torch.cat([ours.W_q.weight.grad, ours.W_k.weight.grad, ours.W_v.weight.grad])
    torch.testing.assert_close(in_grad, reference.in_proj_weight.grad, rtol=0, atol=1e-6)


def test_per_head_output_equals_scaled_dot_product_attention():
    ours, _ = _pair(16, 4, seed=3)
    x = torch.randn(3, 6, 16, dtype=torch.float64)
    q, k, v = (ours._split_heads(layer(x)) for layer in (ours.W_q, ours.W_k, ours.W_v))
    mixed = torch.nn.functional.scaled_dot_product_attention(q, k, v)
    expected = ours.W_out(mixed.transpose(1, 2).reshape(3, 6, 16))
    torch.testing.assert_close(ours(x)[0], expected, rtol=0, atol=1e-6)


def test_attention_rows_are_distributions():
    ours, _ = _pair(16, 4, seed=1)
    _, weights = ours(torch.randn(4, 9, 16, dtype=torch.float64))
    assert weights.shape == (4, 4, 9, 9)
    assert torch.all(weights >= 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(4, 4, 9, dtype=torch.float64))


def test_gradcheck_small_block():
    ours, _ = _pair(8, 2, seed=2)
    x = torch.randn(2, 4, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: ours(t)[0], (x,), eps=1e-6, atol=1e-5)


def test_width_must_divide_into_heads():
    with pytest.raises(ValueError, match="not divisible"):
        MultiHeadSelfAttention(10, 3)
