"""EDA numbers against hand computations and pandas; the report's contents; the pipeline output."""

import base64
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.decomposition import PCA as SklearnPCA

from riskloop.data.scenario import Scenario
from riskloop.data.schema import categorical_columns, input_columns, target_vector
from riskloop.evaluation.eda import (
    MISSING,
    OTHER,
    assign_bins,
    explore,
    information_value,
    iv_strength,
    missingness,
    pca_kmeans_view,
    target_rate_by_bin,
)
from riskloop.evaluation.report_html import render_eda_report
from riskloop.features.preprocessing import TabularPreprocessor
from riskloop.pipelines.data_processing.nodes import validate_and_clean
from riskloop.pipelines.eda.nodes import explore_training_data, outcome_labels

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _two_by_two() -> tuple[pd.DataFrame, np.ndarray]:
    """A: 30 good, 10 bad; B: 10 good, 10 bad (G = 40, B = 20)."""
    x = ["A"] * 40 + ["B"] * 20
    y = [0] * 30 + [1] * 10 + [0] * 10 + [1] * 10
    return pd.DataFrame({"x": x}), np.array(y)


def test_woe_and_iv_of_a_two_by_two_table_by_hand():
    frame, y = _two_by_two()
    iv, table = information_value(frame, "x", y, smoothing=0.0)
    # g = (30/40, 10/40) = (0.75, 0.25); b = (10/20, 10/20) = (0.5, 0.5)
    assert table["bin"].tolist() == ["A", "B"]  # most frequent category first
    assert table["woe"].tolist() == pytest.approx([math.log(1.5), math.log(0.5)], abs=1e-12)
    assert iv == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2.0), abs=1e-12)
    assert iv == pytest.approx(0.2746530722, abs=1e-9)
    assert table["bad_rate"].tolist() == pytest.approx([0.25, 0.5])
    # smoothing 0.5 on k = 2 bins: g = (30.5/41, 10.5/41), b = (10.5/21, 10.5/21)
    iv_smooth, smooth = information_value(frame, "x", y)
    assert smooth["share_good"].tolist() == pytest.approx([30.5 / 41, 10.5 / 41])
    assert smooth["share_bad"].tolist() == pytest.approx([0.5, 0.5])
    expected = (30.5 / 41 - 0.5) * math.log(61 / 41) + (10.5 / 41 - 0.5) * math.log(21 / 41)
    assert iv_smooth == pytest.approx(expected, abs=1e-12)
    assert iv_smooth == pytest.approx(0.2600857, abs=1e-6)


def test_three_bins_with_an_empty_cell_and_a_missing_bin():
    # x = 1: 5 good, 0 bad; x = 2: 3 good, 3 bad; x = 3: 2 good, 7 bad; missing: 1 good, 1 bad
    x = [1] * 5 + [2] * 6 + [3] * 9 + [np.nan] * 2
    y = [0] * 5 + [0, 0, 0, 1, 1, 1] + [0, 0] + [1] * 7 + [0, 1]
    frame = pd.DataFrame({"x": x})
    iv, table = information_value(frame, "x", np.array(y), bins=10)
    assert table["bin"].tolist() == ["1", "2", "3", MISSING]
    assert table["count"].tolist() == [5, 6, 9, 2]
    # k = 4, G = B = 11: g = (5.5, 3.5, 2.5, 1.5)/13, b = (0.5, 3.5, 7.5, 1.5)/13
    assert table["woe"].tolist() == pytest.approx(
        [math.log(11), 0.0, math.log(1 / 3), 0.0], abs=1e-12
    )
    assert iv == pytest.approx(5 / 13 * math.log(11) + 5 / 13 * math.log(3), abs=1e-12)
    # without smoothing the empty cell gives an infinite WoE, as the textbook formula does
    iv_raw, raw = information_value(frame, "x", np.array(y), smoothing=0.0)
    assert math.isinf(raw["woe"].iloc[0]) and math.isinf(iv_raw)


def test_woe_sign_convention_and_iv_symmetry(credit_frame, credit_scenario):
    y = target_vector(credit_frame, credit_scenario)
    iv, table = information_value(credit_frame, "Records", y)
    rates = table.set_index("bin")["bad_rate"]
    woe = table.set_index("bin")["woe"]
    assert rates["yes"] > y.mean() > rates["no"]
    assert woe["no"] > 0 > woe["yes"]  # positive WoE = safer than average
    iv_flipped, flipped = information_value(credit_frame, "Records", 1 - y)
    assert iv_flipped == pytest.approx(iv, abs=1e-12)
    assert flipped["woe"].to_numpy() == pytest.approx(-table["woe"].to_numpy(), abs=1e-12)


@pytest.mark.parametrize(
    ("reading", "value"),
    [("useless", 0.01), ("weak", 0.02), ("weak", 0.09), ("medium", 0.2), ("strong", 0.3),
     ("strong", 0.49), ("suspicious", 0.5), ("suspicious", 3.0)],
)  # fmt: skip
def test_iv_reading(reading, value):
    assert iv_strength(value) == reading


@pytest.mark.parametrize("column", ["Seniority", "Age", "Amount", "Price", "Income", "Assets"])
def test_target_rate_by_quantile_bin_equals_pandas_qcut_groupby(
    credit_frame, credit_scenario, column
):
    y = pd.Series(target_vector(credit_frame, credit_scenario))
    table = target_rate_by_bin(credit_frame, column, y.to_numpy(), bins=10)
    values = credit_frame[column]
    present = values.notna()
    reference = (
        y[present]
        .groupby(pd.qcut(values[present], 10, duplicates="drop"), observed=True)
        .agg(["size", "mean"])
    )
    shown = table[table["bin"] != MISSING]
    assert shown["count"].tolist() == reference["size"].tolist()
    assert shown["bad_rate"].to_numpy() == pytest.approx(reference["mean"].to_numpy(), abs=1e-12)
    if (~present).any():
        last = table.iloc[-1]
        assert last["bin"] == MISSING and last["count"] == (~present).sum()
        assert last["bad_rate"] == pytest.approx(y[~present].mean())
    assert table["share"].sum() == pytest.approx(1.0)


def test_target_rate_of_categories_and_few_values_equals_groupby(credit_frame, credit_scenario):
    y = pd.Series(target_vector(credit_frame, credit_scenario))
    for column in ("Home", "Time"):  # Time: fewer distinct terms than bins, one bin each
        table = target_rate_by_bin(credit_frame, column, y.to_numpy(), bins=20).set_index("bin")
        keys = credit_frame[column].astype("string").fillna(MISSING)  # terms are < 1,000
        reference = y.groupby(keys).agg(["size", "mean"])
        assert set(table.index) == set(reference.index)
        assert table.loc[reference.index, "count"].tolist() == reference["size"].tolist()
        assert table.loc[reference.index, "bad_rate"].to_numpy() == pytest.approx(
            reference["mean"].to_numpy(), abs=1e-12
        )


def test_rare_categories_are_pooled_beyond_max_categories():
    values = pd.Series(list("aaaabbbccd") + [None])
    binned = assign_bins(values, max_categories=3)
    assert list(binned.cat.categories) == ["a", "b", OTHER, MISSING]
    assert binned.value_counts()[OTHER] == 3


def test_missingness_counts_and_rates(credit_frame, credit_scenario):
    y = target_vector(credit_frame, credit_scenario)
    table = missingness(credit_frame, y).set_index("column")
    assert table["n_missing"].to_dict() == credit_frame.isna().sum().to_dict()
    income_missing = credit_frame["Income"].isna().to_numpy()
    assert table.loc["Income", "share_missing"] == pytest.approx(income_missing.mean())
    assert table.loc["Income", "bad_rate_missing"] == pytest.approx(y[income_missing].mean())
    assert table.loc["Income", "bad_rate_present"] == pytest.approx(y[~income_missing].mean())
    assert np.isnan(table.loc["Age", "bad_rate_missing"])
    assert table.index[0] == "Income"  # most missing first


def test_bad_outcome_vectors_are_refused_with_a_clear_message(credit_frame):
    with pytest.raises(ValueError, match="one outcome per row: 4454 rows"):
        target_rate_by_bin(credit_frame, "Age", [0, 1])
    with pytest.raises(ValueError, match="0 \\(good\\) or 1 .* received 2"):
        target_rate_by_bin(credit_frame, "Age", np.full(len(credit_frame), 2))
    with pytest.raises(KeyError, match="column 'Nope' is not in the data"):
        information_value(credit_frame, "Nope", np.zeros(len(credit_frame)))


def test_pca_kmeans_view_uses_the_standardised_model_matrix(credit_frame, credit_scenario):
    frame = credit_frame.sample(800, random_state=3).reset_index(drop=True)
    y = target_vector(frame, credit_scenario)
    categorical = list(credit_scenario.data.categorical)
    numeric = [c for c in input_columns(frame, credit_scenario) if c not in categorical]
    view = pca_kmeans_view(frame, numeric, categorical, y, n_clusters=3, seed=1)
    matrix = TabularPreprocessor(numeric=numeric, categorical=categorical).fit_transform(frame)
    reference = SklearnPCA().fit(matrix)
    assert view["explained_variance_ratio"] == pytest.approx(
        reference.explained_variance_ratio_, abs=1e-9
    )
    assert np.abs(view["coordinates"]) == pytest.approx(
        np.abs(reference.transform(matrix)[:, :2]), abs=1e-7
    )
    clusters = view["clusters_table"]
    by_cluster = pd.Series(y).groupby(view["clusters"]).agg(["size", "mean"])
    assert clusters["count"].tolist() == by_cluster["size"].tolist()
    assert clusters["bad_rate"].to_numpy() == pytest.approx(by_cluster["mean"].to_numpy())
    assert clusters["count"].is_monotonic_decreasing  # numbered by size
    assert clusters["lift"].to_numpy() == pytest.approx(clusters["bad_rate"] / y.mean())


def _churn_like(n: int = 300, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 72, n).astype(float)
    tenure[:7] = np.nan
    plan = rng.choice(["basic", "plus", "pro"], n)
    churn = rng.random(n) < 1 / (1 + np.exp(0.05 * np.nan_to_num(tenure, nan=30) - 1))
    return pd.DataFrame(
        {
            "tenure": tenure,
            "plan": plan,
            "<b>charges</b>": rng.normal(60, 15, n),  # a hostile column name must be escaped
            "churn": np.where(churn, "yes", "no"),
        }
    )


def test_report_has_every_section_and_embedded_pngs():
    frame = _churn_like()
    scenario = Scenario.model_validate(
        {
            "name": "churn",
            "model_name": "churn-model",
            "data": {"path": "unused.csv", "target": "churn", "positive_class": "yes"},
        }
    )
    html, summary = explore_training_data(
        frame, scenario, {"bins": 5, "max_categories": 20, "smoothing": 0.5, "n_clusters": 3,
                          "seed": 0}
    )  # fmt: skip
    for section in ("summary", "missingness", "information-value", "features", "correlations",
                    "structure", "method"):  # fmt: skip
        assert f'<section id="{section}">' in html
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # missingness, IV, 3 features, correlation, PCA/k-means
    assert len(images) == 7
    assert all(base64.b64decode(image).startswith(PNG_MAGIC) for image in images)
    assert "http://" not in html and "https://" not in html and "<script" not in html
    assert "<b>charges</b>" not in html and "&lt;b&gt;charges&lt;/b&gt;" in html
    assert "churn=yes" in html and "churn=no" in html
    assert summary["outcome"] == "churn=yes"
    assert {r["feature"] for r in summary["information_value"]} == {
        "tenure", "plan", "<b>charges</b>",
    }  # fmt: skip
    assert summary["missingness"][0]["column"] == "tenure"
    assert summary["missingness"][0]["n_missing"] == 7
    json.dumps(summary)  # JSON-safe


def test_outcome_labels_name_both_values(credit_frame, credit_scenario):
    assert outcome_labels(credit_frame, credit_scenario) == ("Status=good", "Status=bad")


@pytest.mark.slow
def test_pipeline_writes_the_report_of_the_training_split(trained_project, credit_scenario):
    reporting = trained_project.data_dir / "08_reporting"
    html = (reporting / "eda.html").read_text()
    summary = json.loads((reporting / "eda.json").read_text())
    train = pd.read_parquet(trained_project.data_dir / "05_model_input" / "train.parquet")
    y = target_vector(train, credit_scenario)
    assert summary["overview"]["n_rows"] == len(train)
    assert summary["overview"]["bad_rate"] == pytest.approx(y.mean())
    ivs = {row["feature"]: row["iv"] for row in summary["information_value"]}
    assert set(ivs) == set(input_columns(train, credit_scenario))
    for column in ("Seniority", "Records", "Income"):
        categorical = column in categorical_columns(train, credit_scenario)
        expected, _ = information_value(train, column, y, categorical=categorical)
        assert ivs[column] == pytest.approx(expected, abs=1e-12)
        assert f"<h3>{column} " in html
    assert len(re.findall(r"data:image/png;base64,", html)) == len(ivs) + 4


def test_render_is_independent_of_the_pipeline(credit_frame, credit_scenario):
    """The renderer works from an :func:`explore` result alone (the notebook's path)."""
    clean, _ = validate_and_clean(credit_frame, credit_scenario)
    sample = clean.sample(500, random_state=0).reset_index(drop=True)
    y = target_vector(sample, credit_scenario)
    result = explore(sample, y, ["Age", "Income"], ["Records"], n_clusters=2)
    html = render_eda_report(
        result, sample, y, title="t", outcome_labels=("good", "bad"), context={"rows": "sample"}
    )
    assert result.information_values["iv"].is_monotonic_decreasing
    assert html.count('<div class="feature"') == 3
