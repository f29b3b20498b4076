"""End to end in a real browser: Debian's Chromium (installed by `make test`) opens the
Streamlit UI served against a live API, fills the form, submits, and finds the decision and the
reasons on the page. A screenshot is saved under the test's temporary folder."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.browser import CHROMIUM, LAUNCH_ARGS, require_browser
from tests.conftest import PROJECT_DIR
from tests.credentials import bearer
from tests.ui.conftest import free_port

APP = PROJECT_DIR / "src" / "riskloop" / "ui" / "app.py"
STREAMLIT_READY_TIMEOUT_S = 120.0  # a cold Streamlit start on a busy two-core machine

pytestmark = [
    pytest.mark.slow,
    *require_browser(),
]


@pytest.fixture()
def streamlit_ui(live_api, tmp_path):
    """The UI as a real Streamlit server on a free loopback port, pointed at the live API."""
    port = free_port()
    log = (tmp_path / "streamlit.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(APP),
            "--server.address",
            "127.0.0.1",
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
        ],
        env={**os.environ, "RISKLOOP_API_URL": live_api.url, "RISKLOOP_API_KEY": live_api.key},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    output = tmp_path / "streamlit.log"
    try:
        deadline = time.monotonic() + STREAMLIT_READY_TIMEOUT_S
        last_error = "no answer yet"
        while True:
            try:
                answer = httpx.get(f"{url}/_stcore/health", timeout=0.5)
                if answer.status_code == 200:
                    break
                last_error = f"HTTP {answer.status_code}"
            except httpx.HTTPError as error:
                last_error = f"{type(error).__name__}: {error}"
            if process.poll() is not None or time.monotonic() > deadline:
                state = (
                    f"exited with {process.returncode}"
                    if process.poll() is not None
                    else f"no answer after {STREAMLIT_READY_TIMEOUT_S:g} s"
                )
                pytest.fail(
                    f"the Streamlit UI never became ready ({state}): waited for GET"
                    f" {url}/_stcore/health to answer 200; last attempt: {last_error}.\n"
                    f"Streamlit's output:\n{output.read_text() or '(nothing)'}",
                    pytrace=False,
                )
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a loaded machine: do not leave it behind
            process.kill()
            process.wait(timeout=10)
        log.close()


def test_a_person_scores_an_applicant_in_the_browser(streamlit_ui, live_api, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2300})
            page.goto(streamlit_ui, wait_until="domcontentloaded")
            page.get_by_role("heading", name="Score an applicant").wait_for(timeout=30_000)

            seniority = page.get_by_label("Seniority", exact=True)
            seniority.fill("1")
            seniority.press("Tab")
            page.get_by_label("Records", exact=True).click()
            page.get_by_role("option", name="yes").click()
            page.get_by_role("button", name="Score").click()

            decision = page.get_by_text("Decision:").first
            decision.wait_for(timeout=30_000)
            page.get_by_text("What if").first.wait_for(timeout=30_000)
            page.wait_for_timeout(1500)  # let the charts draw before the picture
            page.screenshot(path=str(tmp_path / "score.png"), full_page=True)

            said = decision.inner_text()
            body = page.inner_text("body")
        finally:
            browser.close()

    # What the API decided for the logged application is what the page says, reasons included.
    assert live_api.store.count() == 1
    (application_id,) = live_api.store.application_ids()
    inputs = live_api.store.get(application_id)["inputs"]
    expected = httpx.post(
        f"{live_api.url}/v1/score/preview", json=inputs, headers=bearer(live_api.key)
    ).json()
    assert inputs["Seniority"] == 1 and inputs["Records"] == "yes"
    assert said.strip() == f"Decision: {expected['decision'].upper()}"
    assert f"{expected['probability_of_default']:.1%}" in body
    assert expected["reasons"], "the scorer gives reasons"
    for reason in expected["reasons"]:
        assert f"{reason['text']} ({reason['feature']}, {reason['contribution']:+.3f})" in body
    assert (tmp_path / "score.png").stat().st_size > 10_000
