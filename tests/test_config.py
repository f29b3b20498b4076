"""The one YAML loader: every problem becomes one ConfigError naming the file, the key path, the
rule and the value received, without a traceback."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from riskloop.config import ConfigError, load_config, validate_config


class Inner(BaseModel):
    model_config = ConfigDict(extra="forbid")

    share: float = Field(0.5, gt=0.0, lt=1.0)


class Toy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    rows: int = Field(10, ge=1)
    inner: Inner = Field(default_factory=Inner)


def load(tmp_path, text: str) -> Toy:
    path = tmp_path / "toy.yml"
    path.write_text(text)
    return load_config(path, Toy)


def problem(tmp_path, text: str) -> list[str]:
    """The message's lines after the first (which names the file)."""
    path = tmp_path / "toy.yml"
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    first, *rest = str(caught.value).splitlines()
    assert first == f"{path} breaks its rules:"
    return [line.strip() for line in rest]


def test_a_valid_file_is_the_model():
    assert Toy(name="x").rows == 10


def test_values_are_read(tmp_path):
    assert load(tmp_path, "name: x\nrows: 3\ninner: {share: 0.2}\n") == Toy(
        name="x", rows=3, inner=Inner(share=0.2)
    )


def test_an_unknown_key_is_named_with_its_path(tmp_path):
    assert problem(tmp_path, "name: x\ninner: {shares: 0.2}\n") == [
        "inner.shares: Extra inputs are not permitted (received 0.2)"
    ]


def test_a_wrong_type_names_the_rule_and_the_value(tmp_path):
    assert problem(tmp_path, "name: x\nrows: many\n") == [
        "rows: Input should be a valid integer, unable to parse string as an integer"
        " (received 'many')"
    ]


def test_every_problem_gets_a_line(tmp_path):
    assert problem(tmp_path, "rows: 0\ninner: {share: 1}\n") == [
        "name: required, but missing",
        "rows: Input should be greater than or equal to 1 (received 0)",
        "inner.share: Input should be less than 1 (received 1)",
    ]


def test_files_that_are_not_configurations(tmp_path):
    with pytest.raises(ConfigError, match=r"absent\.yml: file not found"):
        load_config(tmp_path / "absent.yml", Toy)
    assert load_config(tmp_path / "absent.yml", Inner, missing_ok=True) == Inner()
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, "name: [unclosed\n")
    assert str(caught.value) == (
        f"{tmp_path / 'toy.yml'}: not valid YAML at line 2, column 1:"
        " expected ',' or ']', but got '<stream end>'"
    )
    with pytest.raises(ConfigError, match=r"toy\.yml: \(top level\): must hold a mapping"):
        load(tmp_path, "- a list\n")
    empty = tmp_path / "empty.yml"
    empty.write_text("")
    assert load_config(empty, Inner) == Inner()


def test_values_already_read_are_checked_the_same_way():
    with pytest.raises(ConfigError) as caught:
        validate_config({"share": 2}, Inner, "params:inner")
    assert str(caught.value).splitlines() == [
        "params:inner breaks its rules:",
        "  share: Input should be less than 1 (received 2)",
    ]
