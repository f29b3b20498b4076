import pandas as pd
import pytest

from riskloop.pipelines.data_processing.nodes import split_applications, validate_and_clean
from riskloop.pipelines.training.candidates import build_estimator

SPLIT = {"test_size": 0.2, "validation_size": 0.2, "seed": 42}


def test_split_is_stratified_disjoint_and_reproducible(credit_frame, credit_scenario):
    clean, lineage = validate_and_clean(credit_frame, credit_scenario)
    assert lineage["n_rows"] == 4454
    train, validation, test = split_applications(clean, credit_scenario, SPLIT)
    assert (len(train), len(validation), len(test)) == (2672, 891, 891)
    for part in (train, validation, test):
        assert (part["Status"] == "bad").mean() == pytest.approx(1254 / 4454, abs=0.002)
    again = split_applications(clean, credit_scenario, SPLIT)
    pd.testing.assert_frame_equal(again[2], test)
    keys = [tuple(r) for r in pd.concat([train, validation, test]).astype(str).to_numpy()]
    assert len(keys) == 4454


def test_clean_drops_configured_columns(credit_frame, credit_scenario):
    scenario = credit_scenario.model_copy(
        update={"data": credit_scenario.data.model_copy(update={"drop": ["Price"]})}
    )
    clean, _ = validate_and_clean(credit_frame, scenario)
    assert "Price" not in clean.columns


def test_unknown_model_type_is_named():
    with pytest.raises(ValueError, match="unknown model type 'xgboost'"):
        build_estimator("xgboost")
