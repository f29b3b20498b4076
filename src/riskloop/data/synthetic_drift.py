"""Drift generators: turn a window of held-out applicants into what production would see after
a change in the world. Which columns, segments and rates is the scenario's ``drift`` section
(:class:`riskloop.data.scenario.DriftSpec`); nothing here knows about credit.

Kinds (window ``w``, onset ``w0``, ``k = w - w0 + 1`` windows of drift so far, 0 before onset):

* ``stable``: rows as drawn.
* ``inflation`` (covariate shift): every configured money column is multiplied by
  ``(1 + rate_per_window) ** k``; outcomes are unchanged (a loan of 1,100 next year is the
  same risk as one of 1,000 today), so a model that reads raw amounts drifts.
* ``new-segment`` (covariate shift): a share ``min(max_share, share_per_window · k)`` of the
  window is replaced by rows drawn (with replacement) from the pool's own ``segment`` rows,
  so the population moves toward a group that was rare in training.
* ``recession`` (concept shift): inputs unchanged; every row of ``segment`` whose outcome was
  not the risky one becomes the risky one with probability ``default_probability``. The
  segment's default rate goes from ``b`` to ``b + (1 - b) · p``; a model trained before the
  shift ranks the segment as it used to, so its realised AUC falls, and a model retrained on
  post-shift labels can learn the segment's new risk (the segment is an input).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskloop.data.scenario import DriftSpec, Scenario, SegmentRule

DRIFT_KINDS = ("stable", "inflation", "new-segment", "recession")


class DriftConfigError(ValueError):
    """The scenario does not configure the requested kind of drift."""


def segment_mask(frame: pd.DataFrame, rule: SegmentRule) -> np.ndarray:
    """Boolean mask of the rows in the segment ``rule`` describes."""
    if rule.column not in frame.columns:
        raise DriftConfigError(
            f"drift segment column {rule.column!r} is not in the data (columns: {list(frame)})"
        )
    values = frame[rule.column]
    if rule.equals is not None:
        return (values.astype(str) == str(rule.equals)).to_numpy()
    numeric = pd.to_numeric(values, errors="coerce")
    mask = numeric.notna()
    if rule.low is not None:
        mask &= numeric >= rule.low
    if rule.high is not None:
        mask &= numeric <= rule.high
    return mask.to_numpy()


def drift_strength(window: int, onset_window: int) -> int:
    """How many windows of drift have happened by ``window`` (0 before the onset)."""
    return max(0, window - onset_window + 1)


def check_drift_kind(kind: str, spec: DriftSpec) -> None:
    """Raise :class:`DriftConfigError` when ``kind`` is unknown or not configured."""
    if kind not in DRIFT_KINDS:
        raise DriftConfigError(f"unknown drift kind {kind!r}; choose one of {DRIFT_KINDS}")
    if kind != "stable" and getattr(spec, kind.replace("-", "_")) is None:
        raise DriftConfigError(
            f"the scenario has no drift.{kind.replace('-', '_')} section, so {kind!r} drift"
            " cannot be simulated on it (see docs/retraining.md)"
        )


def apply_drift(
    window_rows: pd.DataFrame,
    pool: pd.DataFrame,
    kind: str,
    window: int,
    scenario: Scenario,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """The rows of ``window`` after ``kind`` drift (a new frame; the input is not changed).

    Parameters
    ----------
    window_rows : DataFrame
        The applicants drawn for this window, inputs and outcome column, as in the data file.
    pool : DataFrame
        All held-out applicants (the new-segment kind draws its segment rows from it).
    kind : {"stable", "inflation", "new-segment", "recession"}
        The drift to inject; see the module docstring.
    window : int
        0-based window number; drift starts at ``scenario.drift.onset_window``.
    scenario : Scenario
        Gives the drift configuration, the target column and its risky value.
    rng : numpy.random.Generator
        Source of randomness (seeded by the caller, so a simulation repeats exactly).
    """
    spec = scenario.drift
    check_drift_kind(kind, spec)
    rows = window_rows.copy()
    k = drift_strength(window, spec.onset_window)
    if k == 0 or kind == "stable":
        return rows
    if kind == "inflation":
        inflation = spec.inflation
        assert inflation is not None  # check_drift_kind refused a missing section
        factor = (1.0 + inflation.rate_per_window) ** k
        for column in inflation.columns:
            if column not in rows.columns:
                raise DriftConfigError(f"drift.inflation column {column!r} is not in the data")
            rows[column] = rows[column] * factor
        return rows
    if kind == "new-segment":
        config = spec.new_segment
        assert config is not None  # check_drift_kind refused a missing section
        segment = pool[segment_mask(pool, config.segment)]
        if segment.empty:
            raise DriftConfigError(f"no held-out row is in the new segment {config.segment}")
        n_new = int(round(min(config.max_share, config.share_per_window * k) * len(rows)))
        replaced = rng.choice(len(rows), size=n_new, replace=False)
        drawn = segment.iloc[rng.integers(0, len(segment), size=n_new)]
        rows.iloc[replaced] = drawn.to_numpy()
        return rows
    # recession: a concept shift inside the segment
    recession = spec.recession
    assert recession is not None  # check_drift_kind refused a missing section
    target, risky = scenario.data.target, scenario.data.positive_class
    repaid = rows[target].astype(str).to_numpy() != str(risky)
    hit = segment_mask(rows, recession.segment) & repaid
    hit &= rng.random(len(rows)) < recession.default_probability
    rows[target] = rows[target].astype(object)
    rows.loc[hit, target] = risky
    return rows
