"""Global attention against global SHAP: ranks, Spearman's rho and the largest disagreements."""

import pytest

from riskloop.evaluation.explain import attention_agreement


def _row(attention: dict[str, float], contributions: dict[str, float]) -> dict:
    return {
        "contributions": contributions,
        "attention": {"rollout": attention, "last_layer": attention},
    }


def test_same_ranking_is_rho_one_and_reversed_is_minus_one():
    contributions = {"a": -0.3, "b": 0.2, "c": 0.1, "d": 0.0}
    agreeing = [_row({"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}, contributions)]
    reversed_ = [_row({"a": 0.1, "b": 0.2, "c": 0.3, "d": 0.4}, contributions)]
    assert attention_agreement(agreeing)["spearman_rollout_vs_shap"] == pytest.approx(1.0)
    report = attention_agreement(reversed_)
    assert report["spearman_rollout_vs_shap"] == pytest.approx(-1.0)
    assert [r["feature"] for r in report["features"]] == ["a", "b", "c", "d"]  # by |SHAP|
    assert report["largest_disagreements"][:2] == ["a", "d"]


def test_means_over_rows_use_absolute_contributions():
    rows = [
        _row({"a": 0.6, "b": 0.4}, {"a": -1.0, "b": 0.5}),
        _row({"a": 0.2, "b": 0.8}, {"a": 3.0, "b": -0.5}),
    ]
    features = {r["feature"]: r for r in attention_agreement(rows)["features"]}
    assert features["a"]["mean_abs_shap"] == pytest.approx(2.0)
    assert features["b"]["attention_rollout"] == pytest.approx(0.6)
    assert features["a"]["shap_rank"] == 1 and features["a"]["attention_rank"] == 2
