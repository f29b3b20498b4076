"""The UI tests' live API (tests/ui/conftest.py ``serve``) fails loudly when it never becomes
ready: the test says what it waited for, the last answer and the server's own output, instead
of carrying on against a server that is not there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI

from tests.ui.conftest import serve


def test_a_server_that_fails_at_startup_is_reported_with_its_output():
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("the prediction store is unreachable")
        yield

    with pytest.raises(pytest.fail.Exception) as failed, serve(FastAPI(lifespan=lifespan)):
        pass
    message = str(failed.value)
    assert "never became ready (stopped)" in message
    assert "/health to answer 200" in message
    assert "RuntimeError: the prediction store is unreachable" in message


def test_a_server_that_never_answers_health_times_out_with_the_last_answer():
    with pytest.raises(pytest.fail.Exception) as failed, serve(FastAPI(), timeout=1.0):
        pass
    message = str(failed.value)
    assert "never became ready (no answer after 1 s)" in message
    assert 'last attempt: HTTP 404: {"detail":"Not Found"}' in message
    assert message.count("Application startup complete.") == 1  # the server's own log, once
