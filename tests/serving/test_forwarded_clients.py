"""Clients behind a proxy, over real HTTP (uvicorn as ``riskloop serve`` runs it): the failure
throttle counts the client a trusted proxy names in ``X-Forwarded-For`` and ignores the header
from anyone else; a forwarded request never gets what is public on loopback."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.credentials import api_key, bearer
from tests.serving._live import serve_in_thread

LIMIT = 3


def _app(scorer, **config):
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    holder = ModelHolder(LoadedModel(scorer, name="credit-risk", version="7"))
    store = PredictionStore("sqlite://", engine=engine)
    return create_app(holder, store, config=ServiceConfig(**config))


def _fail(url: str, forwarded_for: str) -> int:
    """One request with a wrong key, as forwarded for ``forwarded_for``; its status."""
    headers = {**bearer("a-wrong-key"), "X-Forwarded-For": forwarded_for}
    return httpx.get(url + "/v1/model", headers=headers, timeout=10).status_code


def test_behind_a_trusted_proxy_the_throttle_counts_each_forwarded_client(credit_scorer):
    app = _app(credit_scorer, auth_failure_limit=LIMIT)
    # the test's requests come from 127.0.0.1: the proxy riskloop trusts by default
    with serve_in_thread(app, forwarded_allow_ips="127.0.0.1") as url:
        assert [_fail(url, "203.0.113.7") for _ in range(LIMIT)] == [401] * LIMIT
        assert _fail(url, "203.0.113.7") == 429  # the guesser is slowed down ...
        assert _fail(url, "198.51.100.2") == 401  # ... and nobody else behind the same proxy


def test_an_untrusted_peer_cannot_pick_the_address_it_is_counted_under(credit_scorer):
    app = _app(credit_scorer, auth_failure_limit=LIMIT)
    # the proxy is elsewhere: 127.0.0.1 is an ordinary client whose X-Forwarded-For is a lie
    with serve_in_thread(app, forwarded_allow_ips="192.0.2.10") as url:
        statuses = [_fail(url, f"203.0.113.{n}") for n in range(LIMIT + 1)]
        # a fresh made-up address per guess does not escape the limit of the real peer
        assert statuses == [401] * LIMIT + [429]


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded"])
def test_on_loopback_a_forwarded_request_needs_a_credential(credit_scorer, header):
    app = _app(credit_scorer, loopback=True, auth_failure_limit=10_000)
    value = "for=203.0.113.7" if header == "Forwarded" else "203.0.113.7"
    with TestClient(app) as client:
        key = api_key(app.state.store, Role.ANALYST)
        for path in ("/metrics", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 200, path  # made on this machine
            through_proxy = client.get(path, headers={header: value})
            assert through_proxy.status_code == 401, path
            with_key = client.get(path, headers={header: value, **bearer(key)})
            assert with_key.status_code == 200, path
