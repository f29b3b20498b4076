"""Signing in for real: an OpenID Connect provider (oidc-provider-mock), the scoring API trusting
it, the UI started by `riskloop ui` with sign-in configured, and Debian's Chromium doing what a
person does.

A scorer signs in on the provider's page, scores an applicant (the API logs the decision under
the scorer's own name, so the UI acted on their behalf), is told the Applicant page needs the
analyst role, and signs out; an analyst then signs in and reads that applicant's record.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from riskloop.serving.app import create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.oidc import OIDCTokenVerifier
from tests.browser import CHROMIUM, LAUNCH_ARGS, require_browser
from tests.ui.conftest import LiveAPI, _memory_store, free_port, serve
from tests.ui.test_browser import STREAMLIT_READY_TIMEOUT_S

CLIENT_ID = "riskloop-ui"
CLIENT_SECRET = "a-client-secret-for-the-test-provider"
SCORER = "sam@example.com"
ANALYST = "ana@example.com"
WAIT_MS = 60_000  # a step on a busy two-core machine (Streamlit reruns, the provider's pages)

pytestmark = [
    pytest.mark.slow,
    *require_browser(),
]


@pytest.fixture()
def token_lifetime() -> timedelta:
    """How long the provider's ID tokens hold (a test may ask for shorter)."""
    return timedelta(hours=1)


@pytest.fixture()
def clock_leeway_s() -> float:
    """The API's tolerance on a token's times (a test may ask for none)."""
    return 30.0


@pytest.fixture()
def provider(monkeypatch, token_lifetime) -> Iterator[str]:
    """The identity provider, on loopback: two people, their roles in the ``roles`` claim."""
    from oidc_provider_mock import User, run_server_in_thread

    # the provider refuses plain http unless told this is a test
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    people = [
        User(sub=SCORER, claims={"email": SCORER, "roles": ["scorer"]}),
        User(sub=ANALYST, claims={"email": ANALYST, "roles": ["analyst", "offline_access"]}),
    ]
    with run_server_in_thread(user_claims=people, access_token_max_age=token_lifetime) as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture()
def signed_in_api(pipeline_scorer, provider, clock_leeway_s) -> Iterator[LiveAPI]:
    """The real scoring API accepting the provider's ID tokens for the UI's client id."""
    holder = ModelHolder(
        LoadedModel(pipeline_scorer, name="credit-risk", version="3", alias="champion")
    )
    store = _memory_store()
    verifier = OIDCTokenVerifier(provider, CLIENT_ID, leeway_s=clock_leeway_s)
    app = create_app(holder, store, verifiers=[verifier])
    with serve(app) as url:
        yield LiveAPI(url, store, key="")


@pytest.fixture()
def signed_in_ui(signed_in_api, provider, tmp_path) -> Iterator[str]:
    """`riskloop ui` with sign-in configured through the environment, as a deployment does."""
    port = free_port()
    url = f"http://localhost:{port}"  # the address registered as the sign-in's return
    log_path = tmp_path / "ui.log"
    environment = {
        **os.environ,
        "RISKLOOP_OIDC_ISSUER": provider,
        "RISKLOOP_OIDC_CLIENT_ID": CLIENT_ID,
        "RISKLOOP_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "RISKLOOP_UI_URL": url,
        "RISKLOOP_DATA_DIR": str(tmp_path / "data"),
        "RISKLOOP_LOCAL_KEY_FILE": str(tmp_path / "no-local.key"),
        "AUTHLIB_INSECURE_TRANSPORT": "1",
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).with_name("riskloop")),
                "ui",
                "--port",
                str(port),
                "--api-url",
                signed_in_api.url,
            ],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # riskloop ui and its Streamlit child, stopped together
        )
    try:
        _wait_until_healthy(url, process, log_path)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path) -> None:
    deadline = time.monotonic() + STREAMLIT_READY_TIMEOUT_S
    last_error = "no answer yet"
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError as error:
            last_error = f"{type(error).__name__}: {error}"
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail(
                f"`riskloop ui` never became ready (exit code {process.poll()}): waited for"
                f" {url}/_stcore/health; last attempt: {last_error}.\n"
                f"Its output:\n{log_path.read_text() or '(nothing)'}",
                pytrace=False,
            )
        time.sleep(0.2)


def _sign_in(page, ui_url: str, person: str) -> None:
    """From the UI's sign-in page through the provider's form and back, signed in."""
    page.goto(ui_url, wait_until="domcontentloaded")
    page.get_by_role("button", name="Sign in").click(timeout=WAIT_MS)
    # the provider's page lists the people it knows: pick one, as a person would
    page.get_by_role("button", name=person).click(timeout=WAIT_MS)
    page.get_by_text(f"Signed in as user:{person}").wait_for(timeout=WAIT_MS)


def test_people_sign_in_and_the_ui_acts_with_their_own_roles(signed_in_ui, signed_in_api, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    secrets_file = tmp_path / "data" / "ui-sign-in" / "secrets.toml"
    assert secrets_file.stat().st_mode & 0o777 == 0o600, "the client secret is owner-only"

    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            # Nobody signed in: no page of the app, only the way to sign in.
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.goto(signed_in_ui, wait_until="domcontentloaded")
            page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT_MS)
            assert page.get_by_role("heading", name="Score an applicant").count() == 0

            # The scorer signs in at the provider and scores an applicant.
            _sign_in(page, signed_in_ui, SCORER)
            page.get_by_text("Roles: scorer").wait_for(timeout=WAIT_MS)
            page.get_by_role("heading", name="Score an applicant").wait_for(timeout=WAIT_MS)
            page.get_by_role("button", name="Score").click()
            page.get_by_text("Decision:").first.wait_for(timeout=WAIT_MS)
            assert signed_in_api.store.count() == 1
            (application_id,) = signed_in_api.store.application_ids()
            scored = signed_in_api.store.get(application_id)

            # Another applicant's record is the analysts': the page says so.
            page.get_by_role("link", name="Applicant").click()
            page.get_by_text("This page needs the analyst role").wait_for(timeout=WAIT_MS)
            scorer_sees = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "scorer.png"), full_page=True)

            # Signing out ends the session at the provider too, and the UI asks to sign in.
            page.get_by_role("button", name="Sign out").click()
            page.get_by_role("button", name="End session").click(timeout=WAIT_MS)
            page.get_by_role("button", name="Sign in").wait_for(timeout=WAIT_MS)

            # The analyst signs in and reads the scorer's applicant.
            _sign_in(page, signed_in_ui, ANALYST)
            page.get_by_role("link", name="Applicant").click()
            box = page.get_by_label("Application id")
            box.fill(application_id)
            box.press("Enter")
            page.get_by_text(f"Application {application_id} ·").wait_for(timeout=WAIT_MS)
            page.get_by_text("Contribution of each input").wait_for(timeout=WAIT_MS)
            analyst_sees = page.inner_text("body")
            page.screenshot(path=str(tmp_path / "analyst.png"), full_page=True)
        finally:
            browser.close()

    # The UI called the API on the scorer's behalf: the log names the person, not the UI.
    assert scored["actor"] == f"user:{SCORER}"
    assert "holds scorer" in scorer_sees and application_id not in scorer_sees
    assert f"Decision: {scored['decision'].upper()}" in analyst_sees
    assert f"{scored['probability']:.1%}" in analyst_sees
    assert "Contribution of each input" in analyst_sees


@pytest.mark.parametrize(
    ("token_lifetime", "clock_leeway_s"), [(timedelta(seconds=8), 0.0)], ids=["8s-tokens"]
)
def test_an_expired_sign_in_is_refused_and_renewed(signed_in_ui, token_lifetime):
    """Streamlit keeps a person signed in after their ID token expires; the API refuses the
    token, so the UI says so and signs them in again instead of failing page by page."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1200})
            _sign_in(page, signed_in_ui, SCORER)
            time.sleep(token_lifetime.total_seconds() + 1)  # the token was issued before now
            page.reload(wait_until="domcontentloaded")
            page.get_by_text("Your sign-in is no longer accepted").wait_for(timeout=WAIT_MS)
            refused = page.inner_text("body")
            assert page.get_by_role("heading", name="Score an applicant").count() == 0

            page.get_by_role("button", name="Sign in again").click()
            page.get_by_role("button", name=SCORER).click(timeout=WAIT_MS)
            page.get_by_role("heading", name="Score an applicant").wait_for(timeout=WAIT_MS)
            renewed = page.inner_text("body")
        finally:
            browser.close()
    assert "the sign-in has expired: sign in again" in refused
    assert f"user:{SCORER}" in renewed and "no longer accepted" not in renewed
