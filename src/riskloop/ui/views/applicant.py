"""Applicant page: look up a logged decision by its application id and read why it was made,
the reasons given and each input's contribution (``GET /v1/explain/{application_id}``).

Other applicants' records are personal data: the page is for the analyst role, and says so to
anyone without it (the API refuses them too).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from riskloop.ui.charts import reason_bars
from riskloop.ui.client import APIUnavailable
from riskloop.ui.components import ANALYST, api, explain_unavailable, holds_role


def show_explanation(record: dict[str, Any]) -> None:
    decision = record["decision"]
    (st.success if decision == "approve" else st.error)(f"Decision: **{decision.upper()}**")
    st.metric("Probability of default", f"{record['probability_of_default']:.1%}")
    st.caption(
        f"Application {record['application_id']} · scored by model {record['model_name']}"
        f" v{record['model_version']}"
    )
    reasons = record.get("reasons") or []
    if reasons:
        st.subheader("Reasons", anchor=False)
        st.altair_chart(reason_bars(reasons), width="stretch")
    explanation = record["explanation"]
    unit = "log-odds" if explanation["output_space"] == "log_odds" else "probability"
    st.subheader("Contribution of each input", anchor=False)
    st.caption(
        f"Base value {explanation['base_value']:+.3f} plus the contributions gives the model's"
        f" output {explanation['output']:+.3f} ({unit}); positive pushes toward decline."
    )
    contributions = pd.DataFrame(
        {
            "input": list(explanation["contributions"]),
            "contribution": explanation["contributions"].values(),
        }
    ).sort_values("contribution", ascending=False, key=abs)
    st.dataframe(contributions, hide_index=True, width="stretch")


def render() -> None:
    st.title("Applicant", anchor=False)
    if not holds_role(ANALYST):
        return
    application_id = st.text_input("Application id", placeholder="as shown after scoring")
    if not application_id:
        st.caption("Enter the id of a scored application to see its decision and why.")
        return
    try:
        record, problem = api().explain(application_id.strip())
    except APIUnavailable as error:
        explain_unavailable(error)
        return
    if record is None:
        st.warning(problem)
        return
    show_explanation(record)


render()
