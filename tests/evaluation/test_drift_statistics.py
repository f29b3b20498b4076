"""Drift statistics on hand-computed cases and against NumPy/SciPy: bin edges and counts, the
PSI floor and status bands, the reference profile, the Numba scan against plain NumPy, and
the per-feature table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import chi2_contingency, ks_2samp

from riskloop.data.schema import FeatureSpec, InputSchema
from riskloop.evaluation import drift
from riskloop.evaluation._drift_kernels import scan_numeric


def test_numeric_edges_are_the_deciles_without_repeats():
    values = np.r_[np.arange(1.0, 101.0), np.nan]
    deciles = np.quantile(np.arange(1.0, 101.0), np.arange(1, 10) / 10)
    assert drift._numeric_edges(values) == pytest.approx(deciles)
    # 50 ones, 30 twos, 20 threes: the nine deciles (interpolated at positions 9.9, 19.8, …,
    # 89.1 of the sorted 100) collapse to five distinct edges
    edges = drift._numeric_edges(np.repeat([1.0, 2.0, 3.0], [50, 30, 20]))
    assert edges == pytest.approx([1.0, 1.5, 2.0, 2.2, 3.0])
    assert drift._numeric_edges(np.array([np.nan, np.nan])) == []


def test_numeric_bins_are_closed_on_the_right_and_missing_comes_last():
    counts = drift.numeric_bin_counts(np.array([0.5, 1.0, 1.5, 2.0, 2.5, np.nan, np.nan]), [1, 2])
    assert counts.tolist() == [2.0, 2.0, 1.0, 2.0]  # (-inf, 1], (1, 2], (2, inf), missing


def test_categorical_bins_count_known_then_missing_then_other():
    values = pd.Series(["a", "b", "a", None, "z", 3, "3"])
    assert drift.categorical_bin_counts(values, ["a", "b", "3"]).tolist() == [2, 1, 2, 1, 1]


def test_reference_sample_is_capped_sorted_and_drawn_without_replacement():
    values = np.r_[np.arange(12_000.0), np.nan]
    sample = drift._sorted_sample(values, seed=1)
    assert len(sample) == drift.REFERENCE_SAMPLE == 5000
    assert sample == sorted(sample) and len(set(sample)) == 5000
    assert sample != drift._sorted_sample(values, seed=2)
    assert drift._sorted_sample(np.array([3.0, np.nan, 1.0]), seed=1) == [1.0, 3.0]


def test_reference_profile_by_hand():
    schema = InputSchema(
        (FeatureSpec("x", "numeric"), FeatureSpec("c", "categorical", categories=("u", "v")))
    )
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, None], "c": ["u", "v", "v", None, "u"]})
    profile = drift.reference_profile(frame, schema)
    assert profile["n"] == 5
    numeric, categorical = profile["features"]["x"], profile["features"]["c"]
    assert numeric["kind"] == "numeric" and numeric["n"] == 5
    assert numeric["sample"] == [1.0, 2.0, 3.0, 4.0]
    assert sum(numeric["shares"]) == pytest.approx(1.0) and numeric["shares"][-1] == 0.2
    assert categorical == {
        "kind": "categorical",
        "categories": ["u", "v"],
        "shares": [0.4, 0.4, 0.2, 0.0],
        "n": 5,
    }


def test_psi_floors_empty_bins_at_epsilon():
    e, a = np.array([0.5, 0.5, 0.0]), np.array([0.4, 0.4, 0.2])
    floored = np.array([0.5, 0.5, 1e-4])
    expected = np.sum((a - floored) * np.log(a / floored))
    assert drift.population_stability_index(e, a) == pytest.approx(expected, rel=1e-12)
    assert drift.population_stability_index(np.zeros(3), np.zeros(3)) == 0.0


def test_psi_status_bands_are_stable_below_a_tenth_and_act_above_a_quarter():
    assert [drift.psi_status(v) for v in (0.0999, 0.10, 0.25, 0.2501)] == [
        "stable",
        "watch",
        "watch",
        "act",
    ]


def test_scan_equals_numpy_bins_and_positions_with_ties_and_missing():
    rng = np.random.default_rng(11)
    reference = np.sort(rng.normal(0, 1, 400).round(1))
    values = rng.normal(0.2, 1.1, 3000).round(1)
    values[::13] = np.nan
    edges = np.array(drift._numeric_edges(reference))
    counts, n_less, n_less_equal = scan_numeric(values, edges, reference)
    finite = values[~np.isnan(values)]
    m = len(reference)
    assert counts.tolist() == drift.numeric_bin_counts(values, list(edges)).tolist()
    expected_less = np.bincount(np.searchsorted(reference, finite, "left"), minlength=m + 1)
    expected_less_equal = np.bincount(np.searchsorted(reference, finite, "right"), minlength=m + 1)
    assert n_less.tolist() == expected_less.tolist()
    assert n_less_equal.tolist() == expected_less_equal.tolist()


def test_ks_and_chi_squared_edge_cases():
    nan_pair = drift.ks_against_reference(np.array([]), np.array([1.0]))
    assert np.isnan(nan_pair).all()
    assert np.isnan(drift.ks_against_reference(np.array([1.0]), np.array([np.nan]))).all()
    # one category left after dropping empty ones, or no new rows: nothing to test
    assert drift.chi_squared_against_reference(np.array([1.0, 0.0]), 10, np.array([5, 0])) == (
        0.0,
        1.0,
    )
    assert drift.chi_squared_against_reference(np.array([0.5, 0.5]), 10, np.zeros(2)) == (0.0, 1.0)


def test_drift_table_matches_scipy_and_skips_absent_features():
    rng = np.random.default_rng(4)
    schema = InputSchema(
        (
            FeatureSpec("x", "numeric"),
            FeatureSpec("c", "categorical", categories=("u", "v")),
            FeatureSpec("gone", "numeric"),
        )
    )
    train = pd.DataFrame(
        {
            "x": rng.normal(0, 1, 800).round(2),
            "c": rng.choice(["u", "v"], 800, p=[0.7, 0.3]),
            "gone": rng.random(800),
        }
    )
    profile = drift.reference_profile(train, schema)
    new = pd.DataFrame(
        {"x": rng.normal(0.3, 1, 300).round(2), "c": rng.choice(["u", "v", "w"], 300)}
    )
    table = drift.drift_by_feature(profile, new).set_index("feature")
    assert list(table.index) == ["x", "c"]
    x = table.loc["x"]
    reference_ks = ks_2samp(new["x"], np.array(profile["features"]["x"]["sample"]), method="asymp")
    assert (x["statistic"], x["p_value"]) == pytest.approx(
        (reference_ks.statistic, reference_ks.pvalue), rel=1e-9
    )
    shares = profile["features"]["x"]["shares"]
    counts = drift.numeric_bin_counts(new["x"].to_numpy(), profile["features"]["x"]["edges"])
    assert x["psi"] == pytest.approx(drift.population_stability_index(shares, counts))
    assert x["status"] == drift.psi_status(x["psi"]) and x["test"] == "ks"
    c = table.loc["c"]
    counts = drift.categorical_bin_counts(new["c"], ["u", "v"])
    reference_counts = np.array(profile["features"]["c"]["shares"]) * 800
    contingency = np.vstack([reference_counts, counts])
    expected = chi2_contingency(contingency[:, contingency.sum(axis=0) > 0], correction=False)
    assert (c["statistic"], c["p_value"]) == pytest.approx((expected.statistic, expected.pvalue))
    assert c["psi"] == pytest.approx(
        drift.population_stability_index(profile["features"]["c"]["shares"], counts)
    )
    assert (table["n"] == 300).all() and (table["n_reference"] == 800).all()


def test_psi_normalises_inputs_whatever_they_sum_to():
    assert drift.population_stability_index([0.25, 0.25], [0.5, 0.5]) == 0.0
    assert drift.population_stability_index([0.25, 0.25], [0.1, 0.3]) == pytest.approx(
        drift.population_stability_index([0.5, 0.5], [0.25, 0.75]), rel=1e-12
    )


def test_chi_squared_keeps_two_categories_and_a_category_seen_once():
    for shares, counts in (
        (np.array([0.6, 0.4]), np.array([20.0, 30.0])),  # a binary feature
        (np.array([0.5, 0.5, 0.0]), np.array([3.0, 2.0, 1.0])),  # one row of a new category
    ):
        table = np.vstack([shares * 10, counts])
        expected = chi2_contingency(table[:, table.sum(axis=0) > 0], correction=False)
        got = drift.chi_squared_against_reference(shares, 10, counts)
        assert got == pytest.approx((expected.statistic, expected.pvalue))


def test_drift_table_reads_older_profiles_and_skips_an_absent_feature_anywhere():
    rng = np.random.default_rng(8)
    schema = InputSchema(
        (
            FeatureSpec("gone", "numeric"),
            FeatureSpec("x", "numeric"),
            FeatureSpec("c", "categorical", categories=("u", "v")),
        )
    )
    train = pd.DataFrame(
        {"gone": rng.random(200), "x": rng.normal(0, 1, 200), "c": rng.choice(["u", "v"], 200)}
    )
    profile = drift.reference_profile(train, schema)
    for entry in profile["features"].values():  # a profile saved before samples and sizes
        entry.pop("sample", None)
        entry.pop("n")
    new = pd.DataFrame({"x": ["0.5", "n/a", "1.5", "-0.2"], "c": ["u", "v", "v", "u"]})
    table = drift.drift_by_feature(profile, new).set_index("feature")
    assert list(table.index) == ["x", "c"]
    assert (table["n_reference"] == 200).all()
    assert np.isnan(table.loc["x", "statistic"])  # no sample: no KS test, PSI still computed
    shares = profile["features"]["x"]["shares"]
    counts = drift.numeric_bin_counts(
        np.array([0.5, np.nan, 1.5, -0.2]), profile["features"]["x"]["edges"]
    )
    assert table.loc["x", "psi"] == pytest.approx(drift.population_stability_index(shares, counts))
    expected = drift.chi_squared_against_reference(
        np.asarray(profile["features"]["c"]["shares"]), 200, np.array([2.0, 2.0, 0.0, 0.0])
    )
    assert (table.loc["c", "statistic"], table.loc["c", "p_value"]) == pytest.approx(expected)
