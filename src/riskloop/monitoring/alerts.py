"""Alert rules with hysteresis: a trigger fires only when a metric breaches its bound in at least
``k`` of the last ``n`` monitor windows *and* in the latest one.

One noisy window does not retrain a model (k ≥ 2), and an alert stops as soon as the latest
window is healthy again. Rules live in configuration (``conf/base/monitoring.yml``), e.g.::

    - name: sustained_drift
      metric: max_feature_psi
      above: 0.25
      k: 2
      n: 5
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class RuleError(ValueError):
    """A rule in the configuration is malformed; the message names it."""


@dataclass(frozen=True)
class AlertRule:
    """``metric`` breaches when it is above ``above`` or below ``below`` (exactly one is set)."""

    name: str
    metric: str
    above: float | None = None
    below: float | None = None
    k: int = 2
    n: int = 5

    def __post_init__(self) -> None:
        if (self.above is None) == (self.below is None):
            raise RuleError(f"rule {self.name!r}: set exactly one of 'above' or 'below'")
        if not 1 <= self.k <= self.n:
            raise RuleError(f"rule {self.name!r}: need 1 <= k <= n, got k={self.k}, n={self.n}")

    @classmethod
    def from_config(cls, raw: Mapping[str, Any]) -> AlertRule:
        allowed = {"name", "metric", "above", "below", "k", "n"}
        unknown = set(raw) - allowed
        if unknown or "name" not in raw or "metric" not in raw:
            raise RuleError(
                f"alert rule {raw.get('name', raw)!r}: needs name and metric; unknown keys"
                f" {sorted(unknown)}; allowed {sorted(allowed)}"
            )
        return cls(**raw)

    def breached(self, value: float | None) -> bool:
        """A missing value (metric not computable in that window) never breaches."""
        if value is None or value != value:  # None or NaN
            return False
        if self.above is not None:
            return value > self.above
        return self.below is not None and value < self.below

    @property
    def bound(self) -> str:
        return f"> {self.above:g}" if self.above is not None else f"< {self.below:g}"


@dataclass(frozen=True)
class RuleOutcome:
    rule: AlertRule
    fired: bool
    breaches: int
    windows: int
    latest: float | None

    def describe(self) -> str:
        verdict = "FIRED" if self.fired else "quiet"
        return (
            f"{self.rule.name}: {verdict} — {self.rule.metric} {self.rule.bound} in"
            f" {self.breaches} of the last {self.windows} windows (latest {self.latest})"
        )


def evaluate_rule(rule: AlertRule, history: Sequence[float | None]) -> RuleOutcome:
    """Apply ``rule`` to a metric's values per window, oldest first.

    Windows where the metric could not be measured (None or NaN) say nothing and are left out:
    realised metrics need outcomes, which arrive months after the decision, so the newest
    windows have none — read as "no breach", a delayed-label rule could never fire. The rule
    therefore looks at the last ``n`` *measured* windows and the latest measured one.
    """
    measured = [v for v in history if v is not None and v == v]
    recent = measured[-rule.n :]
    flags = [rule.breached(v) for v in recent]
    latest = recent[-1] if recent else None
    fired = bool(flags) and flags[-1] and sum(flags) >= rule.k
    return RuleOutcome(rule, fired, sum(flags), len(recent), latest)
