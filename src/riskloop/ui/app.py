"""riskloop — score one applicant. Run with ``riskloop ui`` (or ``riskloop serve --ui``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from riskloop.ui.client import APIUnavailable, api_url, get_model, get_schema, score

MISSING = "(missing)"


def field_input(feature: dict[str, Any]) -> Any:
    label = feature["name"]
    help_text = feature.get("description")
    if feature["kind"] == "categorical":
        options = list(feature["categories"]) + ([MISSING] if feature["nullable"] else [])
        typical = feature.get("typical")
        index = options.index(typical) if typical in options else 0
        value = st.selectbox(label, options, index=index, help=help_text, key=label)
        return None if value == MISSING else value
    low, high = feature.get("min"), feature.get("max")
    typical = feature.get("typical")
    default = float(typical) if typical is not None else float(low or 0.0)
    value = st.number_input(
        label,
        min_value=float(low) if low is not None else None,
        max_value=float(high) if high is not None else None,
        value=default,
        help=help_text,
        key=label,
    )
    return float(value)


def main() -> None:
    st.set_page_config(page_title="riskloop — score an applicant", layout="centered")
    st.title("Score an applicant")
    try:
        schema = get_schema()
    except APIUnavailable as problem:
        st.error(str(problem))
        st.caption(f"API address: {api_url()}")
        return
    model = get_model()
    if model:
        st.caption(
            f"Model {model['name']} v{model['version']} · decline when probability of default"
            f" ≥ {model['threshold']:.2f}"
        )
    with st.form("applicant"):
        columns = st.columns(2)
        application = {}
        for i, feature in enumerate(schema["features"]):
            with columns[i % 2]:
                application[feature["name"]] = field_input(feature)
        submitted = st.form_submit_button("Score")
    if not submitted:
        return
    try:
        result, problem = score(application)
    except APIUnavailable as error:
        st.error(str(error))
        return
    if problem:
        st.error(f"The API refused this application: {problem}")
        return
    probability = result["probability_of_default"]
    decision = result["decision"]
    (st.success if decision == "approve" else st.warning)(f"Decision: **{decision.upper()}**")
    st.metric("Probability of default", f"{probability:.1%}")
    st.progress(min(max(probability, 0.0), 1.0))
    st.caption(f"Application {result['application_id']} · model version {result['model_version']}")


main()
