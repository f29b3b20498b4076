"""Model page: what is in service, its model card, how the candidates compared and how well
its probabilities are calibrated."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from riskloop.ui.charts import calibration_chart, comparison_chart
from riskloop.ui.components import (
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
    model = model_or_explain()
    if model is None:
        return
    model_caption(model)
    headline(model)
    reports = reports_or_explain()
    if reports is None:
        return

    card, comparison, calibration = st.tabs(["Model card", "Candidates", "Calibration"])
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


render()
