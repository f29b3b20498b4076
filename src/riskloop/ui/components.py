"""Streamlit pieces the pages share: connecting to the API with a clear message when it cannot
be used, form fields built from the schema, and the 'not available yet' notice."""

from __future__ import annotations

from typing import Any

import streamlit as st

from riskloop.ui.client import APIClient, APIUnavailable, NoModel

# where the app (ui/app.py, the UI's edge) leaves the API client for the pages
API_CLIENT = "riskloop_api_client"
# ... and who the API says the caller is (GET /v1/me): name and roles; None when it did not say
CALLER = "riskloop_caller"
SCORER, ANALYST, ADMIN = "scorer", "analyst", "admin"
MISSING = "(missing)"
NOT_AVAILABLE = "not available for this model yet"


def api() -> APIClient:
    """The client of the scoring API the app built for this run from the UI's settings."""
    client: APIClient = st.session_state[API_CLIENT]
    return client


def caller_holds(role: str) -> bool:
    """Whether the caller holds ``role`` (``admin`` holds every role). A caller the API did
    not describe is given the benefit of the doubt: the API still refuses what it forbids."""
    caller = st.session_state.get(CALLER)
    return caller is None or role in caller["roles"] or ADMIN in caller["roles"]


def holds_role(role: str) -> bool:
    """Whether the caller may use a page that needs ``role``; when not, the page says which
    role it needs and who is signed in."""
    if caller_holds(role):
        return True
    caller = st.session_state[CALLER]
    held = ", ".join(caller["roles"]) or "no role"
    st.warning(
        f"This page needs the **{role}** role. You are signed in as {caller['name']}, who"
        f" holds {held}: ask your administrator for the {role} role to use it."
    )
    return False


def explain_unavailable(problem: APIUnavailable) -> None:
    """Tell the person what is wrong and what to do, instead of a traceback."""
    if isinstance(problem, NoModel):
        st.warning(f"No model to show: {problem}")
    else:
        st.error(str(problem))
    st.caption(f"API address: {api().base_url} (set RISKLOOP_API_URL to use another)")


def model_or_explain() -> dict[str, Any] | None:
    """``GET /v1/model``, or None after explaining on the page why it failed."""
    try:
        return api().get_model()
    except APIUnavailable as problem:
        explain_unavailable(problem)
        return None


def reports_or_explain() -> dict[str, Any] | None:
    """``GET /v1/model/reports`` (``{}`` when the model has none), or None after explaining."""
    try:
        return api().get_reports()
    except APIUnavailable as problem:
        explain_unavailable(problem)
        return None


def model_caption(model: dict[str, Any]) -> None:
    alias = f" ({model['alias']})" if model.get("alias") else ""
    st.caption(
        f"Model {model['name']} v{model['version']}{alias} · decline when probability of default"
        f" ≥ {model['threshold']:.2f}"
    )


def not_available(what: str) -> None:
    st.info(f"{what}: {NOT_AVAILABLE}. It is produced by the training pipeline (`riskloop run`).")


def field_input(feature: dict[str, Any], key: str, value: Any = None) -> Any:
    """One form widget for a schema feature: a select box of its categories (plus "(missing)"
    when nullable) or a number box bounded by its range, starting at ``value`` or the
    feature's typical value."""
    label = feature["name"]
    help_text = feature.get("description")
    start = value if value is not None else feature.get("typical")
    if feature["kind"] == "categorical":
        options = list(feature["categories"]) + ([MISSING] if feature["nullable"] else [])
        index = options.index(start) if start in options else 0
        chosen = st.selectbox(label, options, index=index, help=help_text, key=key)
        return None if chosen == MISSING else chosen
    low, high = feature.get("min"), feature.get("max")
    default = float(start) if start is not None else float(low or 0.0)
    if low is not None:
        default = max(default, float(low))
    if high is not None:
        default = min(default, float(high))
    # Whole numbers (ages, months, amounts) are shown without decimals.
    whole = all(float(v).is_integer() for v in (default, low, high) if v is not None)
    number = st.number_input(
        label,
        min_value=float(low) if low is not None else None,
        max_value=float(high) if high is not None else None,
        value=default,
        step=1.0,
        format="%.0f" if whole else "%.2f",
        help=help_text,
        key=key,
    )
    return float(number)
