"""Any binary-outcome CSV runs by configuration alone: a synthetic churn data set, defined only by
its own scenario file and CSV written here, goes through the whole pipeline."""

import json

import numpy as np
import pandas as pd
import pytest

from riskloop import registry
from riskloop.pipelines.runner import run_pipeline
from tests.conftest import PROJECT_DIR, SMALL_BUDGET

pytestmark = pytest.mark.slow


def _churn_data(n: int = 600, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n)
    plan = rng.choice(["basic", "plus", "pro"], n, p=[0.5, 0.3, 0.2])
    charges = rng.normal(60, 15, n).round(2)
    logit = -0.04 * tenure + 0.03 * (charges - 60) + np.where(plan == "basic", 0.8, -0.2)
    churned = rng.random(n) < 1 / (1 + np.exp(-logit))
    return pd.DataFrame(
        {
            "customer_id": np.arange(n),
            "tenure_months": tenure,
            "plan": plan,
            "monthly_charges": charges,
            "churn": np.where(churned, "yes", "no"),
        }
    )


def test_synthetic_scenario_runs_end_to_end(tmp_path, trained_project):
    csv = tmp_path / "churn.csv"
    _churn_data().to_csv(csv, index=False)
    scenario = tmp_path / "churn.yml"
    scenario.write_text(
        f"""
name: churn
model_name: churn-model
data:
  path: {csv}
  target: churn
  positive_class: "yes"
  drop: [customer_id]
decision:
  threshold: 0.4
"""
    )
    run_pipeline(
        PROJECT_DIR, scenario_file=scenario, data_dir=tmp_path / "data", params=SMALL_BUDGET
    )
    metrics = json.loads((tmp_path / "data" / "08_reporting" / "metrics.json").read_text())
    assert metrics["test"]["auc"] > 0.7
    scorer, info = registry.load_champion("churn-model")
    assert scorer.input_schema.names == ["tenure_months", "plan", "monthly_charges"]
    assert scorer.input_schema.categorical == ["plan"]  # inferred from dtype
    assert scorer.threshold == 0.4 and scorer.positive_class == "yes"
    decisions = scorer.score_records(
        [{"tenure_months": 2, "plan": "basic", "monthly_charges": 90.0}]
    )
    assert decisions.decision == ["decline"]
    # the credit model is untouched by the churn run
    assert registry.version_for_alias(trained_project.model_name) is not None
