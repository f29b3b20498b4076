"""What a route needs arrives through ``Depends``: a test replaces any of it with
``app.dependency_overrides``, without building another app."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from riskloop.serving.app import create_app
from riskloop.serving.dependencies import current_model, get_store
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.credentials import authorized
from tests.serving.test_api import APPLICANT


@pytest.fixture()
def store(tmp_path):
    # a file: the log is read after the app's shutdown has disposed of its engine
    return PredictionStore(f"sqlite:///{tmp_path / 'store.db'}")


def test_the_model_a_route_uses_can_be_overridden(credit_scorer, store):
    app = create_app(
        ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7")), store
    )
    other = LoadedModel(credit_scorer, name="credit-risk", version="override")
    app.dependency_overrides[current_model] = lambda: other
    with TestClient(app, headers=authorized(store)) as client:
        assert client.get("/v1/model").json()["version"] == "override"
        scored = client.post("/v1/score", json={**APPLICANT, "application_id": "o-1"}).json()
    assert scored["model_version"] == "override"
    assert store.get("o-1")["model_version"] == "override"


def test_the_store_a_route_uses_can_be_overridden(credit_scorer, store, tmp_path):
    elsewhere = PredictionStore(f"sqlite:///{tmp_path / 'elsewhere.db'}")
    app = create_app(
        ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7")), store
    )
    app.dependency_overrides[get_store] = lambda: elsewhere
    with TestClient(app, headers=authorized(store)) as client:
        client.post("/v1/score", json={**APPLICANT, "application_id": "s-1"})
        # the log of scores is the app's; the explain route reads the overriding store
        assert client.get("/v1/explain/s-1").json()["error"]["code"] == "unknown_application"
    assert store.get("s-1") is not None and elsewhere.get("s-1") is None
