"""A service that cannot be knocked over (issue 11, item 5), in process: each test reproduces one
defect found by attacking the service, and failed before its fix."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.metrics import UNMATCHED
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from tests.serving.test_api import APPLICANT

SCORING_ROUTES = ("/v1/score", "/v1/score/preview", "/v1/score/batch")
JSON_ROUTES = (*SCORING_ROUTES, "/v1/feedback")
TOKEN = "hardening-admin-token-holding-every-role"  # 32 bytes or more
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def _app(scorer, store, **config):
    holder = ModelHolder(LoadedModel(scorer, name="credit-risk", version="7"))
    return create_app(holder, store, config=ServiceConfig(admin_token=TOKEN, **config))


@pytest.fixture()
def client(credit_scorer, store):
    app = _app(credit_scorer, store, max_batch_rows=2_000)
    with TestClient(app, raise_server_exceptions=False, headers=AUTH) as test_client:
        yield test_client


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.text
    return response.json()["error"]


# ---- 1. deeply nested JSON
@pytest.mark.parametrize("path", JSON_ROUTES)
def test_deeply_nested_json_is_422_not_500(client, path):
    depth = 100_000
    body = b'{"applications": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post(path, content=body, headers={"content-type": "application/json"})
    error = _error(response, 422)
    assert error["fields"][0]["field"] == "(body)"
    assert "nested" in error["message"] or "not valid JSON" in error["message"]


# ---- 4. only JSON bodies
@pytest.mark.parametrize("path", JSON_ROUTES)
@pytest.mark.parametrize(
    ("content_type", "named"),
    [
        ("text/plain", "'text/plain'"),
        ("application/x-www-form-urlencoded", "'application/x-www-form-urlencoded'"),
        ("multipart/form-data; boundary=x", "'multipart/form-data; boundary=x'"),
        (None, "no Content-Type"),
    ],
)
def test_a_body_that_is_not_declared_json_is_415(client, store, path, content_type, named):
    headers = {"content-type": content_type} if content_type else {}
    body = {"applications": [APPLICANT]} if path.endswith("batch") else APPLICANT
    response = client.post(path, content=json.dumps(body).encode(), headers=headers)
    error = _error(response, 415)
    assert error["code"] == "unsupported_media_type"
    assert named in error["message"] and "application/json" in error["message"]
    assert store.count() == 0


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8"])
def test_json_with_or_without_a_charset_is_accepted(client, content_type):
    response = client.post(
        "/v1/score", content=json.dumps(APPLICANT).encode(), headers={"content-type": content_type}
    )
    assert response.status_code == 200, response.text


# ---- 5. field errors are capped
def test_a_batch_of_empty_objects_gets_a_small_422_with_a_count_of_the_rest(client):
    rows = 1_000
    body = b'{"applications": [' + b",".join([b"{}"] * rows) + b"]}"
    assert len(body) < 4_100
    response = client.post(
        "/v1/score/batch", content=body, headers={"content-type": "application/json"}
    )
    error = _error(response, 422)
    features = client.app.state.holder.current.scorer.input_schema.features
    total = rows * sum(1 for feature in features if not feature.nullable)  # each one missing
    assert len(error["fields"]) == 20
    assert error["fields_omitted"] == total - 20
    assert error["message"].endswith(f"; and {total - 10} more")
    assert error["fields"][0]["field"].startswith("applications[0].")
    assert len(response.content) < 5_000, len(response.content)


# ---- 6. observed_at is a real, recent, timezone-aware time
@pytest.mark.parametrize(
    ("observed_at", "rule"),
    [
        ("1970-01-01T00:00:00Z", "on or after 2000-01-01"),
        ("9999-12-31T23:59:59Z", "in the future"),
        ((datetime.now(UTC) + timedelta(days=3)).isoformat(), "in the future"),
        ("2024-06-01T12:00:00", "time zone"),
    ],
)
def test_feedback_observed_at_must_be_bounded_and_timezone_aware(client, store, observed_at, rule):
    client.post("/v1/score", json={**APPLICANT, "application_id": "a-1"})
    response = client.post(
        "/v1/feedback", json={"application_id": "a-1", "outcome": 1, "observed_at": observed_at}
    )
    error = _error(response, 422)
    [field] = error["fields"]
    assert field["field"] == "observed_at" and rule in field["message"]
    assert field["received"] == observed_at
    assert store.get_label("a-1") is None


def test_feedback_accepts_a_recent_aware_time(client):
    client.post("/v1/score", json={**APPLICANT, "application_id": "a-2"})
    observed_at = "2025-01-31T09:30:00+01:00"
    response = client.post(
        "/v1/feedback", json={"application_id": "a-2", "outcome": 0, "observed_at": observed_at}
    )
    assert response.status_code == 200, response.text


# ---- 7. a non-JSON feedback body is named like on the other routes
@pytest.mark.parametrize("path", JSON_ROUTES)
def test_a_body_that_is_not_json_is_named_body_on_every_route(client, path):
    response = client.post(path, content=b"{not json", headers={"content-type": "application/json"})
    error = _error(response, 422)
    assert [f["field"] for f in error["fields"]] == ["(body)"]
    assert error["message"] == "(body): the body is not valid JSON"


# ---- 3. metric labels come only from route templates
def _series(client) -> list[str]:
    text = client.get("/metrics").text
    return [line for line in text.splitlines() if line.startswith("riskloop_http_requests_total{")]


def test_unknown_paths_redirects_and_methods_add_no_metric_series(client):
    for i in range(50):  # 300 requests, 250 of them to paths never seen before
        client.get(f"/no-such-page-{i}")
        client.post(f"/v1/score/{i}/", json={})
        client.request("PATCH", f"/v1/score?{i}")
        client.request("BREW", f"/coffee-{i}")
        client.get(f"/v1/score/batch/?x={i}", follow_redirects=False)  # a redirect
        client.delete(f"/v1/explain/{i}")  # a route that exists, with another method
    series = _series(client)
    assert not [s for s in series if "no-such" in s or "coffee" in s or "/v1/score/" in s], series
    assert len(series) <= 12, "\n".join(series)
    assert any(f'route="{UNMATCHED}"' in s for s in series)
    explain = 'method="DELETE",route="/v1/explain/{application_id}",status="405"'
    assert any(explain in s for s in series)
    assert all('method="BREW"' not in s for s in series)
    assert any('method="other"' in s for s in series)


# ---- 10. /ready says why a model was refused
def test_ready_says_why_the_champion_was_refused(credit_scorer, store):
    from riskloop.provenance import ManifestMismatchError

    def refuse():
        raise ManifestMismatchError("scorer/model.npz was changed after signing")

    app = create_app(ModelHolder(), store, load_model=refuse)
    with TestClient(app) as c:
        response = c.get("/ready")
    error = _error(response, 503)
    assert "train one" not in error["message"]
    assert "refused" in error["message"] and "scorer/model.npz" in error["message"]
