"""Business page: the profit curve and what a threshold means for the lender — approval rate,
bad rate among the approved and profit per 1,000 applications (nearest point of the curve the
training pipeline computed on validation data; no model code runs here)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from riskloop.ui.charts import operating_point, profit_chart, rates_chart
from riskloop.ui.components import (
    ANALYST,
    holds_role,
    model_caption,
    model_or_explain,
    not_available,
    reports_or_explain,
)
from riskloop.ui.documents import sections


def render() -> None:
    st.title("Business impact", anchor=False)
    if not holds_role(ANALYST):
        return
    model = model_or_explain()
    if model is None:
        return
    model_caption(model)
    reports = reports_or_explain()
    if reports is None:
        return

    curve = reports.get("profit_curve")
    if curve and curve.get("thresholds"):
        thresholds = [float(t) for t in curve["thresholds"]]
        chosen = curve.get("chosen_threshold", model["threshold"])
        selected = st.slider(
            "Decline when the probability of default is at or above",
            min_value=min(thresholds),
            max_value=max(thresholds),
            value=float(min(max(chosen, min(thresholds)), max(thresholds))),
            step=0.01,
            key="threshold",
        )
        point = operating_point(curve, selected)
        reference = operating_point(curve, chosen)
        approval, bad, profit = st.columns(3)
        approval.metric(
            "Approval rate",
            f"{point.approval_rate:.1%}",
            delta=f"{(point.approval_rate - reference.approval_rate) * 100:+.1f} points",
        )
        bad.metric(
            "Bad rate among approved",
            f"{point.bad_rate_approved:.1%}",
            delta=f"{(point.bad_rate_approved - reference.bad_rate_approved) * 100:+.1f} points",
            delta_color="inverse",
        )
        profit.metric(
            "Profit per 1,000 applications",
            f"{point.profit_per_1000:,.0f}",
            delta=f"{point.profit_per_1000 - reference.profit_per_1000:+,.0f}",
        )
        st.caption(
            f"Nearest computed threshold {point.threshold:.3f}; deltas against the model's"
            f" threshold {chosen:.3f}."
        )
        st.altair_chart(profit_chart(curve, selected, chosen), width="stretch")
        st.altair_chart(rates_chart(curve, selected), width="stretch")
    else:
        not_available("Profit curve")

    business = reports.get("business")
    st.subheader("Business impact summary", anchor=False)
    if not business:
        not_available("Business impact summary")
        return
    for section in sections(business):
        if section.title:
            st.markdown(f"**{section.title}**")
        if section.facts:
            facts = pd.DataFrame(
                {"measure": list(section.facts), "value": [str(v) for v in section.facts.values()]}
            )
            st.dataframe(facts, hide_index=True, width="stretch")
        for name, table in section.tables:
            st.caption(name)
            st.dataframe(table, hide_index=True, width="stretch")


render()
