"""The FT-Transformer competes in the training pipeline like any other candidate: told the
matrix layout, trained on log-loss and on the cost model's weighted loss, and the two compared
by validation profit."""

from __future__ import annotations

import numpy as np
import pytest

from riskloop.data.schema import infer_input_schema, target_vector
from riskloop.evaluation.business import decision_costs
from riskloop.pipelines.runner import run_in_memory
from riskloop.pipelines.training.pipeline import create_pipeline
from riskloop.pipelines.training.tuning import fit_candidate

NAMES = ["ft_transformer", "ft_transformer_cost_sensitive"]
TINY = {"d_token": 8, "n_blocks": 1, "n_heads": 2, "max_epochs": 3, "random_state": 0}


@pytest.mark.slow
def test_both_losses_are_candidates_compared_by_validation_profit(credit_scenario, credit_splits):
    train, validation, _ = credit_splits
    inputs = {
        "train": train,
        "validation": validation,
        "scenario": credit_scenario,
        "params:model": {"type": "select", "candidates": NAMES},
        "params:tuning": {"folds": 2, "trials": 1, "seed": 42, "n_bootstrap": 20},
        "params:candidates": {name: TINY for name in NAMES},
        "params:search_spaces": {},
        "data_lineage": {"sha256": "test"},
    }
    outputs = run_in_memory(
        create_pipeline(), inputs, ["candidate_comparison", "selected_candidate", "selected_scorer"]
    )
    rows = {row["name"]: row for row in outputs["candidate_comparison"]}
    assert sorted(rows) == sorted(NAMES)
    best = max(rows.values(), key=lambda r: (r["validation_profit"], r["validation_auc"]))
    assert outputs["selected_candidate"] == best["name"]
    network = outputs["selected_scorer"].estimator.network_
    schema = infer_input_schema(train, credit_scenario)
    assert network.layout.n_numeric == len(schema.numeric)
    assert len(network.layout.category_sizes) == len(schema.categorical)


def test_cost_sensitive_fit_uses_each_rows_cost(credit_scenario, credit_splits):
    """The weights reach the loss: scaling them changes nothing (they are normalised), but
    weighting defaults more moves the probabilities up."""
    train, _, _ = credit_splits
    schema = infer_input_schema(train, credit_scenario)
    y = target_vector(train, credit_scenario)
    costs = decision_costs(train, y, credit_scenario)
    assert np.all(costs > 0)

    def mean_probability(weights):
        fitted = fit_candidate("ft_transformer_cost_sensitive", TINY, train, y, schema, weights)
        return fitted.probability(train).mean()

    base = mean_probability(costs)
    assert mean_probability(costs * 7.0) == pytest.approx(base, abs=1e-6)
    assert mean_probability(np.where(y == 1, costs * 5.0, costs)) > base + 0.02
