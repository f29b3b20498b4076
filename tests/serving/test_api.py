"""The API on a scorer trained in-process and an in-memory SQLite prediction log."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.credentials import authorized

APPLICANT = {
    "Seniority": 9,
    "Home": "rent",
    "Time": 60,
    "Age": 30,
    "Marital": "married",
    "Records": "no",
    "Job": "freelance",
    "Expenses": 73,
    "Income": 129.0,
    "Assets": 0.0,
    "Debt": 0.0,
    "Amount": 800,
    "Price": 846,
}


@pytest.fixture()
def store():
    from sqlalchemy import create_engine

    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return PredictionStore("sqlite://", engine=engine)


@pytest.fixture()
def client(credit_scorer, store):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    with TestClient(create_app(holder, store), headers=authorized(store)) as test_client:
        yield test_client


def _fields(response) -> dict[str, dict]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return {f["field"]: f for f in body["error"]["fields"]}


def test_score_one_logs_the_decision(client, store, credit_scorer):
    response = client.post("/v1/score", json={**APPLICANT, "application_id": "app-1"})
    assert response.status_code == 200
    body = response.json()
    assert body["application_id"] == "app-1" and body["model_version"] == "7"
    assert body["decision"] == ("decline" if body["probability_of_default"] >= 0.5 else "approve")
    import pandas as pd

    expected = credit_scorer.predict_proba(pd.DataFrame([APPLICANT]))[0]
    assert body["probability_of_default"] == pytest.approx(expected, abs=1e-12)
    logged = store.get("app-1")
    assert logged["probability"] == pytest.approx(expected) and logged["inputs"]["Age"] == 30


def test_batch_scores_and_generates_ids(client, store):
    response = client.post("/v1/score/batch", json={"applications": [APPLICANT, APPLICANT]})
    assert response.status_code == 200
    ids = [r["application_id"] for r in response.json()["results"]]
    assert len(set(ids)) == 2 and store.count() == 2


def test_missing_nullable_fields_are_accepted(client):
    body = {k: v for k, v in APPLICANT.items() if k not in ("Income", "Home")}
    assert client.post("/v1/score", json=body).status_code == 200


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        ({"Age": 7}, "Age", "greater than or equal to 18"),
        ({"Age": "old"}, "Age", "valid number"),
        ({"Home": "castle"}, "Home", "'rent'"),
        ({"Shoe_size": 44}, "Shoe_size", "Extra inputs are not permitted"),
        ({"Amount": None}, "Amount", "valid number"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, store, change, field, fragment):
    response = client.post("/v1/score", json={**APPLICANT, **change})
    assert response.status_code == 422
    fields = _fields(response)
    assert field in fields and fragment in fields[field]["message"]
    assert store.count() == 0


def test_missing_required_field(client):
    body = {k: v for k, v in APPLICANT.items() if k != "Time"}
    fields = _fields(client.post("/v1/score", json=body))
    assert fields["Time"]["message"] == "Field required"


def test_sensitive_attributes_are_optional_validated_logged_and_not_scored(client, store):
    """Age and Marital are not model inputs (the default scenario): an application may leave
    them out, a bad value is still refused, and what is sent is logged for fairness monitoring
    without changing the score."""
    without = {k: v for k, v in APPLICANT.items() if k not in ("Age", "Marital")}
    first = client.post("/v1/score", json={**without, "application_id": "no-age"})
    second = client.post("/v1/score", json={**APPLICANT, "application_id": "with-age"})
    assert first.status_code == second.status_code == 200
    assert first.json()["probability_of_default"] == second.json()["probability_of_default"]
    assert _fields(client.post("/v1/score", json={**APPLICANT, "Age": 7}))["Age"]
    logged = store.get("with-age")
    assert logged is not None and logged["inputs"]["Age"] == 30


def test_batch_errors_name_the_row(client, store):
    response = client.post(
        "/v1/score/batch", json={"applications": [APPLICANT, {**APPLICANT, "Time": 0}]}
    )
    assert response.status_code == 422
    assert "applications[1].Time" in _fields(response)
    assert store.count() == 0  # nothing of a rejected batch is scored or logged


@pytest.mark.parametrize("body", [{"applications": []}, {"apps": [APPLICANT]}, [APPLICANT], "x"])
def test_malformed_batch_bodies(client, body):
    response = client.post("/v1/score/batch", json=body)
    assert response.status_code == 422 and "error" in response.json()


def test_invalid_json_is_422_in_the_same_shape(client):
    response = client.post(
        "/v1/score", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid_request"


def test_duplicate_application_id_is_409(client):
    assert client.post("/v1/score", json={**APPLICANT, "application_id": "a"}).status_code == 200
    response = client.post("/v1/score", json={**APPLICANT, "application_id": "a"})
    assert response.status_code == 409


def test_model_and_schema_routes(client, credit_scorer):
    info = client.get("/v1/model").json()
    assert info["name"] == "credit-risk" and info["version"] == "7"
    assert info["threshold"] == credit_scorer.threshold
    names = [f["name"] for f in client.get("/v1/schema").json()["features"]]
    assert names == credit_scorer.input_schema.names


def test_not_ready_without_a_model(store):
    app = create_app(ModelHolder(), store, load_model=lambda: None)
    with TestClient(app, headers=authorized(store)) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        response = client.post("/v1/score", json=APPLICANT)
        assert response.status_code == 503 and response.json()["error"]["code"] == "no_model"
