"""Credentials in the service: keys and the admin token, expiry and revocation (within the
cache's few seconds), slowing down a client that keeps failing, the failure metric, and who
is recorded in the prediction log."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.auth import (
    ApiKeyVerifier,
    Authenticator,
    FailureThrottle,
)
from riskloop.serving.identity import InvalidCredential, Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.routes.admin import RELOAD_EVENT
from riskloop.settings import Settings
from riskloop.store import ApiKeyStore
from tests.credentials import api_key, bearer
from tests.serving.test_api import APPLICANT

ADMIN_TOKEN = "an-admin-token-of-at-least-32-bytes"


def _app(scorer, store, **config):
    holder = ModelHolder(LoadedModel(scorer, name="credit-risk", version="7"))
    return create_app(holder, store, config=ServiceConfig(admin_token=ADMIN_TOKEN, **config))


def test_the_log_records_who_scored(credit_scorer, store):
    key = api_key(store, Role.SCORER, name="branch-12")
    with TestClient(_app(credit_scorer, store)) as client:
        one = client.post(
            "/v1/score", json={**APPLICANT, "application_id": "w-1"}, headers=bearer(key)
        )
        batch = client.post(
            "/v1/score/batch",
            json={"applications": [{**APPLICANT, "application_id": "w-2"}]},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        assert one.status_code == batch.status_code == 200
        assert store.get("w-1")["actor"] == "key:branch-12"
        assert store.get("w-2")["actor"] == "admin-token"


def test_expired_and_revoked_keys_are_refused_and_say_why(credit_scorer, store):
    keys = ApiKeyStore(store.engine)
    old = keys.create("old", ["scorer"], expires_at=datetime.now(UTC) - timedelta(seconds=1))
    gone = keys.create("gone", ["scorer"])
    keys.revoke("gone")
    with TestClient(_app(credit_scorer, store)) as client:
        for issued, word in ((old, "expired"), (gone, "revoked")):
            response = client.post("/v1/score", json=APPLICANT, headers=bearer(issued.key))
            assert response.status_code == 401
            message = response.json()["error"]["message"]
            assert word in message and issued.key.split("_")[-1] not in message
        metrics = client.get("/metrics", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}).text
    assert 'riskloop_auth_failures_total{reason="expired"} 1.0' in metrics
    assert 'riskloop_auth_failures_total{reason="revoked"} 1.0' in metrics


def test_revocation_takes_effect_once_the_cache_expires(store):
    keys = ApiKeyStore(store.engine)
    issued = keys.create("cached", ["scorer"])
    authenticator = Authenticator([ApiKeyVerifier(keys)], cache_s=0.2)
    assert authenticator.verify(issued.key).name == "key:cached"
    keys.revoke("cached")
    assert authenticator.cached(issued.key).name == "key:cached"  # still remembered
    time.sleep(0.25)
    assert authenticator.cached(issued.key) is None
    with pytest.raises(InvalidCredential, match="revoked"):
        authenticator.verify(issued.key)


def test_a_client_that_keeps_failing_gets_429_with_retry_after(credit_scorer, store):
    good = api_key(store, Role.SCORER)
    app = _app(credit_scorer, store, auth_failure_limit=3, auth_failure_window_s=30)
    with TestClient(app) as client:
        for _ in range(3):
            assert (
                client.post("/v1/score", json=APPLICANT, headers=bearer("guess")).status_code == 401
            )
        throttled = client.post("/v1/score", json=APPLICANT, headers=bearer(good))
        assert throttled.status_code == 429
        assert 1 <= int(throttled.headers["retry-after"]) <= 30
        # the throttled client cannot scrape either (throttling comes before any check)
        assert client.get("/metrics", headers=bearer(good)).status_code == 429
    metrics = app.state.metrics.exposition()[0].decode()
    assert 'riskloop_auth_failures_total{reason="invalid"} 3.0' in metrics
    assert 'riskloop_auth_failures_total{reason="throttled"}' in metrics
    assert "testclient" not in metrics  # never a label per caller


def test_the_throttle_forgets_old_windows_and_is_bounded():
    throttle = FailureThrottle(limit=2, window_s=10, max_clients=3)
    throttle.failed("a", now=0)
    throttle.failed("a", now=1)
    assert throttle.retry_after("a", now=2) == 8
    assert throttle.retry_after("a", now=10) is None  # the window is over
    for client in ("b", "c", "d"):
        throttle.failed(client, now=3)
    assert len(throttle._windows) == 3 and "a" not in throttle._windows


def test_a_short_admin_token_is_refused_at_start_without_echoing_it():
    with pytest.raises(ValidationError, match="at least 32 bytes") as error:
        Settings(admin_token="too-short-a-secret")
    assert "received 18" in str(error.value)
    assert Settings(admin_token=ADMIN_TOKEN).admin_token.get_secret_value() == ADMIN_TOKEN


def test_a_reload_is_an_audit_event_naming_the_caller(credit_scorer, store):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    newer = LoadedModel(credit_scorer, name="credit-risk", version="8")
    app = create_app(holder, store, load_model=lambda: newer)
    ops = api_key(store, Role.ADMIN, name="ops")
    with TestClient(app) as client:
        assert client.post("/v1/admin/reload", headers=bearer(ops)).json()["changed"] is True
        (event,) = store.monitoring.audit_events(RELOAD_EVENT)
    assert event["actor"] == "key:ops"
    assert event["payload"] == {
        "result": "ok",
        "changed": True,
        "model_name": "credit-risk",
        "model_version": "8",
        "previous_version": "7",
    }
