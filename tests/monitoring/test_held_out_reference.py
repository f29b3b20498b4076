"""A served model's reference figures come from rows its estimator was not fitted on, so a
model performing at its real level raises no drop alert (riskloop issue 19, item 6)."""

import numpy as np
import pandas as pd
import pytest

from riskloop.data.schema import target_vector
from riskloop.monitoring.config import load_monitor_config
from riskloop.monitoring.window_metrics import window_metrics
from tests.conftest import PROJECT_DIR, train_one_candidate

# a flexible booster: it ranks its own training rows far better than new applicants (the
# label-free AUC of its training scores is 0.855, its AUC on the validation split 0.795)
OVERFITTING_LIGHTGBM = {
    "n_estimators": 300,
    "learning_rate": 0.1,
    "num_leaves": 63,
    "min_child_samples": 5,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def overfitting_scorer(credit_scenario, credit_splits):
    train, validation, _ = credit_splits
    return train_one_candidate(credit_scenario, train, validation, "lightgbm", OVERFITTING_LIGHTGBM)


def drops(scorer, rows, scenario) -> dict[str, float]:
    """The monitor's two drop figures on one window of ``rows``, all outcomes arrived."""
    inputs = rows[scorer.input_schema.names]
    probability = scorer.predict_proba(inputs)
    outcome = pd.Series(target_vector(rows, scenario).astype(np.float64))
    metrics, _ = window_metrics(
        scorer, inputs, probability, outcome, pd.Series(np.zeros(len(rows))), min_labelled=50
    )
    return {name: metrics[name][0] for name in ("realised_auc_drop", "expected_auc_drop")}


def test_a_model_at_its_real_level_fires_no_drop_alert(
    overfitting_scorer, credit_scenario, credit_splits
):
    _, validation, test = credit_splits
    assert overfitting_scorer.reference["performance"]["rows"] == "validation split"
    # on the held-out rows its reference was measured on, the model has not dropped at all
    # (the expected AUC's reference comes from a sample of those scores, hence the tolerance)
    on_reference_rows = drops(overfitting_scorer, validation, credit_scenario)
    assert on_reference_rows["realised_auc_drop"] == pytest.approx(0.0, abs=1e-12)
    assert on_reference_rows["expected_auc_drop"] == pytest.approx(0.0, abs=0.01)
    # on new applicants at the same level, neither drop rule fires
    thresholds = {
        rule.metric: rule.above
        for rule in load_monitor_config(PROJECT_DIR / "conf" / "base" / "monitoring.yml").rules
    }
    for metric, drop in drops(overfitting_scorer, test, credit_scenario).items():
        assert drop < thresholds[metric], f"{metric} {drop:.3f} fires at the model's real level"
