"""Every route of the real app, read from the app itself (:func:`route_roles`), called with no
credential, a wrong one, and a key holding each role alone: allowed roles get past the check
(any status but 401/403/429), the others get 403. A route that declares nobody fails here."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from fastapi import Depends
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.auth import Requires, route_roles
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.credentials import api_key, bearer
from tests.serving.test_api import APPLICANT

REFUSED = {401, 403, 429}
LOGGED_ID = "route-roles-1"
checked: Counter[str] = Counter()


@pytest.fixture(scope="module")
def service(credit_scorer):
    """The app beyond loopback (every door locked), one key per role, one logged application."""
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = PredictionStore("sqlite://", engine=engine)
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    # a high failure limit: this test fails on purpose more often than a client is allowed to
    app = create_app(holder, store, config=ServiceConfig(auth_failure_limit=10_000))
    keys = {role: api_key(store, role, name=f"only-{role}") for role in Role}
    with TestClient(app) as client:
        logged = client.post(
            "/v1/score",
            json={**APPLICANT, "application_id": LOGGED_ID},
            headers=bearer(keys[Role.SCORER]),
        )
        assert logged.status_code == 200, logged.text
        yield app, client, keys


def _request(client: TestClient, method: str, path: str, headers: dict[str, str]) -> Any:
    """Call a route with a plausible body; the status tells whether the caller got through."""
    url = path.replace("{application_id}", LOGGED_ID)
    body: Any = None
    if path.startswith("/v1/score/batch"):
        body = {"applications": [APPLICANT]}
    elif path.startswith("/v1/score"):
        body = APPLICANT
    elif path == "/v1/feedback":
        body = {"application_id": "never-scored", "outcome": 1}
    return client.request(method, url, json=body, headers=headers)


def test_every_route_declares_who_may_call_it(service):
    app, _, _ = service
    table = route_roles(app)
    assert {path for _, path in table} >= {"/v1/score", "/v1/admin/reload", "/health", "/docs"}
    assert [route for route, declared in table.items() if not declared] == []


def test_a_route_added_without_a_role_is_flagged(credit_scorer):
    app = create_app(ModelHolder(), PredictionStore("sqlite://"))

    @app.get("/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    @app.get("/v1/remembered", dependencies=[Depends(Requires(Role.ANALYST))])
    def remembered() -> dict[str, str]:
        return {}

    table = route_roles(app)
    assert table[("GET", "/v1/forgotten")] == []
    assert table[("GET", "/v1/remembered")] == [frozenset({Role.ANALYST, Role.ADMIN})]


def test_every_route_with_no_key_a_wrong_key_and_each_role(service):
    app, client, keys = service
    table = route_roles(app)
    for (method, path), declared in table.items():
        no_key = _request(client, method, path, {})
        wrong = _request(client, method, path, bearer("rlk_0123456789abcdef_" + "x" * 43))
        if "public" in declared:
            assert no_key.status_code not in REFUSED, (method, path, no_key.text)
            checked["public"] += 1
            continue
        assert no_key.status_code == 401, (method, path, no_key.text)
        assert no_key.headers["www-authenticate"] == "Bearer"
        assert wrong.status_code == 401 and "not valid" in wrong.json()["error"]["message"]
        allowed = frozenset.intersection(*(d for d in declared if isinstance(d, frozenset)))
        for role, key in keys.items():
            response = _request(client, method, path, bearer(key))
            if role in allowed:
                assert response.status_code not in REFUSED, (method, path, role, response.text)
            else:
                assert response.status_code == 403, (method, path, role, response.text)
                message = response.json()["error"]["message"]
                assert f"key:only-{role}" in message and key not in message
            checked["route x role"] += 1
    print(f"\nroutes: {len(table)}; route x role checks: {checked['route x role']}")
    assert checked["route x role"] >= 4 * 12


def test_the_role_table(service):
    """The table as decided (docs/security.md): what each role opens."""
    app, _, _ = service
    table = route_roles(app)

    def opens(role: Role) -> set[str]:
        return {
            f"{method} {path}"
            for (method, path), declared in table.items()
            if any(isinstance(d, frozenset) and role in d for d in declared)
            and "public" not in declared
        }

    scoring = {"POST /v1/score", "POST /v1/score/preview", "POST /v1/score/batch"}
    anyone_signed = {"GET /metrics", "GET /v1/me"}
    assert opens(Role.SCORER) == scoring | {"GET /v1/schema"} | anyone_signed
    assert opens(Role.OUTCOMES) == {"POST /v1/feedback"} | anyone_signed
    assert {"GET /v1/explain/{application_id}", "GET /v1/model", "GET /v1/schema"} <= opens(
        Role.ANALYST
    )
    assert opens(Role.ANALYST) & (scoring | {"POST /v1/feedback", "POST /v1/admin/reload"}) == set()
    assert opens(Role.ADMIN) == {f"{m} {p}" for m, p in table if "public" not in table[(m, p)]}


def test_on_loopback_metrics_and_the_docs_need_no_key(credit_scorer):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(holder, PredictionStore("sqlite://"), config=ServiceConfig(loopback=True))
    with TestClient(app) as client:
        for path in ("/metrics", "/openapi.json", "/docs"):
            assert client.get(path).status_code == 200, path
        assert client.get("/v1/model").status_code == 401
