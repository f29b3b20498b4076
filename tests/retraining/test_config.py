"""The retraining configuration: retraining.yml through the one loader, with the promotion gate's
thresholds from the file the registration pipeline reads too."""

from __future__ import annotations

import pytest

from riskloop.config import ConfigError
from riskloop.retraining.config import load_retraining_config
from tests.conftest import PROJECT_DIR

CONF = PROJECT_DIR / "conf" / "base"


def test_the_shipped_files_load():
    config = load_retraining_config(CONF / "retraining.yml", CONF / "parameters_promotion.yml")
    assert (config.policy.lookback_rows, config.policy.holdout_share) == (3000, 0.3)
    assert config.simulation.retrain_on[0] == "sustained_drift"
    assert (config.gates.auc_tolerance, config.gates.brier_tolerance) == (0.01, 0.01)


def test_without_retraining_yml_the_policy_takes_its_defaults(tmp_path):
    config = load_retraining_config(tmp_path / "absent.yml", CONF / "parameters_promotion.yml")
    assert config.policy.min_holdout_rows == 100 and config.training == {}


def test_the_gate_thresholds_have_no_defaults(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.yml: file not found"):
        load_retraining_config(CONF / "retraining.yml", tmp_path / "absent.yml")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        # the old home of the thresholds: one place now, so a leftover is an error, not ignored
        ("gates: {auc_tolerance: 0.02}\n", "gates: Extra inputs are not permitted"),
        ("policy: {holdout_share: 1.5}\n", "policy.holdout_share: Input should be less than 1"),
        ("policy: {reference_ratio: most}\n", "policy.reference_ratio"),
    ],
)
def test_a_broken_retraining_yml_names_the_key(tmp_path, text, line):
    path = tmp_path / "retraining.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_retraining_config(path, CONF / "parameters_promotion.yml")
    message = str(caught.value)
    assert message.startswith(f"{path} breaks its rules:") and line in message
