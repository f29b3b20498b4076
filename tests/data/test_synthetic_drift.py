"""Drift generators: each kind changes exactly what its docstring says, by the configured
amount, and nothing before the onset."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from riskloop.data.scenario import Scenario
from riskloop.data.synthetic_drift import DriftConfigError, apply_drift, segment_mask


@pytest.fixture()
def frame(credit_frame) -> pd.DataFrame:
    return credit_frame.sample(n=2000, random_state=0).reset_index(drop=True)


def _drift(frame, kind, window, scenario, seed=0):
    return apply_drift(frame, frame, kind, window, scenario, np.random.default_rng(seed))


def test_nothing_changes_before_the_onset_or_when_stable(frame, credit_scenario):
    onset = credit_scenario.drift.onset_window
    for kind in ("inflation", "new-segment", "recession"):
        pd.testing.assert_frame_equal(_drift(frame, kind, onset - 1, credit_scenario), frame)
    pd.testing.assert_frame_equal(_drift(frame, "stable", onset + 5, credit_scenario), frame)


def test_inflation_compounds_the_configured_rate_on_money_columns_only(frame, credit_scenario):
    spec = credit_scenario.drift
    window = spec.onset_window + 2  # three windows of drift
    drifted = _drift(frame, "inflation", window, credit_scenario)
    factor = (1 + spec.inflation.rate_per_window) ** 3
    for column in frame.columns:
        if column in spec.inflation.columns:
            np.testing.assert_allclose(drifted[column], frame[column] * factor)
        else:
            pd.testing.assert_series_equal(drifted[column], frame[column])


def test_new_segment_grows_its_share_window_by_window(frame, credit_scenario):
    spec = credit_scenario.drift.new_segment
    before = segment_mask(frame, spec.segment).mean()
    for k in (1, 2, 6):
        drifted = _drift(
            frame,
            "new-segment",
            credit_scenario.drift.onset_window + k - 1,
            credit_scenario,
            seed=k,
        )
        added = min(spec.max_share, spec.share_per_window * k)
        # replaced rows are all in the segment; the rest keep the old share
        expected = added + (1 - added) * before
        assert segment_mask(drifted, spec.segment).mean() == pytest.approx(expected, abs=0.02)
        assert list(drifted.columns) == list(frame.columns)


def test_recession_turns_the_configured_share_of_segment_repayers_into_defaults(
    frame, credit_scenario
):
    spec = credit_scenario.drift.recession
    target, risky = credit_scenario.data.target, credit_scenario.data.positive_class
    drifted = _drift(frame, "recession", credit_scenario.drift.onset_window, credit_scenario)
    pd.testing.assert_frame_equal(drifted.drop(columns=target), frame.drop(columns=target))
    segment = segment_mask(frame, spec.segment)
    repaid = (frame[target] != risky).to_numpy()
    flipped = (drifted[target] == risky).to_numpy() & repaid
    assert not flipped[~segment].any()  # only the segment is hit
    n = int((segment & repaid).sum())
    share = flipped[segment & repaid].mean()
    # binomial(n, p): within 4 standard errors
    assert abs(share - spec.default_probability) < 4 * np.sqrt(
        spec.default_probability * (1 - spec.default_probability) / n
    )
    # defaults are never turned into repayments
    assert (drifted[target][~repaid] == risky).all()


def test_a_kind_the_scenario_does_not_configure_is_refused_by_name(frame, credit_scenario):
    bare = Scenario.model_validate({**credit_scenario.model_dump(), "drift": {"onset_window": 1}})
    with pytest.raises(DriftConfigError, match="no drift.recession section"):
        _drift(frame, "recession", 3, bare)
    with pytest.raises(DriftConfigError, match="unknown drift kind 'boom'"):
        _drift(frame, "boom", 3, credit_scenario)
