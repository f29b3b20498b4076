import pytest

from riskloop.monitoring.alerts import AlertRule, RuleError, evaluate_rule

DRIFT = AlertRule("sustained_drift", "max_feature_psi", above=0.25, k=2, n=5)


@pytest.mark.parametrize(
    ("history", "fired"),
    [
        ([0.1, 0.1, 0.1, 0.1, 0.3], False),  # one breach: noise, not a trend
        ([0.3, 0.1, 0.1, 0.1, 0.3], True),  # two of the last five, and the latest
        ([0.3, 0.3, 0.3, 0.3, 0.1], False),  # latest window healthy: the alert stops
        ([0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.3], False),  # first breach fell out of the window
        ([None, 0.3, None, 0.3], True),  # windows without the metric say nothing
        ([0.3, 0.1, 0.3, None, None], True),  # delayed labels: the latest *measured* window
        ([], False),
    ],
)
def test_hysteresis(history, fired):
    assert evaluate_rule(DRIFT, history).fired is fired


def test_below_rules_and_description():
    rule = AlertRule("auc_drop", "realised_auc", below=0.75, k=1, n=1)
    outcome = evaluate_rule(rule, [0.8, 0.7])
    assert outcome.fired and outcome.breaches == 1
    assert "realised_auc < 0.75 in 1 of the last 1 windows (latest 0.7)" in outcome.describe()


@pytest.mark.parametrize(
    "raw",
    [
        {"name": "x", "metric": "m"},
        {"name": "x", "metric": "m", "above": 1, "below": 0},
        {"name": "x", "metric": "m", "above": 1, "k": 3, "n": 2},
        {"name": "x", "metric": "m", "above": 1, "typo": 2},
    ],
)
def test_malformed_rules_are_named(raw):
    with pytest.raises(RuleError, match="'x'"):
        AlertRule.from_config(raw)
