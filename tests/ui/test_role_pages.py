"""Pages follow the caller's roles, as the API reports them (``GET /v1/me``): with a key holding
one role, driven by Streamlit's AppTest against the live API. The browser test
(test_oidc_login.py) does the same through a real sign-in."""

from __future__ import annotations

import httpx

from riskloop.serving.identity import Role
from tests.credentials import api_key, bearer
from tests.serving.test_api import APPLICANT
from tests.ui.test_pages import open_page, texts

ANALYST_PAGES = [
    "views/applicant.py",
    "views/model.py",
    "views/business.py",
    "views/fairness.py",
    "views/monitoring.py",
]


def test_a_scorer_scores_and_is_told_the_analyst_pages_are_not_theirs(live_api, monkeypatch):
    key = api_key(live_api.store, Role.SCORER, name="branch-7")
    app = open_page(monkeypatch, live_api.url, key=key)
    said = texts(app)
    assert "Signed in as **key:branch-7**" in said and "Roles: scorer" in said
    assert app.button(key="FormSubmitter:applicant-Score") is not None  # the form is there
    assert "decline when probability of default" not in said, "the model's card is analysts'"
    app.button(key="FormSubmitter:applicant-Score").click().run()
    assert not app.exception, app.exception
    assert "Decision:" in texts(app)
    for page in ANALYST_PAGES:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
        warning = " ".join(w.value for w in app.warning)
        assert "This page needs the **analyst** role" in warning, page
        assert "key:branch-7, who holds scorer" in warning, page


def test_an_analyst_reads_an_applicant_and_cannot_score(live_api, monkeypatch):
    scorer = api_key(live_api.store, Role.SCORER)
    scored = httpx.post(
        f"{live_api.url}/v1/score",
        json={**APPLICANT, "application_id": "a-17"},
        headers=bearer(scorer),
    ).json()
    key = api_key(live_api.store, Role.ANALYST, name="risk-team")
    app = open_page(monkeypatch, live_api.url, key=key)
    assert "This page needs the **scorer** role" in texts(app)

    app.switch_page("views/applicant.py").run()
    app.text_input[0].input("a-17").run()
    assert not app.exception, app.exception
    said = texts(app)
    assert f"Decision: **{scored['decision'].upper()}**" in said
    assert "Application a-17 · scored by model credit-risk v3" in said
    contributions = app.dataframe[0].value
    # the model inputs: Age and Marital are logged with the application, never scored
    assert set(contributions["input"]) == set(APPLICANT) - {"application_id", "Age", "Marital"}

    app.text_input[0].input("never-scored").run()
    assert "no application 'never-scored' was scored" in texts(app)
