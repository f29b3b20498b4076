"""Validate, clean and split the raw applications."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.model_selection import train_test_split

from riskloop.data.scenario import Scenario
from riskloop.data.schema import categorical_columns, validate_applications


def validate_and_clean(raw: pd.DataFrame, scenario: Scenario) -> tuple[pd.DataFrame, dict]:
    """Check the raw file against the scenario's schema, drop the configured columns.

    Returns the clean applications and their lineage (source file, SHA-256, row count).
    Categorical values become strings so the same value reads the same in every later step.
    """
    source = raw.attrs.get("source", "raw data")
    validated = validate_applications(raw, scenario, source=Path(source).name)
    clean = validated.drop(columns=[c for c in scenario.data.drop if c in validated.columns])
    for column in categorical_columns(clean, scenario):
        clean[column] = clean[column].astype("string").str.strip()
    clean = clean.reset_index(drop=True)
    lineage = {"source": source, "sha256": raw.attrs.get("sha256"), "n_rows": len(clean)}
    return clean, lineage


def split_applications(
    applications: pd.DataFrame, scenario: Scenario, split: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Stratified train / validation / test split with a fixed seed.

    ``split.test_size`` and ``split.validation_size`` are fractions of the whole file.
    """
    target = applications[scenario.data.target].astype(str)
    rest, test = train_test_split(
        applications, test_size=split["test_size"], stratify=target, random_state=split["seed"]
    )
    validation_share = split["validation_size"] / (1.0 - split["test_size"])
    train, validation = train_test_split(
        rest,
        test_size=validation_share,
        stratify=target.loc[rest.index],
        random_state=split["seed"],
    )
    return (
        train.reset_index(drop=True),
        validation.reset_index(drop=True),
        test.reset_index(drop=True),
    )
