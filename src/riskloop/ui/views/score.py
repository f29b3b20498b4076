"""Score page: fill in an application, get the probability of default, the decision and the
reasons; then change one field at a time to see how the probability moves (what-if).

The what-if panel calls ``POST /v1/score/preview``, which is not logged, so exploring does not
add rows to the prediction log; only the "Score" button logs a decision.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from riskloop.ui.charts import probability_gauge, reason_bars, what_if_chart
from riskloop.ui.client import APIClient, APIUnavailable
from riskloop.ui.components import (
    ANALYST,
    SCORER,
    api,
    caller_holds,
    explain_unavailable,
    field_input,
    holds_role,
    model_caption,
    model_or_explain,
)

SWEEP_FACTORS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0)


def sweep_values(feature: dict[str, Any], current: Any) -> list[Any]:
    """Values of one field to try around the applicant's own: every category, or multiples of
    the current number (the typical value when it is 0 or missing) clipped to the range."""
    if feature["kind"] == "categorical":
        return list(feature["categories"])
    anchor = current if current else (feature.get("typical") or feature.get("max") or 1.0)
    low, high = feature.get("min"), feature.get("max")
    values = {float(current)} if current is not None else set()
    for factor in SWEEP_FACTORS:
        value = float(anchor) * factor
        if low is not None:
            value = max(value, float(low))
        if high is not None:
            value = min(value, float(high))
        values.add(round(value, 2))
    return sorted(values)


@st.cache_data(ttl=600, show_spinner=False)
def sweep(
    _client: APIClient,
    api_url: str,
    application_json: str,
    field: str,
    values_json: str,
    model_key: str,
) -> list[float]:
    """Preview probabilities for each tried value (cached per API, model and application;
    ``_client``, the page's client, is not part of the cache key)."""
    application = json.loads(application_json)
    client = _client
    probabilities = []
    for value in json.loads(values_json):
        result, problem = client.preview({**application, field: value})
        probabilities.append(result["probability_of_default"] if result else float("nan"))
    return probabilities


def show_result(result: dict[str, Any]) -> None:
    probability = result["probability_of_default"]
    decision = result["decision"]
    gauge, verdict = st.columns([1, 1], vertical_alignment="center")
    with gauge:
        st.altair_chart(probability_gauge(probability, result["threshold"]), width="stretch")
    with verdict:
        (st.success if decision == "approve" else st.error)(f"Decision: **{decision.upper()}**")
        st.metric("Probability of default", f"{probability:.1%}")
        st.caption(
            f"Threshold {result['threshold']:.2f} · application {result['application_id']} ·"
            f" model {result['model_name']} v{result['model_version']}"
        )
    reasons = result.get("reasons") or []
    st.subheader("Reasons", anchor=False)
    if not reasons:
        st.info("This model gives no reason codes.")
        return
    lines = [
        f"{rank}. **{r.get('text') or r['feature']}** ({r['feature']}, {r['contribution']:+.3f})"
        for rank, r in enumerate(reasons, start=1)
    ]
    listing, chart = st.columns([1, 1])
    listing.markdown("\n".join(lines))
    listing.caption("Inputs pushing hardest toward decline, strongest first.")
    chart.altair_chart(reason_bars(reasons), width="stretch")


def what_if(schema: dict[str, Any], application: dict[str, Any], result: dict[str, Any]) -> None:
    st.subheader("What if…", anchor=False)
    st.caption("Change one field and see the probability move (not logged).")
    features = {f["name"]: f for f in schema["features"]}
    pick, change, outcome = st.columns([1, 1, 1], vertical_alignment="bottom")
    name = pick.selectbox("Field", list(features), key="whatif.field")
    with change:
        new_value = field_input(features[name], key=f"whatif.{name}", value=application[name])
    changed = {**application, name: new_value}
    try:
        moved, problem = api().preview(changed)
    except APIUnavailable as error:
        explain_unavailable(error)
        return
    if moved is None:
        st.error(f"The API refused the changed application: {problem}")
        return
    before, after = result["probability_of_default"], moved["probability_of_default"]
    outcome.metric(
        f"Probability with {name} = {new_value:g}"
        if isinstance(new_value, float)
        else f"Probability with {name} = {new_value}",
        f"{after:.1%}",
        delta=f"{(after - before) * 100:+.1f} points",
        delta_color="inverse",
    )
    if moved["decision"] != result["decision"]:
        st.warning(f"The decision changes to **{moved['decision'].upper()}**.")
    values = sweep_values(features[name], application[name])
    probabilities = sweep(
        api(),
        api().base_url,
        json.dumps(application, sort_keys=True),
        name,
        json.dumps(values),
        f"{result['model_name']}:{result['model_version']}",
    )
    st.altair_chart(
        what_if_chart(values, probabilities, result["threshold"], name, application[name]),
        width="stretch",
    )


def render() -> None:
    st.title("Score an applicant", anchor=False)
    if not holds_role(SCORER):
        return
    model = None
    if caller_holds(ANALYST):  # the model's description is the analysts'; scorers need none
        model = model_or_explain()
        if model is None:
            return
    try:
        schema = api().get_schema()
    except APIUnavailable as error:
        explain_unavailable(error)
        return
    if model is not None:
        model_caption(model)
    with st.form("applicant"):
        columns = st.columns(3)
        application = {}
        for i, feature in enumerate(schema["features"]):
            with columns[i % 3]:
                application[feature["name"]] = field_input(feature, key=feature["name"])
        submitted = st.form_submit_button("Score", type="primary")
    if submitted:
        try:
            result, problem = api().score(application)
        except APIUnavailable as error:
            explain_unavailable(error)
            return
        if problem:
            st.error(f"The API refused this application: {problem}")
            st.session_state.pop("scored", None)
            return
        st.session_state["scored"] = {"application": application, "result": result}
    scored = st.session_state.get("scored")
    if not scored:
        return
    show_result(scored["result"])
    st.divider()
    what_if(schema, scored["application"], scored["result"])


render()
