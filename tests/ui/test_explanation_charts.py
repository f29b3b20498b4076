"""The Model page's explanation charts draw the report's numbers."""

from riskloop.ui.charts import attention_vs_shap_chart, importance_chart


def _data(chart) -> list[dict]:
    spec = chart.to_dict()
    return next(iter(spec["datasets"].values()))


def test_importance_chart_has_one_bar_per_feature_most_important_first():
    chart = importance_chart({"Income": 0.4, "Age": 0.1, "Job": 0.25}, "log-odds")
    assert _data(chart) == [
        {"feature": "Income", "value": 0.4},
        {"feature": "Age", "value": 0.1},
        {"feature": "Job", "value": 0.25},
    ]
    spec = chart.to_dict()
    assert spec["encoding"]["y"]["sort"] == "-x"
    assert spec["encoding"]["x"]["title"] == "mean |contribution| (log-odds)"


def test_attention_chart_puts_shares_side_by_side():
    rows = [
        {"feature": "Income", "attention_rollout": 0.2, "mean_abs_shap": 0.3},
        {"feature": "Age", "attention_rollout": 0.8, "mean_abs_shap": 0.1},
    ]
    data = {(d["feature"], d["measure"]): d["share"] for d in _data(attention_vs_shap_chart(rows))}
    assert data[("Income", "attention")] == 0.2
    assert data[("Age", "attention")] == 0.8
    assert abs(data[("Income", "|SHAP|")] - 0.75) < 1e-12
    assert abs(data[("Age", "|SHAP|")] - 0.25) < 1e-12
