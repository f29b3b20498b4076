"""The Streamlit page, driven by Streamlit's AppTest against a live API in a thread."""

import socket
import threading
import time

import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool
from streamlit.testing.v1 import AppTest

from riskloop.serving.app import create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.conftest import PROJECT_DIR

PAGE = str(PROJECT_DIR / "src" / "riskloop" / "ui" / "app.py")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def live_api(credit_scorer):
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = PredictionStore("sqlite://", engine=engine)
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="3"))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(holder, store), host="127.0.0.1", port=port, log_level="error")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{url}/health", timeout=0.5)
            break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield url, store
    server.should_exit = True
    thread.join(timeout=10)


def test_form_scores_an_applicant_through_the_api(live_api, monkeypatch):
    url, store = live_api
    monkeypatch.setenv("RISKLOOP_API_URL", url)
    page = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not page.exception
    assert "credit-risk v3" in page.caption[0].value
    page.number_input(key="Age").set_value(22)
    page.selectbox(key="Records").set_value("yes")
    page.button[0].click().run()
    assert not page.exception
    decision = (page.success or page.warning)[0].value
    assert "Decision" in decision
    assert page.metric[0].label == "Probability of default"
    assert store.count() == 1


def test_page_explains_when_the_api_is_down(monkeypatch):
    monkeypatch.setenv("RISKLOOP_API_URL", f"http://127.0.0.1:{_free_port()}")
    page = AppTest.from_file(PAGE, default_timeout=30).run()
    assert not page.exception
    assert "not reachable" in page.error[0].value and "riskloop serve" in page.error[0].value
