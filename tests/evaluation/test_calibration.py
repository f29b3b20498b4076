"""Calibration maps against scikit-learn, their JSON round trip, and the honest choice."""

import numpy as np
import pytest
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression

from riskloop.evaluation.calibration import (
    IsotonicCalibrator,
    PlattCalibrator,
    calibrator_from_dict,
    choose_calibration,
    reliability_bins,
)


def _overconfident(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    true_p = rng.uniform(0.05, 0.95, n)
    y = (rng.random(n) < true_p).astype(int)
    logit = np.log(true_p / (1 - true_p))
    return 1 / (1 + np.exp(-3 * logit)), y  # scores three times too extreme in log-odds


def test_platt_recovers_the_distortion_and_matches_sklearn():
    p, y = _overconfident()
    platt = PlattCalibrator.fit(p, y)
    assert platt.slope == pytest.approx(1 / 3, abs=0.05)
    reference = LogisticRegression(C=1e6, max_iter=1000).fit(np.log(p / (1 - p))[:, None], y)
    np.testing.assert_allclose(
        platt.transform(p), reference.predict_proba(np.log(p / (1 - p))[:, None])[:, 1], atol=1e-6
    )


def test_isotonic_matches_sklearn_and_round_trips_as_numbers():
    p, y = _overconfident(seed=1)
    iso = IsotonicCalibrator.fit(p, y)
    reference = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1).fit(p, y)
    grid = np.linspace(0, 1, 501)
    np.testing.assert_allclose(iso.transform(grid), reference.predict(grid), atol=1e-12)
    again = calibrator_from_dict(iso.to_dict())
    np.testing.assert_array_equal(again.transform(grid), iso.transform(grid))
    assert calibrator_from_dict(PlattCalibrator(2.0, -1.0).to_dict()) == PlattCalibrator(2.0, -1.0)


def test_choice_is_cross_fitted_and_prefers_none_when_already_calibrated():
    p, y = _overconfident(seed=2)
    calibrator, crossfit, scores = choose_calibration(p, y)
    assert calibrator.method in {"platt", "isotonic"} and scores[calibrator.method] < scores["none"]
    assert crossfit.shape == p.shape and not np.allclose(crossfit, calibrator.transform(p))
    rng = np.random.default_rng(5)
    well = rng.uniform(0.05, 0.95, 3000)
    outcome = (rng.random(3000) < well).astype(int)
    _, _, scores = choose_calibration(well, outcome)
    # an already calibrated score gains (almost) nothing from a map; the distorted one gained a lot
    assert scores["none"] <= min(scores.values()) + 0.001


def test_reliability_bins_count_every_row():
    p, y = _overconfident(seed=3)
    bins = reliability_bins(y, p, n_bins=10)
    assert sum(b["count"] for b in bins) == len(p)
    assert all(0 <= b["observed"] <= 1 for b in bins)
