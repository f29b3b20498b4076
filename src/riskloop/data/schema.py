"""Input schema and validation of applicant data.

Two things live here:

* :class:`InputSchema` — the JSON-serialisable description of the model's inputs (name, kind,
  range, categories, nullability). It is built once at training time from the scenario and the
  training data, carried by the scorer, and turned into the API's request model.
* :func:`validate_applications` — a pandera check of a whole data file against the scenario;
  a file that breaks it raises :class:`DataValidationError` whose message names the column, the
  rule, the offending values and how many rows break it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError, SchemaErrors

from riskloop.data.scenario import Scenario

Kind = Literal["numeric", "categorical"]
MAX_EXAMPLES = 5


class DataValidationError(ValueError):
    """Data that breaks the scenario's schema; the message is written for people."""


@dataclass(frozen=True)
class FeatureSpec:
    """One model input: what it is and which values are acceptable."""

    name: str
    kind: Kind
    nullable: bool = True
    min: float | None = None
    max: float | None = None
    categories: tuple[str, ...] | None = None
    description: str | None = None
    typical: float | str | None = None  # training median / most frequent value: a form default

    def describe_allowed(self) -> str:
        if self.kind == "categorical":
            return "one of " + ", ".join(repr(c) for c in self.categories or ())
        low = "-inf" if self.min is None else f"{self.min:g}"
        high = "inf" if self.max is None else f"{self.max:g}"
        return f"a number in [{low}, {high}]"


@dataclass(frozen=True)
class InputSchema:
    """The ordered model inputs; what the scorer accepts and the API exposes."""

    features: tuple[FeatureSpec, ...]

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def numeric(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def __getitem__(self, name: str) -> FeatureSpec:
        for feature in self.features:
            if feature.name == name:
                return feature
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        return {"features": [asdict(f) for f in self.features]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> InputSchema:
        features = []
        for raw in data["features"]:
            categories = raw.get("categories")
            features.append(
                FeatureSpec(**{**raw, "categories": tuple(categories) if categories else None})
            )
        return cls(tuple(features))


def _is_categorical_dtype(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def input_columns(frame: pd.DataFrame, scenario: Scenario) -> list[str]:
    """Columns the model may use, in file order: all but the target and the dropped ones, and
    but the sensitive attributes unless the scenario explicitly allows them as model inputs."""
    excluded = {scenario.data.target, *scenario.data.drop}
    if not scenario.fairness.allow_sensitive_attributes_as_model_inputs:
        excluded.update(scenario.data.sensitive)
    return [c for c in frame.columns if c not in excluded]


def categorical_columns(frame: pd.DataFrame, scenario: Scenario) -> list[str]:
    """The scenario's categorical columns, or those whose dtype is not numeric when absent.

    Sensitive attributes are classified too when they are not model inputs: they are still
    validated and used for the fairness analysis.
    """
    excluded = {scenario.data.target, *scenario.data.drop}
    columns = [c for c in frame.columns if c not in excluded]
    if scenario.data.categorical is not None:
        return [c for c in columns if c in scenario.data.categorical]
    return [
        c
        for c in columns
        if (scenario.columns.get(c) and scenario.columns[c].kind == "categorical")
        or (
            not (scenario.columns.get(c) and scenario.columns[c].kind == "numeric")
            and _is_categorical_dtype(frame[c])
        )
    ]


def infer_input_schema(frame: pd.DataFrame, scenario: Scenario) -> InputSchema:
    """Build the input schema from the scenario's rules, filling gaps from the (training) data.

    Categories not listed in the scenario are the values observed in ``frame``; ranges not
    listed are left open.
    """
    return _schema_of(frame, scenario, input_columns(frame, scenario))


def analysed_attributes_schema(frame: pd.DataFrame, scenario: Scenario) -> InputSchema:
    """The sensitive attributes that are not model inputs, with their rules: a service accepts
    them with an application (optional) and logs them for fairness monitoring, never giving
    them to the model. Empty when the scenario opts in to them as inputs."""
    inputs = set(input_columns(frame, scenario))
    analysed = [c for c in scenario.data.sensitive if c in frame.columns and c not in inputs]
    return _schema_of(frame, scenario, analysed)


def _schema_of(frame: pd.DataFrame, scenario: Scenario, names: list[str]) -> InputSchema:
    categorical = set(categorical_columns(frame, scenario))
    features = []
    for name in names:
        rule = scenario.columns.get(name)
        if name in categorical:
            present = frame[name].dropna().astype(str)
            observed = sorted(set(present))
            categories = tuple(rule.categories) if rule and rule.categories else tuple(observed)
            features.append(
                FeatureSpec(
                    name=name,
                    kind="categorical",
                    nullable=rule.nullable if rule else True,
                    categories=categories,
                    description=rule.description if rule else None,
                    typical=present.mode().iloc[0] if len(present) else None,
                )
            )
        else:
            features.append(
                FeatureSpec(
                    name=name,
                    kind="numeric",
                    nullable=rule.nullable if rule else True,
                    min=rule.min if rule else None,
                    max=rule.max if rule else None,
                    description=rule.description if rule else None,
                    typical=_median(frame[name]),
                )
            )
    return InputSchema(tuple(features))


def _median(column: pd.Series) -> float | None:
    values = pd.to_numeric(column, errors="coerce").dropna()
    return float(values.median()) if len(values) else None


def _required_columns(scenario: Scenario) -> list[str]:
    named: Iterable[str] = [
        scenario.data.target,
        *scenario.columns,
        *(scenario.data.categorical or []),
        *scenario.data.sensitive,
        *([scenario.data.exposure] if scenario.data.exposure else []),
    ]
    return list(dict.fromkeys(c for c in named if c not in scenario.data.drop))


def build_dataframe_schema(frame: pd.DataFrame, scenario: Scenario) -> pa.DataFrameSchema:
    """The pandera schema a data file must satisfy under ``scenario``."""
    categorical = set(categorical_columns(frame, scenario))
    columns: dict[str, pa.Column] = {
        scenario.data.target: pa.Column(
            nullable=False,
            checks=pa.Check(
                lambda s: s.astype(str).nunique() <= 2,
                element_wise=False,
                error="target must have at most two distinct values",
                name="binary_target",
            ),
        )
    }
    for name in _required_columns(scenario):
        if name == scenario.data.target:
            continue
        rule = scenario.columns.get(name)
        nullable = rule.nullable if rule else True
        if name in categorical:
            checks = [pa.Check.isin(rule.categories)] if rule and rule.categories else []
            columns[name] = pa.Column(nullable=nullable, checks=checks)
        else:
            checks = []
            if rule and rule.min is not None:
                checks.append(pa.Check.ge(rule.min))
            if rule and rule.max is not None:
                checks.append(pa.Check.le(rule.max))
            columns[name] = pa.Column(float, nullable=nullable, coerce=True, checks=checks)
    return pa.DataFrameSchema(columns, strict=False)


def _format_failures(failures: pd.DataFrame, n_rows: int, source: str) -> str:
    # A value that cannot be read as a number also fails the dtype and range checks of its
    # column; report only the root cause for such columns.
    checks = failures["check"].astype(str)
    uncoercible = set(failures.loc[checks.str.startswith("coerce_dtype"), "column"])
    failures = failures[
        ~failures["column"].isin(uncoercible) | checks.str.startswith("coerce_dtype")
    ]
    lines = []
    for (column, check), group in failures.groupby(["column", "check"], sort=False, dropna=False):
        if check == "column_in_dataframe":
            lines.append(
                f"  - column {group['failure_case'].iloc[0]!r}: rule 'column must be present'"
                " — the column is missing"
            )
            continue
        values = group["failure_case"]
        shown = ", ".join(repr(v) for v in pd.unique(values.astype(object))[:MAX_EXAMPLES])
        rows = group["index"].dropna()
        where = ""
        if len(rows):
            listed = ", ".join(str(int(r) + 2) for r in rows.iloc[:MAX_EXAMPLES])
            where = f" (file lines {listed}{', …' if len(rows) > MAX_EXAMPLES else ''})"
        lines.append(
            f"  - column {column!r}: rule {check!r} broken by {len(group)} of {n_rows} rows;"
            f" offending values: {shown}{where}"
        )
    return f"{source} breaks the schema:\n" + "\n".join(lines)


def validate_applications(
    frame: pd.DataFrame, scenario: Scenario, source: str = "the data"
) -> pd.DataFrame:
    """Validate a raw data file against the scenario; returns it with numeric columns as float.

    Raises
    ------
    DataValidationError
        naming every broken column and rule, offending values and the number of rows.
    """
    if frame.empty or len(frame.columns) == 0:
        raise DataValidationError(f"{source} is empty: no rows to train on")
    schema = build_dataframe_schema(frame, scenario)
    try:
        validated = schema.validate(frame, lazy=True)
    except SchemaErrors as errors:
        raise DataValidationError(
            _format_failures(errors.failure_cases, len(frame), source)
        ) from None
    except SchemaError as error:  # pragma: no cover - lazy=True collects, kept for safety
        raise DataValidationError(f"{source} breaks the schema: {error}") from None
    target = validated[scenario.data.target].astype(str)
    positive = str(scenario.data.positive_class)
    if not (target == positive).any():
        seen = ", ".join(repr(v) for v in sorted(target.unique())[:MAX_EXAMPLES])
        raise DataValidationError(
            f"{source}: column {scenario.data.target!r}, rule 'contains the risky value"
            f" {positive!r}': no row has it (values seen: {seen})"
        )
    if target.nunique() < 2:
        raise DataValidationError(
            f"{source}: column {scenario.data.target!r} has a single value {positive!r};"
            " two outcomes are needed to train"
        )
    return validated


def target_vector(frame: pd.DataFrame, scenario: Scenario) -> np.ndarray:
    """1 where the row's outcome is the scenario's risky value, else 0."""
    target = frame[scenario.data.target].astype(str)
    return (target == str(scenario.data.positive_class)).to_numpy(dtype=np.int8)
