"""Fixtures for the UI tests: the real scoring app, serving the scorer the training pipeline
wrote (its own reason codes and report documents), live in a thread on a free loopback port."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.scorer import Scorer
from riskloop.serving.app import create_app
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.browser import fail_if_missing
from tests.credentials import api_key

READY_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _ServerLog(logging.Handler):
    """Keeps what uvicorn logs while a test server runs (startup errors, tracebacks)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def serve(app: FastAPI, timeout: float = READY_TIMEOUT_S) -> Iterator[str]:
    """Run ``app`` with uvicorn in a daemon thread on a free loopback port; yields its URL once
    ``GET /health`` answers. Fails the test, saying what it waited for, the last error and the
    server's output, when the server stops or does not answer within ``timeout`` seconds."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="info", access_log=False, lifespan="on"
        )
    )
    log = _ServerLog()
    uvicorn_log = logging.getLogger("uvicorn")  # uvicorn.error propagates to it
    uvicorn_log.addHandler(log)
    crash: list[str] = []

    def run() -> None:
        try:
            server.run()
        except BaseException:  # reported by the readiness check below, not lost in a thread
            crash.append(traceback.format_exc())

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    try:
        while True:
            try:
                answer = httpx.get(f"{url}/health", timeout=0.5)
                if answer.status_code == 200:
                    break
                last_error = f"HTTP {answer.status_code}: {answer.text[:200]}"
            except httpx.HTTPError as error:
                last_error = f"{type(error).__name__}: {error}"
            if not thread.is_alive() or time.monotonic() > deadline:
                output = "\n".join(log.lines + crash) or "(nothing)"
                state = "stopped" if not thread.is_alive() else f"no answer after {timeout:g} s"
                pytest.fail(
                    f"the API under test never became ready ({state}): waited for GET"
                    f" {url}/health to answer 200; last attempt: {last_error}.\n"
                    f"Server output:\n{output}",
                    pytrace=False,
                )
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        uvicorn_log.removeHandler(log)


@dataclass
class LiveAPI:
    url: str
    store: PredictionStore
    key: str  # an admin key, as the local UI uses


def _memory_store() -> PredictionStore:
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return PredictionStore("sqlite://", engine=engine)


def start_api(scorer: Scorer | None) -> tuple[FastAPI, PredictionStore]:
    """The real scoring app serving ``scorer`` as credit-risk v3 (champion), or no model."""
    holder = ModelHolder(
        LoadedModel(scorer, name="credit-risk", version="3", alias="champion")
        if scorer is not None
        else None
    )
    store = _memory_store()
    return create_app(holder, store), store


@pytest.fixture()
def browser_present() -> None:
    """A browser test's guard: in CI a missing Chromium fails it (tests/browser.py)."""
    fail_if_missing()


@pytest.fixture(scope="session")
def pipeline_scorer(trained_project) -> Scorer:
    """The deployable scorer ``riskloop run`` wrote (catalog dataset ``scorer``): trained,
    calibrated and evaluated by the pipeline, with its reason codes and report documents."""
    scorer = Scorer.load(trained_project.data_dir / "06_models" / "scorer")
    assert scorer.explanation is not None and scorer.reports, "the pipeline's scorer is complete"
    return scorer


@pytest.fixture()
def live_api(pipeline_scorer) -> Iterator[LiveAPI]:
    """The real scoring app with the pipeline's scorer and its reports."""
    app, store = start_api(pipeline_scorer)
    with serve(app) as url:
        yield LiveAPI(url, store, api_key(store, Role.ADMIN))


@pytest.fixture()
def bare_api(pipeline_scorer) -> Iterator[LiveAPI]:
    """The real scoring app with the pipeline's scorer saved without reports (as a model
    registered before the evaluation pipeline existed is)."""
    app, store = start_api(dataclasses.replace(pipeline_scorer, reports={}))
    with serve(app) as url:
        yield LiveAPI(url, store, api_key(store, Role.ADMIN))


@pytest.fixture()
def empty_api() -> Iterator[LiveAPI]:
    """The real scoring app before any model is loaded (every model route answers 503)."""
    app, store = start_api(None)
    with serve(app) as url:
        yield LiveAPI(url, store, api_key(store, Role.ADMIN))
