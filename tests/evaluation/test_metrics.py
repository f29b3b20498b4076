import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp
from sklearn.metrics import brier_score_loss, roc_auc_score

from riskloop.data.schema import FeatureSpec, InputSchema
from riskloop.evaluation.drift import (
    chi_squared_against_reference,
    drift_by_feature,
    ks_against_reference,
    population_stability_index,
    psi_status,
    reference_profile,
)
from riskloop.evaluation.metrics import classification_metrics, ks_statistic


@pytest.fixture()
def scores():
    rng = np.random.default_rng(2024)
    y = rng.integers(0, 2, 3000)
    p = np.clip(0.3 + 0.25 * y + rng.normal(0, 0.2, 3000), 0, 1).round(2)  # ties on purpose
    return y, p


def test_ks_equals_scipy_two_sample_statistic(scores):
    y, p = scores
    assert ks_statistic(y, p) == pytest.approx(ks_2samp(p[y == 1], p[y == 0]).statistic, abs=1e-12)


def test_metrics_match_references(scores):
    y, p = scores
    m = classification_metrics(y, p)
    assert m["auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert m["gini"] == pytest.approx(2 * m["auc"] - 1)
    assert m["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)


def test_psi_hand_computed():
    # e = (0.5, 0.5), a = (0.25, 0.75): (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5)
    expected = -0.25 * np.log(0.5) + 0.25 * np.log(1.5)
    assert population_stability_index([50, 50], [25, 75]) == pytest.approx(expected, rel=1e-12)
    assert population_stability_index([1, 2, 3], [2, 4, 6]) == 0.0
    assert [psi_status(v) for v in (0.05, 0.2, 0.3)] == ["stable", "watch", "act"]


def test_drift_by_feature_sees_a_shift_and_not_a_resample():
    rng = np.random.default_rng(5)
    schema = InputSchema(
        (
            FeatureSpec("income", "numeric"),
            FeatureSpec("home", "categorical", categories=("a", "b")),
        )
    )
    train = pd.DataFrame(
        {"income": rng.normal(100, 20, 5000), "home": rng.choice(["a", "b"], 5000)}
    )
    profile = reference_profile(train, schema)
    same = pd.DataFrame({"income": rng.normal(100, 20, 5000), "home": rng.choice(["a", "b"], 5000)})
    moved = pd.DataFrame(
        {"income": rng.normal(130, 20, 5000), "home": rng.choice(["a", "b", "c"], 5000)}
    )
    stable = drift_by_feature(profile, same).set_index("feature")["psi"]
    drifted = drift_by_feature(profile, moved).set_index("feature")["psi"]
    assert stable.max() < 0.01
    assert drifted["income"] > 0.25 and drifted["home"] > 0.25
    tests = drift_by_feature(profile, moved).set_index("feature")
    assert tests.loc["income", "test"] == "ks" and tests.loc["home", "test"] == "chi2"
    assert (tests["p_value"] < 1e-6).all() and (tests["n"] == 5000).all()
    assert (tests["n_reference"] == 5000).all()


@pytest.mark.parametrize(
    ("m", "n", "shift", "decimals"),
    [(3000, 1000, 0.0, None), (3000, 50000, 0.05, None), (500, 700, 0.3, 1), (2000, 20, 0.0, 0)],
)
def test_fast_ks_equals_scipy_including_ties(m, n, shift, decimals):
    rng = np.random.default_rng(m + n)
    reference, new = rng.normal(0, 1, m), rng.normal(shift, 1, n)
    if decimals is not None:  # rounded data: many ties within and across samples
        reference, new = reference.round(decimals), new.round(decimals)
    new[::7] = np.nan  # missing values are ignored by the test, as in the PSI's own bin
    statistic, p_value = ks_against_reference(np.sort(reference), new)
    expected = ks_2samp(new[~np.isnan(new)], reference, method="asymp")
    assert statistic == pytest.approx(expected.statistic, abs=1e-12)
    assert p_value == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-15)


def test_chi_squared_equals_scipy_contingency():
    shares, n_reference = np.array([0.5, 0.3, 0.2, 0.0]), 1000
    counts = np.array([40.0, 35.0, 20.0, 5.0])
    statistic, p_value = chi_squared_against_reference(shares, n_reference, counts)
    table = np.array([[500.0, 300.0, 200.0, 0.0], counts])
    expected = chi2_contingency(table, correction=False)
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue))
