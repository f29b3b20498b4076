"""The scenario: everything that makes riskloop about *this* data set, in one YAML file.

Nothing about credit is hard-coded in Python. A scenario names the CSV, the target column and
which of its values is the risky outcome, the columns to drop, the categorical columns (inferred
from dtype when absent), the sensitive attributes, an optional exposure column, optional value
rules per column, and the decision threshold. ``conf/base/scenarios/credit.yml`` is the default.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskloop.config import load_config


class ColumnRule(BaseModel):
    """Validation rule for one input column; every field is optional."""

    model_config = ConfigDict(extra="forbid")

    kind: str | None = Field(None, pattern="^(numeric|categorical)$")
    min: float | None = None
    max: float | None = None
    categories: list[str] | None = None
    nullable: bool = True
    description: str | None = None


class DataSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="CSV file, relative to the project folder or absolute")
    target: str = Field(description="column holding the observed outcome")
    positive_class: str | int | bool = Field(
        description="value of the target that is the risky outcome (default, churn, fraud)"
    )
    drop: list[str] = Field(default_factory=list, description="columns never used as inputs")
    categorical: list[str] | None = Field(
        None, description="categorical columns; inferred from dtype when absent"
    )
    sensitive: list[str] = Field(
        default_factory=list, description="attributes for fairness analysis"
    )
    exposure: str | None = Field(None, description="money at risk per row, e.g. loan amount")


class DecisionSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(
        0.5,
        gt=0.0,
        lt=1.0,
        description="decline when probability of the risky outcome >= this; the starting point"
        " when the threshold is chosen by expected profit",
    )
    min_approval_rate: float | None = Field(
        None, ge=0.0, le=1.0, description="optional floor on the share of applicants approved"
    )


class CostSpec(BaseModel):
    """The lender's money per decision (see docs/business.md).

    An approved applicant who repays earns ``margin × exposure × term``; one who defaults loses
    ``loss_given_default × exposure``; a declined applicant earns and loses nothing; every
    application costs ``review_cost`` to process.
    """

    model_config = ConfigDict(extra="forbid")

    loss_given_default: float = Field(0.6, ge=0.0, le=1.0, description="share of exposure lost")
    margin: float = Field(
        0.01, ge=0.0, description="net interest margin per unit of exposure per term unit"
    )
    term_column: str | None = Field(None, description="column holding the term (e.g. months)")
    term: float = Field(12.0, gt=0.0, description="term used when term_column is not set")
    exposure: float = Field(
        1.0, gt=0.0, description="exposure used when the scenario has no exposure column"
    )
    review_cost: float = Field(0.0, ge=0.0, description="cost of processing one application")


class GroupSpec(BaseModel):
    """How a numeric sensitive attribute is cut into groups: ``bins`` are the inner edges."""

    model_config = ConfigDict(extra="forbid")

    bins: list[float]
    labels: list[str]

    @model_validator(mode="after")
    def _one_label_per_group(self) -> GroupSpec:
        if len(self.labels) != len(self.bins) + 1:
            raise ValueError(f"{len(self.bins)} bin edges need {len(self.bins) + 1} labels")
        return self


class FairnessSpec(BaseModel):
    """Fairness rules: which inputs may inform the decision, the groups and the bounds.

    Sensitive attributes (``data.sensitive``) are not model inputs unless
    ``allow_sensitive_attributes_as_model_inputs`` says so; they stay in the data for the
    fairness analysis. Whatever that setting, neither a sensitive attribute nor a feature listed
    in ``proxies`` is ever given as a reason for a decision.
    """

    model_config = ConfigDict(extra="forbid")

    allow_sensitive_attributes_as_model_inputs: bool = Field(
        False,
        description="feed the sensitive attributes to the model (off: they are only analysed)",
    )
    proxies: list[str] = Field(
        default_factory=list,
        description="features that stand in for a sensitive attribute: never given as a reason",
    )
    groups: dict[str, GroupSpec] = Field(default_factory=dict)
    demographic_parity_ratio_min: float = Field(0.8, ge=0.0, le=1.0)
    equalized_odds_difference_max: float = Field(0.1, ge=0.0, le=1.0)
    min_group_size: int = Field(
        30,
        ge=1,
        description="groups with fewer rows are reported but not gated (their rates are noise)",
    )

    @model_validator(mode="before")
    @classmethod
    def _renamed_use_as_inputs(cls, values: object) -> object:
        if isinstance(values, dict) and "use_as_inputs" in values:
            raise ValueError(
                "fairness.use_as_inputs was renamed: write"
                " fairness.allow_sensitive_attributes_as_model_inputs (default false) instead"
                f" (received use_as_inputs: {values['use_as_inputs']!r})"
            )
        return values


class ExplanationSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    top_k: int = Field(4, ge=1, description="reason codes returned with each decision")
    reason_texts: dict[str, str] = Field(
        default_factory=dict, description="human text per input feature for reason codes"
    )


class DeclineRule(BaseModel):
    """One condition of the rule baseline: decline when ``column`` equals / exceeds a value."""

    model_config = ConfigDict(extra="forbid")

    column: str
    equals: str | float | bool | None = Field(None, description="decline when the value is this")
    above: float | None = Field(None, description="decline when the value is greater than this")
    below: float | None = Field(None, description="decline when the value is less than this")

    @model_validator(mode="after")
    def _one_condition(self) -> DeclineRule:
        if sum(v is not None for v in (self.equals, self.above, self.below)) != 1:
            raise ValueError(f"rule on {self.column!r} needs exactly one of equals/above/below")
        return self


class BaselineSpec(BaseModel):
    """Non-ML policies the model must beat (see docs/business.md)."""

    model_config = ConfigDict(extra="forbid")

    decline_rules: list[DeclineRule] = Field(
        default_factory=list, description="rule baseline: decline when any rule matches"
    )
    scorecard_bins: int = Field(5, ge=2, description="bins per numeric feature of the scorecard")


class SegmentRule(BaseModel):
    """Rows of one segment: ``column`` equals a value, or lies in ``[low, high]``."""

    model_config = ConfigDict(extra="forbid")

    column: str
    equals: str | float | bool | None = Field(None, description="rows whose value is this")
    low: float | None = Field(None, description="rows whose value is at least this")
    high: float | None = Field(None, description="rows whose value is at most this")

    @model_validator(mode="after")
    def _one_kind_of_condition(self) -> SegmentRule:
        if (self.equals is None) == (self.low is None and self.high is None):
            raise ValueError(f"segment on {self.column!r} needs either equals or low/high")
        return self


class InflationSpec(BaseModel):
    """Covariate shift: money columns grow by ``rate_per_window`` (compounded) after onset."""

    model_config = ConfigDict(extra="forbid")

    columns: list[str]
    rate_per_window: float = Field(0.1, gt=0.0, description="growth per window, 0.1 = 10 %")


class NewSegmentSpec(BaseModel):
    """A new population: a growing share of applicants comes from ``segment`` (drawn from the
    data's own rows in that segment, e.g. young applicants)."""

    model_config = ConfigDict(extra="forbid")

    segment: SegmentRule
    share_per_window: float = Field(0.15, gt=0.0, le=1.0, description="added share per window")
    max_share: float = Field(0.6, gt=0.0, le=1.0, description="largest share of a window")


class RecessionSpec(BaseModel):
    """Concept shift: after onset, applicants of ``segment`` who would have repaid default
    with probability ``default_probability`` (their inputs do not change)."""

    model_config = ConfigDict(extra="forbid")

    segment: SegmentRule
    default_probability: float = Field(0.5, gt=0.0, le=1.0)


class DriftSpec(BaseModel):
    """Drift the simulator can inject (``riskloop simulate --drift KIND``); a kind left out is
    not available for this scenario."""

    model_config = ConfigDict(extra="forbid")

    onset_window: int = Field(2, ge=0, description="first window with drift (0-based)")
    inflation: InflationSpec | None = None
    new_segment: NewSegmentSpec | None = None
    recession: RecessionSpec | None = None


class Scenario(BaseModel):
    """A validated scenario file."""

    model_config = ConfigDict(extra="forbid")

    name: str
    model_name: str = Field(description="name of the registered model in MLflow")
    data: DataSpec
    columns: dict[str, ColumnRule] = Field(default_factory=dict)
    decision: DecisionSpec = Field(default_factory=DecisionSpec)
    costs: CostSpec = Field(default_factory=CostSpec)
    fairness: FairnessSpec = Field(default_factory=FairnessSpec)
    explanations: ExplanationSpec = Field(default_factory=ExplanationSpec)
    baselines: BaselineSpec = Field(default_factory=BaselineSpec)
    drift: DriftSpec = Field(default_factory=DriftSpec)

    @model_validator(mode="after")
    def _target_is_not_an_input(self) -> Scenario:
        if self.data.target in self.data.drop:
            raise ValueError(f"target column {self.data.target!r} is also listed in data.drop")
        return self

    @model_validator(mode="after")
    def _proxy_is_not_the_target(self) -> Scenario:
        for proxy in self.fairness.proxies:
            if proxy == self.data.target:
                raise ValueError(f"fairness.proxies lists the target column {proxy!r}")
        return self

    def never_reasons(self) -> list[str]:
        """Features never given as a reason for a decision: the sensitive attributes and the
        features the scenario marks as their proxies."""
        return list(dict.fromkeys([*self.data.sensitive, *self.fairness.proxies]))

    def resolve_path(self, project_dir: Path) -> Path:
        """The data file as an absolute path (relative paths are taken from the project folder)."""
        path = Path(self.data.path).expanduser()
        return path if path.is_absolute() else (project_dir / path)


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file.

    Raises
    ------
    riskloop.config.ConfigError
        The file is missing, not YAML or breaks a scenario rule; the message names the file,
        the key, the rule and the value received.
    """
    return load_config(path, Scenario)
