"""Model page: what is in service, its model card, how the candidates compared and how well
its probabilities are calibrated."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from riskloop.ui.charts import (
    attention_vs_shap_chart,
    calibration_chart,
    comparison_chart,
    importance_chart,
)
from riskloop.ui.components import (
    ANALYST,
    holds_role,
    model_caption,
    model_or_explain,
    not_available,
    reports_or_explain,
)

HEADLINE_METRICS = ("auc", "gini", "ks", "brier")


def headline(model: dict[str, Any]) -> None:
    metrics = model.get("metrics") or {}
    shown = [(k, v) for k, v in metrics.items() if isinstance(v, int | float)]
    # The usual discrimination/calibration numbers first, whatever their prefix (test_auc, …).
    shown.sort(key=lambda kv: next((i for i, m in enumerate(HEADLINE_METRICS) if m in kv[0]), 9))
    if shown:
        for column, (name, value) in zip(st.columns(min(len(shown), 4)), shown[:4], strict=False):
            column.metric(name, f"{value:.3f}")
        if len(shown) > 4:
            with st.expander("All metrics"):
                st.dataframe(pd.DataFrame(shown, columns=["metric", "value"]), hide_index=True)
    facts = {
        "trained at": model.get("trained_at") or "unknown",
        "training data SHA-256": (model.get("data_sha256") or "unknown")[:16],
    }
    st.caption(" · ".join(f"{k}: {v}" for k, v in facts.items()))


def render() -> None:
    st.title("Model", anchor=False)
    if not holds_role(ANALYST):
        return
    model = model_or_explain()
    if model is None:
        return
    model_caption(model)
    headline(model)
    reports = reports_or_explain()
    if reports is None:
        return

    card, comparison, calibration, explanations = st.tabs(
        ["Model card", "Candidates", "Calibration", "Explanations"]
    )
    with card:
        if reports.get("model_card"):
            st.markdown(reports["model_card"])
        else:
            not_available("Model card")
    with comparison:
        rows = reports.get("comparison")
        if rows:
            st.caption("Every candidate the pipeline trained, on the same folds and validation.")
            chart = comparison_chart(rows)
            if chart is not None:
                st.altair_chart(chart, width="stretch")
            st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
        else:
            not_available("Candidate comparison")
    with calibration:
        document = reports.get("calibration")
        if document and document.get("bins"):
            st.caption(
                f"Calibration method: {document.get('method', 'unknown')}. Points on the dashed"
                " diagonal mean the predicted probability is the default rate actually observed."
            )
            st.altair_chart(calibration_chart(document), width="stretch")
            with st.expander("Bins"):
                st.dataframe(pd.DataFrame(document["bins"]), hide_index=True)
        else:
            not_available("Calibration")
    with explanations:
        explanation_tab(reports.get("explanations") or {})


def explanation_tab(document: dict[str, Any]) -> None:
    """Global SHAP importance; for an attention model, where it looked beside it."""
    importance = document.get("mean_abs_contribution")
    if not document.get("available") or not importance:
        not_available("Global explanations")
        return
    unit = "log-odds" if document.get("output_space") == "log_odds" else "probability"
    st.caption(
        f"How much each input moved the scores, on average over {document.get('n_explained')}"
        " test applicants (SHAP). The reasons given with each decline come from the same"
        " contributions."
    )
    st.altair_chart(importance_chart(importance, unit), width="stretch")
    attention = document.get("attention")
    if attention:
        rho = attention["spearman_rollout_vs_shap"]
        st.subheader("Where the model looked", anchor=False)
        st.write(
            f"The transformer's [CLS] token attends to the features that it reads to form its"
            f" summary. Attention and SHAP rank the features with a Spearman correlation of"
            f" **{rho:.2f}**; they differ most on"
            f" {', '.join(attention['largest_disagreements'])}. Attention is where the model"
            " looked, not how much a feature moved a score: reasons never come from it."
        )
        st.altair_chart(attention_vs_shap_chart(attention["features"]), width="stretch")


render()
