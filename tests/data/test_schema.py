"""A file that breaks the schema stops with a message naming column, rule, values, row count."""

import pandas as pd
import pytest

from riskloop.config import ConfigError
from riskloop.data.scenario import load_scenario
from riskloop.data.schema import DataValidationError, infer_input_schema, validate_applications
from tests.conftest import PROJECT_DIR


def _error(frame, scenario) -> str:
    with pytest.raises(DataValidationError) as caught:
        validate_applications(frame, scenario, source="applicants.csv")
    return str(caught.value)


def test_out_of_range_values_are_named_with_rule_values_and_count(credit_frame, credit_scenario):
    credit_frame.loc[[3, 10], "Age"] = [7, 150]
    message = _error(credit_frame, credit_scenario)
    assert "column 'Age'" in message
    assert "greater_than_or_equal_to(18.0)" in message and "7.0" in message
    assert "less_than_or_equal_to(100.0)" in message and "150.0" in message
    assert "broken by 1 of 4454 rows" in message
    assert "file lines 5" in message  # row 3 is line 5 of the file (header + 1-based)


def test_unknown_category(credit_frame, credit_scenario):
    credit_frame["Home"] = credit_frame["Home"].astype(object)
    credit_frame.loc[0:2, "Home"] = "castle"
    message = _error(credit_frame, credit_scenario)
    assert "column 'Home'" in message and "isin(" in message
    assert "'castle'" in message and "broken by 3 of 4454 rows" in message


def test_wrong_type_reports_only_the_root_cause(credit_frame, credit_scenario):
    credit_frame["Income"] = credit_frame["Income"].astype(object)
    credit_frame.loc[9, "Income"] = "lots"
    message = _error(credit_frame, credit_scenario)
    assert "column 'Income'" in message and "coerce_dtype('float64')" in message
    assert "'lots'" in message
    assert "TypeError" not in message  # the range checks' knock-on failures are not shown


def test_missing_required_column(credit_frame, credit_scenario):
    message = _error(credit_frame.drop(columns=["Debt"]), credit_scenario)
    assert "column 'Debt'" in message and "missing" in message


def test_missing_value_in_non_nullable_column(credit_frame, credit_scenario):
    credit_frame["Age"] = credit_frame["Age"].astype(float)
    credit_frame.loc[4, "Age"] = float("nan")
    message = _error(credit_frame, credit_scenario)
    assert "column 'Age'" in message and "not_nullable" in message


def test_empty_file(credit_scenario):
    message = _error(pd.DataFrame(), credit_scenario)
    assert "empty" in message


def test_target_without_the_risky_value(credit_frame, credit_scenario):
    credit_frame["Status"] = "good"
    message = _error(credit_frame, credit_scenario)
    assert "column 'Status'" in message and "'bad'" in message


def _allowing_sensitive_inputs(scenario):
    fairness = scenario.fairness.model_copy(
        update={"allow_sensitive_attributes_as_model_inputs": True}
    )
    return scenario.model_copy(update={"fairness": fairness})


def test_input_schema_takes_rules_from_scenario_and_gaps_from_data(credit_frame, credit_scenario):
    scenario = _allowing_sensitive_inputs(credit_scenario)
    schema = infer_input_schema(validate_applications(credit_frame, scenario), scenario)
    assert schema.names == [c for c in credit_frame.columns if c != "Status"]
    assert schema.categorical == ["Home", "Marital", "Records", "Job"]
    age = schema["Age"]
    assert (age.min, age.max, age.nullable, age.typical) == (18, 100, False, 36.0)
    assert schema["Records"].categories == ("no", "yes")
    assert schema["Home"].typical == "owner"


def test_categorical_columns_are_inferred_from_dtype_when_not_listed(tmp_path, credit_frame):
    path = tmp_path / "s.yml"
    path.write_text(
        "name: x\nmodel_name: x\ndata: {path: x.csv, target: Status, positive_class: bad}\n"
    )
    scenario = load_scenario(path)
    schema = infer_input_schema(credit_frame, scenario)
    assert schema.categorical == ["Home", "Marital", "Records", "Job"]
    assert schema["Home"].categories == ("ignore", "other", "owner", "parents", "priv", "rent")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\n", "model_name"),
        (
            "name: x\nmodel_name: y\ndata: {path: a, target: t, positive_class: 1, oops: 2}\n",
            "data.oops",
        ),
        ("- a list\n", "must hold a mapping"),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_invalid_scenario_names_the_problem(tmp_path, text, expected):
    path = tmp_path / "bad.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match="bad.yml") as caught:
        load_scenario(path)
    assert expected in str(caught.value)


def test_sensitive_attributes_are_not_inputs_by_default_but_still_validated(
    credit_frame, credit_scenario
):
    scenario = credit_scenario
    assert not scenario.fairness.allow_sensitive_attributes_as_model_inputs
    validated = validate_applications(credit_frame, scenario)
    schema = infer_input_schema(validated, scenario)
    assert "Age" not in schema.names and "Marital" not in schema.names
    credit_frame["Marital"] = credit_frame["Marital"].astype(object)
    credit_frame.loc[0, "Marital"] = "complicated"
    assert "column 'Marital'" in _error(credit_frame, scenario)


def test_the_old_use_as_inputs_key_is_refused_naming_the_new_one(tmp_path):
    path = tmp_path / "old.yml"
    path.write_text(
        "name: x\nmodel_name: x\ndata: {path: x.csv, target: Status, positive_class: bad}\n"
        "fairness: {use_as_inputs: true}\n"
    )
    with pytest.raises(ConfigError, match="old.yml") as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "fairness.allow_sensitive_attributes_as_model_inputs" in message
    assert "use_as_inputs: True" in message


def test_every_bundled_scenario_validates():
    for path in sorted((PROJECT_DIR / "conf" / "base" / "scenarios").glob("*.yml")):
        scenario = load_scenario(path)
        assert not scenario.fairness.allow_sensitive_attributes_as_model_inputs, path.name
