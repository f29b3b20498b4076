"""The preprocessor against scikit-learn's own imputer + scaler + one-hot encoder."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from riskloop.features.preprocessing import TabularPreprocessor

NUMERIC = ["Seniority", "Age", "Income", "Assets", "Debt", "Amount"]
CATEGORICAL = ["Home", "Marital", "Job"]


@pytest.fixture()
def halves(credit_frame):
    frame = credit_frame.sample(frac=1.0, random_state=7).reset_index(drop=True)
    return frame.iloc[:3000], frame.iloc[3000:]


def test_matches_scikit_learn_reference(halves):
    train, test = halves
    ours = TabularPreprocessor(NUMERIC, CATEGORICAL).fit(train)
    reference = ColumnTransformer(
        [
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            (
                "cat",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value="__none__"),
                    OneHotEncoder(handle_unknown="ignore", sparse_output=False),
                ),
                CATEGORICAL,
            ),
        ]
    ).fit(train.astype({c: object for c in CATEGORICAL}))
    expected = reference.transform(test.astype({c: object for c in CATEGORICAL}))
    names = list(reference.get_feature_names_out())
    keep = [i for i, n in enumerate(names) if "__none__" not in n]  # we encode missing as all-zero
    np.testing.assert_allclose(ours.transform(test), expected[:, keep], atol=1e-12)


def test_record_fast_path_equals_dataframe_path(halves):
    train, test = halves
    pre = TabularPreprocessor(NUMERIC, CATEGORICAL).fit(train)
    records = test.astype(object).where(test.notna(), None).to_dict("records")
    np.testing.assert_allclose(pre.transform_records(records), pre.transform(test), atol=1e-12)


def test_unknown_and_missing_categories_are_all_zero(halves):
    train, _ = halves
    pre = TabularPreprocessor(["Age"], ["Home"]).fit(train)
    rows = pd.DataFrame({"Age": [30.0, 30.0], "Home": ["castle", None]})
    assert np.all(pre.transform(rows)[:, 1:] == 0.0)
    assert np.all(pre.transform_records([{"Age": 30, "Home": "castle"}])[:, 1:] == 0.0)


def test_state_round_trip_is_exact(halves):
    train, test = halves
    pre = TabularPreprocessor(NUMERIC, CATEGORICAL).fit(train)
    again = TabularPreprocessor.from_state(pre.to_state())
    np.testing.assert_array_equal(again.transform(test), pre.transform(test))
    assert list(again.get_feature_names_out()) == list(pre.get_feature_names_out())
