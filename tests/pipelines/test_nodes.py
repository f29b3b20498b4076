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
    for part, repeated in zip((train, validation, test), again, strict=True):
        pd.testing.assert_frame_equal(repeated, part)
    # every application lands in exactly one part, unchanged: split the file with each row's
    # position attached, then match the parts back to it by that id
    numbered = clean.assign(row_id=range(len(clean)))
    ids = [part["row_id"] for part in split_applications(numbered, credit_scenario, SPLIT)]
    for i, first in enumerate(ids):
        for second in ids[i + 1 :]:
            assert not set(first) & set(second), "an application is in two parts of the split"
    assert sorted(pd.concat(ids)) == list(range(len(clean)))
    for part, part_ids in zip((train, validation, test), ids, strict=True):
        pd.testing.assert_frame_equal(part, clean.iloc[part_ids.to_numpy()].reset_index(drop=True))


def test_clean_drops_configured_columns(credit_frame, credit_scenario):
    scenario = credit_scenario.model_copy(
        update={"data": credit_scenario.data.model_copy(update={"drop": ["Price"]})}
    )
    clean, _ = validate_and_clean(credit_frame, scenario)
    assert "Price" not in clean.columns


def test_unknown_model_type_is_named():
    with pytest.raises(ValueError, match="unknown model type 'xgboost'"):
        build_estimator("xgboost")
