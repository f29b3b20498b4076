"""The monitor's configuration file: the shipped file loads, and every broken rule is reported
with its key, the rule and the value received."""

from __future__ import annotations

import pytest

from riskloop.config import ConfigError
from riskloop.monitoring.config import MonitorConfig, load_monitor_config
from tests.conftest import PROJECT_DIR


def test_the_shipped_file_loads_its_windows_and_rules():
    config = load_monitor_config(PROJECT_DIR / "conf" / "base" / "monitoring.yml")
    assert (config.window_by, config.window_size, config.recent_windows) == ("count", 500, 12)
    assert (config.min_window_rows, config.min_labelled) == (100, 50)
    assert config.window_prefix == "count:500:"
    assert {r.name for r in config.rules} >= {
        "sustained_drift",
        "realised_performance_drop",
        "label_free_estimate_drop",
        "model_age",
        "new_labelled_data",
    }
    sustained = next(r for r in config.rules if r.name == "sustained_drift")
    assert (sustained.metric, sustained.above, sustained.k, sustained.n) == (
        "max_feature_psi",
        0.25,
        2,
        5,
    )


@pytest.mark.parametrize(
    ("text", "key", "rule", "received"),
    [
        ("windows: {by: rows}\n", "windows.by", "'count' or 'time'", "'rows'"),
        ("windows: {by: time, size: fortnight}\n", "windows.size", "pandas offset", "'fortnight'"),
        ("windows: {size: 0}\n", "windows.size", "positive number of rows", "0"),
        ("windows: {recent: 0}\n", "windows.recent", "greater than or equal to 1", "0"),
        ("windows: {sizee: 3}\n", "windows.sizee", "Extra inputs", "3"),
        ("min_labelled: many\n", "min_labelled", "valid integer", "'many'"),
        (
            "rules:\n  - {name: r, metric: m, above: 1, k: 2, n: 2}\n"
            "  - {name: s, metric: m, above: 1, k: 3, n: 2}\n",
            "rules.1",
            "k <= n",
            "'name': 's'",
        ),
        ("rules:\n  - {name: r, metric: m, k: 1, n: 1}\n", "rules.0", "exactly one", "'r'"),
    ],
)
def test_a_broken_rule_names_the_file_key_rule_and_value(tmp_path, text, key, rule, received):
    path = tmp_path / "monitoring.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_monitor_config(path)
    message = str(caught.value)
    assert str(path) in message
    line = next(line for line in message.splitlines() if line.strip().startswith(f"{key}:"))
    assert rule in line and received in line.split("(received", 1)[1], message


def test_overriding_the_windows_is_validated_like_the_file():
    config = MonitorConfig()
    assert config.with_windows(by="time", size="7D").window_prefix == "time:7D:"
    assert config.windows.size == 500  # the original is left alone
    with pytest.raises(ConfigError, match=r"size: must be a positive number of rows"):
        config.with_windows(size=0)
