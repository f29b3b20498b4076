"""Explore the training data: the EDA report (HTML) and its findings (JSON)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from riskloop.data.scenario import Scenario
from riskloop.data.schema import categorical_columns, input_columns, target_vector
from riskloop.evaluation.eda import explore
from riskloop.evaluation.report_html import render_eda_report


def outcome_labels(frame: pd.DataFrame, scenario: Scenario) -> tuple[str, str]:
    """How the report names the good and the risky outcome, e.g. ``Status=good``/``Status=bad``."""
    target, positive = scenario.data.target, str(scenario.data.positive_class)
    others = sorted(set(frame[target].dropna().astype(str)) - {positive})
    good = f"{target}={others[0]}" if len(others) == 1 else f"{target}≠{positive}"
    return good, f"{target}={positive}"


def explore_training_data(
    train: pd.DataFrame, scenario: Scenario, settings: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """EDA of the model inputs on the training split (never the rows models are judged on).

    ``settings`` (``params:eda``): ``bins``, ``max_categories``, ``smoothing``, ``n_clusters``,
    ``seed``. Returns the self-contained HTML report and a JSON summary of its findings.
    """
    inputs = input_columns(train, scenario)
    categorical = [c for c in categorical_columns(train, scenario) if c in inputs]
    numeric = [c for c in inputs if c not in categorical]
    y = target_vector(train, scenario)
    result = explore(train, y, numeric, categorical, **settings)
    labels = outcome_labels(train, scenario)
    html = render_eda_report(
        result,
        train,
        y,
        title=f"Exploratory analysis — scenario {scenario.name}",
        outcome_labels=labels,
        context={"data": scenario.data.path, "rows": "the training split"},
    )
    return html, {"scenario": scenario.name, "outcome": labels[1], **result.summary()}
