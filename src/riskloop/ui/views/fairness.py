"""Fairness page: metrics per group of each sensitive attribute with their confidence
intervals, and the summary measures against the scenario's bounds."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from riskloop.ui.charts import group_interval_chart
from riskloop.ui.components import (
    ANALYST,
    holds_role,
    model_caption,
    model_or_explain,
    not_available,
    reports_or_explain,
)
from riskloop.ui.documents import interval_metrics, sections, with_intervals


def render() -> None:
    st.title("Fairness", anchor=False)
    if not holds_role(ANALYST):
        return
    model = model_or_explain()
    if model is None:
        return
    model_caption(model)
    reports = reports_or_explain()
    if reports is None:
        return
    fairness = reports.get("fairness")
    if not fairness:
        not_available("Fairness report")
        return
    st.caption(
        "Group metrics on held-out applications; brackets are confidence intervals. Small"
        " groups have wide intervals: read a gap as real only when the intervals do not overlap."
    )
    for index, section in enumerate(sections(fairness)):
        if section.title:
            st.subheader(section.title, anchor=False)
        if section.facts:
            facts = pd.DataFrame(
                {"measure": list(section.facts), "value": [str(v) for v in section.facts.values()]}
            )
            st.dataframe(facts, hide_index=True, width="stretch")
        for name, table in section.tables:
            st.markdown(f"**{name}**")
            st.dataframe(with_intervals(table), hide_index=True, width="stretch")
            metrics = interval_metrics(table)
            if metrics:
                metric = st.selectbox(
                    "Metric to plot", metrics, key=f"fairness.{index}.{name}.metric"
                )
                st.altair_chart(group_interval_chart(table, metric), width="stretch")


render()
