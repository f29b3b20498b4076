"""Labels are evidence, not truth: the statistical checks a feedback batch passes before its
outcomes may train or judge a model.

For a batch of ``n`` outcomes ``y_i`` (1 = the risky outcome) of applications the champion
scored with probability of default ``p_i`` (logged with the decision), the observed number of
bads ``O = Σ y_i`` has, if the labels are honest and the champion calibrated, a Poisson-binomial
distribution with mean ``E = Σ p_i`` and variance ``V = Σ p_i (1 − p_i)``. A gap of up to
``tolerance`` in the bad *rate* is the world moving and is never quarantined; beyond it

    z = max(0, |O − E| − tolerance · n) / √V ,     p = 1 − Φ(z)   (normal approximation)

and the batch fails when ``p < alpha / m``, with ``m`` the number of tests run on the batch (the
overall one, run on any batch, and one per segment with at least ``min_rows`` rows: Bonferroni,
so ``alpha`` is the chance that an honest batch is quarantined). Segments are the values of
the configured input columns (by default every categorical input), so flipping the outcomes of
one segment alone is caught even when the overall rate barely moves.

Outcome maturity: an outcome observed sooner than ``min_maturity_days`` after the decision is
not yet a final outcome (a loan cannot have been repaid a week after it was granted); such rows
are held apart and never used until a person releases them.

Everything here is a pure function of arrays and frames; the store and the workflow live in
:mod:`riskloop.retraining.feedback`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from riskloop.retraining.config import LabelChecksSpec

OVERALL = "overall"


@dataclass(frozen=True)
class BadRateTest:
    """One bad-rate test: observed against the champion's expected rate on the same rows."""

    segment: str
    n: int
    observed_bad_rate: float
    expected_bad_rate: float
    z: float
    p_value: float
    alpha: float
    passed: bool

    def describe(self) -> str:
        return (
            f"bad rate {self.observed_bad_rate:.3f} observed vs {self.expected_bad_rate:.3f}"
            f" expected by the champion on {self.segment} ({self.n} rows): z = {self.z:.1f},"
            f" p = {self.p_value:.2g} < {self.alpha:.2g}"
        )


@dataclass
class BatchEvidence:
    """What the checks found: every test's numbers, the rows held as immature, the verdict."""

    tests: list[BadRateTest] = field(default_factory=list)
    immature_ids: list[str] = field(default_factory=list)
    min_maturity_days: float = 0.0

    @property
    def failed_tests(self) -> list[BadRateTest]:
        return [t for t in self.tests if not t.passed]

    @property
    def passed(self) -> bool:
        return not self.failed_tests

    def problems(self) -> list[str]:
        """One line per failed test, for people."""
        return [f"outcomes implausible: {t.describe()}" for t in self.failed_tests]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tests": [vars(t) for t in self.tests],
            "n_immature": len(self.immature_ids),
            "min_maturity_days": self.min_maturity_days,
        }


def bad_rate_test(
    outcomes: np.ndarray, expected: np.ndarray, tolerance: float, alpha: float, segment: str
) -> BadRateTest:
    """The test of the module docstring on one set of rows (``alpha`` already divided by the
    number of tests)."""
    y = np.asarray(outcomes, dtype=np.float64)
    p = np.clip(np.asarray(expected, dtype=np.float64), 0.0, 1.0)
    n = len(y)
    observed, mean = y.sum(), p.sum()
    variance = max(float((p * (1.0 - p)).sum()), 1e-12)
    z = max(0.0, abs(observed - mean) - tolerance * n) / math.sqrt(variance)
    p_value = 0.5 * math.erfc(z / math.sqrt(2.0))
    return BadRateTest(
        segment=segment,
        n=n,
        observed_bad_rate=float(observed / n),
        expected_bad_rate=float(mean / n),
        z=float(z),
        p_value=float(p_value),
        alpha=alpha,
        passed=bool(p_value >= alpha),
    )


def segment_columns(inputs: pd.DataFrame, checks: LabelChecksSpec) -> list[str]:
    """The columns whose values are segments: the configured ones present in ``inputs``, or
    every non-numeric input with at most ``max_segment_levels`` values."""
    if checks.segment_columns is not None:
        return [c for c in checks.segment_columns if c in inputs.columns]
    return [
        column
        for column in inputs.columns
        if not pd.api.types.is_numeric_dtype(inputs[column])
        and inputs[column].nunique(dropna=False) <= checks.max_segment_levels
    ]


def immature_outcomes(
    decided_at: pd.Series, observed_at: pd.Series, min_maturity_days: float
) -> np.ndarray:
    """True where the outcome was observed sooner than ``min_maturity_days`` after the
    decision (both timezone-aware)."""
    decided = pd.to_datetime(decided_at, utc=True)
    observed = pd.to_datetime(observed_at, utc=True)
    age = (observed - decided).dt.total_seconds().to_numpy() / 86400.0
    return np.asarray(age < min_maturity_days)


def check_batch(batch: pd.DataFrame, checks: LabelChecksSpec) -> BatchEvidence:
    """Check one batch of outcomes against the champion's logged expectations.

    Parameters
    ----------
    batch : DataFrame
        One row per outcome: ``application_id``, ``outcome`` (0/1), ``probability`` (the
        champion's logged probability of the risky outcome), ``inputs`` (the logged input
        dict), ``decided_at`` (when it was scored) and ``observed_at`` (when the outcome was
        observed; the time it was received where the sender did not say).
    checks : LabelChecksSpec
        Significance level, tolerance, segments and maturity (``retraining.yml``).

    Returns
    -------
    BatchEvidence
        The bad-rate tests on the mature rows (overall and per segment) and the ids held as
        immature. The batch passes when every test passes; immature rows are held either way.
    """
    immature = immature_outcomes(
        batch["decided_at"], batch["observed_at"], checks.min_maturity_days
    )
    evidence = BatchEvidence(
        immature_ids=batch.loc[immature, "application_id"].astype(str).tolist(),
        min_maturity_days=checks.min_maturity_days,
    )
    mature = batch.loc[~immature].reset_index(drop=True)
    if mature.empty:
        return evidence
    # the overall test runs on any batch (a file of 20 flipped outcomes is caught); segments
    # need min_rows each, where the normal approximation holds
    y = mature["outcome"].to_numpy(dtype=np.float64)
    p = mature["probability"].to_numpy(dtype=np.float64)
    inputs = pd.DataFrame.from_records(mature["inputs"].tolist())
    groups: list[tuple[str, np.ndarray]] = [(OVERALL, np.ones(len(mature), dtype=bool))]
    for column in segment_columns(inputs, checks):
        values = np.array(["missing" if pd.isna(v) else str(v) for v in inputs[column]])
        for value in np.unique(values):
            rows = values == value
            if rows.sum() >= checks.min_rows:
                groups.append((f"{column}={value}", rows))
    alpha = checks.alpha / len(groups)
    evidence.tests = [
        bad_rate_test(y[rows], p[rows], checks.bad_rate_tolerance, alpha, name)
        for name, rows in groups
    ]
    return evidence
