"""The FT-Transformer: served in NumPy exactly as PyTorch computes it, able to learn, blind to
column order, and reproducible."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from riskloop.deep.estimator import FTTransformerClassifier
from riskloop.deep.ft_transformer import FTTransformer
from riskloop.scratch.ft_transformer import FTTransformerNetwork, Layout

LAYOUT = Layout(n_numeric=3, category_sizes=(2, 4))


def _rows(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(n, LAYOUT.n_numeric))
    blocks = []
    for size in LAYOUT.category_sizes:
        level = rng.integers(-1, size, size=n)  # -1: missing, an all-zero block
        blocks.append(np.where(level[:, None] == np.arange(size), 1.0, 0.0))
    return np.hstack([numeric, *blocks])


def _network(seed: int = 0) -> FTTransformer:
    torch.manual_seed(seed)
    network = FTTransformer(LAYOUT, d_token=16, n_blocks=3, n_heads=4).double().eval()
    with torch.no_grad():  # move LayerNorms off their identity initialisation
        for name, parameter in network.named_parameters():
            if "norm" in name:
                parameter.add_(0.1 * torch.randn_like(parameter))
    return network


def test_numpy_forward_equals_pytorch():
    network = _network()
    X = _rows(64)
    with torch.no_grad():
        logits, maps = network(torch.as_tensor(X), return_attention=True)
    exported = network.export()
    ours, our_maps = exported.forward(X)
    np.testing.assert_allclose(ours, logits.numpy(), rtol=0, atol=1e-10)
    for block_maps, expected in zip(our_maps, maps, strict=True):
        np.testing.assert_allclose(block_maps, expected.numpy(), rtol=0, atol=1e-10)
    probability = exported.predict_proba(X)[:, 1]
    np.testing.assert_allclose(probability, torch.sigmoid(logits).numpy(), rtol=0, atol=1e-12)


def test_export_round_trips_through_npz_and_json(tmp_path):
    exported = _network(seed=4).export()
    exported.save(tmp_path / "network")
    loaded = FTTransformerNetwork.load(tmp_path / "network")
    X = _rows(20, seed=5)
    np.testing.assert_array_equal(loaded.predict_proba(X), exported.predict_proba(X))
    assert loaded.layout == LAYOUT


def test_missing_category_has_only_its_bias():
    network = _network(seed=1).export()
    X = _rows(1, seed=2)
    X[:, LAYOUT.n_numeric : LAYOUT.n_numeric + 2] = 0.0  # first categorical feature missing
    token = network.tokens(X)[0, 1 + LAYOUT.n_numeric]
    np.testing.assert_allclose(token, network.weights["tokenizer.category_bias"][0])


def test_permuting_features_consistently_leaves_the_output_unchanged():
    """Self-attention is permutation-equivariant and [CLS] reads a weighted sum: no column
    order is built in. Permuting the feature tokens (and their parameters) with them changes
    nothing."""
    network = FTTransformer(Layout(5), d_token=16, n_blocks=2, n_heads=2).double().eval()
    X = np.random.default_rng(0).normal(size=(30, 5))
    permutation = np.array([3, 0, 4, 1, 2])
    permuted = FTTransformer(Layout(5), d_token=16, n_blocks=2, n_heads=2).double().eval()
    state = network.state_dict()
    state["tokenizer.numeric_weight"] = state["tokenizer.numeric_weight"][permutation]
    state["tokenizer.numeric_bias"] = state["tokenizer.numeric_bias"][permutation]
    permuted.load_state_dict(state)
    with torch.no_grad():
        expected = network(torch.as_tensor(X))
        got = permuted(torch.as_tensor(X[:, permutation]))
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-10)


def _separable(n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] * X[:, 2] > 0).astype(int)
    return X, y


def test_overfits_a_tiny_dataset():
    X, y = _separable(64)
    model = FTTransformerClassifier(
        d_token=16,
        n_blocks=1,
        n_heads=2,
        attention_dropout=0.0,
        ffn_dropout=0.0,
        learning_rate=3e-3,
        max_epochs=300,
        patience=300,
        batch_size=16,
        validation_fraction=0.1,
        random_state=0,
    ).fit(X, y)
    assert model.history_["train_loss"][-1] < 0.02
    p = model.predict_proba(X)[:, 1]
    assert np.mean((p >= 0.5) == y) == 1.0


def test_same_seed_same_weights_and_other_seed_other_weights():
    X, y = _separable(150)
    params = dict(d_token=8, n_blocks=1, n_heads=2, max_epochs=4, batch_size=32)
    first = FTTransformerClassifier(**params, random_state=7).fit(X, y)
    second = FTTransformerClassifier(**params, random_state=7).fit(X, y)
    other = FTTransformerClassifier(**params, random_state=8).fit(X, y)
    for name, array in first.network_.weights.items():
        np.testing.assert_array_equal(array, second.network_.weights[name])
    assert not np.array_equal(
        first.network_.weights["tokenizer.cls"], other.network_.weights["tokenizer.cls"]
    )


def test_weight_decay_spares_norms_biases_and_embeddings():
    network = FTTransformer(LAYOUT, d_token=8, n_blocks=2, n_heads=2)
    undecayed = network.no_weight_decay()
    assert "tokenizer.category_embeddings" in undecayed
    assert "blocks.1.attention_norm.weight" in undecayed
    assert "blocks.0.attention.W_q.bias" in undecayed
    assert "blocks.0.attention.W_q.weight" not in undecayed
    assert "head.linear.weight" not in undecayed


def test_cost_sensitive_loss_moves_probabilities_towards_the_costly_class():
    X, y = _separable(300, seed=3)
    X = X + np.random.default_rng(1).normal(scale=1.5, size=X.shape)  # overlap the classes
    params = dict(d_token=8, n_blocks=1, n_heads=2, max_epochs=15, batch_size=32, random_state=0)
    plain = FTTransformerClassifier(**params).fit(X, y)
    costly_bad = np.where(y == 1, 10.0, 1.0)
    weighted = FTTransformerClassifier(**params, loss="cost_sensitive").fit(
        X, y, sample_weight=costly_bad
    )
    assert weighted.predict_proba(X)[:, 1].mean() > plain.predict_proba(X)[:, 1].mean() + 0.1


@pytest.mark.parametrize(
    ("params", "fit_kwargs", "message"),
    [
        ({"loss": "cost_sensitive"}, {}, "needs sample_weight"),
        ({"loss": "hinge"}, {}, "loss='hinge'"),
        ({"d_token": 10, "n_heads": 3}, {}, "not divisible"),
        ({"n_numeric": 2, "category_sizes": (3,)}, {}, "describe 5 columns but X has 4"),
    ],
)
def test_bad_parameters_are_named(params, fit_kwargs, message):
    X, y = _separable(40)
    with pytest.raises(ValueError, match=message):
        FTTransformerClassifier(**params, max_epochs=1).fit(X, y, **fit_kwargs)
