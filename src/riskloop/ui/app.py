"""riskloop UI: score an applicant, read the model, its business impact and its fairness.

Run with ``riskloop ui`` (or ``riskloop serve --ui``). Every page talks to the scoring API over
HTTP (``RISKLOOP_API_URL``) and imports no model code, so the UI works against any deployed
service. This script is the UI's edge: it reads the settings once per run and hands the pages
the API client (:func:`riskloop.ui.components.api`) and who the API says the caller is. With
``RISKLOOP_OIDC_ISSUER`` set, people sign in first and the client carries their own ID token
(:mod:`riskloop.ui.login`); otherwise it carries the configured key.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from riskloop.ui.client import APIClient
from riskloop.ui.components import API_CLIENT, CALLER
from riskloop.ui.login import show_caller, signed_in_token
from riskloop.ui.settings import UISettings

VIEWS = Path(__file__).with_name("views")


def main() -> None:
    st.set_page_config(page_title="riskloop", page_icon=":material/monitoring:", layout="wide")
    settings = UISettings()
    # a deployment signs people in (OpenID Connect) and calls the API with their own token, so
    # the API knows who acted; the embedded default sends the configured (local admin) key
    credential = signed_in_token() if settings.oidc_issuer else settings.api_key_value
    navigation = st.navigation(
        [
            st.Page(VIEWS / "score.py", title="Score", icon=":material/calculate:", default=True),
            st.Page(VIEWS / "applicant.py", title="Applicant", icon=":material/person_search:"),
            st.Page(VIEWS / "model.py", title="Model", icon=":material/model_training:"),
            st.Page(VIEWS / "business.py", title="Business", icon=":material/payments:"),
            st.Page(VIEWS / "fairness.py", title="Fairness", icon=":material/balance:"),
            st.Page(VIEWS / "monitoring.py", title="Monitoring", icon=":material/monitor_heart:"),
        ]
    )
    client = APIClient(settings.api_url, api_key=credential)
    st.session_state[API_CLIENT] = client
    st.session_state[CALLER] = show_caller(client, signed_in=settings.oidc_issuer is not None)
    st.sidebar.caption(f"API: {client.base_url}")
    navigation.run()


main()
