"""The wave-1 API: reason codes, preview, explanations, outcomes, limits, admin reload, metrics,
and the prediction log's group commit — in process, on a scorer trained in-process."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore
from tests.credentials import authorized
from tests.serving.test_api import APPLICANT

TOKEN = "an-admin-token-of-at-least-32-bytes"


@pytest.fixture()
def store():
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    return PredictionStore("sqlite://", engine=engine)


def _client(app, *roles: Role) -> TestClient:
    """A client sending a key of the app's store with ``roles`` (default: every role)."""
    return TestClient(app, headers=authorized(app.state.store, *roles))


def _app(scorer, store, version="7", **config):
    holder = ModelHolder(LoadedModel(scorer, name="credit-risk", version=version))
    return create_app(holder, store, config=ServiceConfig(**config))


@pytest.fixture()
def client(credit_scorer, store):
    with _client(_app(credit_scorer, store, admin_token=TOKEN, max_batch_rows=5)) as c:
        yield c


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


# ---- scoring, reasons, preview
def _declined_applicant(scorer, frame) -> dict:
    """The first applicant of the bundled data the scorer declines."""
    rows = frame.drop(columns="Status")
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    decisions = scorer.score_records(records)
    return records[decisions.decision.index("decline")]


def test_a_declined_applicant_gets_the_scorers_reasons(client, credit_scorer, credit_frame):
    applicant = _declined_applicant(credit_scorer, credit_frame)
    body = client.post("/v1/score", json=applicant).json()
    assert body["decision"] == "decline" and body["threshold"] == credit_scorer.threshold
    expected = credit_scorer.score_records([applicant]).reasons
    assert expected is not None, "the scorer gives no reasons"
    [want] = expected
    assert len(body["reasons"]) >= 1, "a decline must say why"
    assert [(r["feature"], r["text"]) for r in body["reasons"]] == [
        (r["feature"], r["text"]) for r in want
    ]
    assert [r["contribution"] for r in body["reasons"]] == pytest.approx(
        [r["contribution"] for r in want], abs=1e-12
    )
    assert body["reasons"][0]["contribution"] > 0  # the first reason pushes toward decline


def test_reasons_are_an_empty_list_when_the_scorer_cannot_explain(credit_scorer, store):
    from dataclasses import replace

    silent = replace(credit_scorer, explanation=None)
    with _client(_app(silent, store)) as c:
        body = c.post("/v1/score", json={**APPLICANT, "application_id": "quiet"}).json()
        assert body["reasons"] == []
        assert store.get("quiet")["reasons"] == []
        # the explanation route says why it has nothing, in the error shape
        assert _error(c.get("/v1/explain/quiet"), 404)["code"] == "no_explanation"


def test_preview_scores_without_logging(client, store):
    scored = client.post("/v1/score", json=APPLICANT).json()
    preview = client.post("/v1/score/preview", json={**APPLICANT, "application_id": "what-if"})
    assert preview.status_code == 200
    assert preview.json()["probability_of_default"] == scored["probability_of_default"]
    assert store.count() == 1 and store.get("what-if") is None


# ---- explanations
def test_explain_returns_the_stored_additive_breakdown(client, store, credit_scorer):
    client.post("/v1/score", json={**APPLICANT, "application_id": "why-1"})
    response = client.get("/v1/explain/why-1")
    assert response.status_code == 200, response.text
    body = response.json()
    explanation = body["explanation"]
    total = explanation["base_value"] + sum(explanation["contributions"].values())
    assert total == pytest.approx(explanation["output"], abs=1e-6)
    assert set(explanation["contributions"]) == set(credit_scorer.input_schema.names)
    # the model's output in log-odds is the logit of the (uncalibrated) probability
    if (
        explanation["output_space"] == "log_odds"
        and getattr(credit_scorer, "calibrator", None) is None
    ):
        p = body["probability_of_default"]
        assert explanation["output"] == pytest.approx(np.log(p / (1 - p)), abs=1e-9)
    assert store.get("why-1")["explanation"] == explanation  # computed once, then kept


def test_explain_unknown_application_is_404(client):
    assert _error(client.get("/v1/explain/nobody"), 404)["code"] == "unknown_application"


# ---- outcomes
def test_feedback_stores_the_outcome_once(client, store):
    client.post("/v1/score", json={**APPLICANT, "application_id": "loan-9"})
    response = client.post(
        "/v1/feedback",
        json={"application_id": "loan-9", "outcome": 1, "observed_at": "2026-03-01T00:00:00Z"},
    )
    assert response.status_code == 200, response.text
    label = store.get_label("loan-9")
    assert label["outcome"] == 1
    # evidence from this caller, unchecked until its outcomes pass the label checks
    assert label["status"] == "unchecked" and label["source"].startswith("api:")
    assert label["observed_at"].replace(tzinfo=UTC) == datetime(2026, 3, 1, tzinfo=UTC)
    duplicate = client.post("/v1/feedback", json={"application_id": "loan-9", "outcome": 0})
    assert _error(duplicate, 409)["code"] == "duplicate_outcome"
    assert store.get_label("loan-9")["outcome"] == 1  # the first outcome stands
    frame = store.labelled_predictions()
    assert frame["application_id"].tolist() == ["loan-9"] and frame["outcome"].tolist() == [1]


def test_feedback_for_an_unknown_application_is_404(client, store):
    response = client.post("/v1/feedback", json={"application_id": "ghost", "outcome": 0})
    assert _error(response, 404)["code"] == "unknown_application"
    assert store.get_label("ghost") is None


@pytest.mark.parametrize("outcome", [2, "bad", None, True])
def test_feedback_outcome_must_be_0_or_1(client, outcome):
    client.post("/v1/score", json={**APPLICANT, "application_id": "x1"})
    response = client.post("/v1/feedback", json={"application_id": "x1", "outcome": outcome})
    error = _error(response, 422)
    assert any(f["field"] == "outcome" for f in error["fields"])


# ---- hardening
def test_body_over_the_limit_is_413(credit_scorer, store):
    with _client(_app(credit_scorer, store, max_body_bytes=300)) as c:
        big = {**APPLICANT, "application_id": "x" * 60}
        assert c.post("/v1/score", json=APPLICANT).status_code == 200
        error = _error(c.post("/v1/score/batch", json={"applications": [big] * 3}), 413)
        assert error["code"] == "body_too_large" and "300 bytes" in error["message"]

        # streamed without a Content-Length: counted as it arrives
        def chunks():
            yield b'{"applications": ['
            for _ in range(40):  # 480 bytes in all
                yield b'{"Age": 30},'
            yield b"]}"

        response = c.post(
            "/v1/score/batch", content=chunks(), headers={"content-type": "application/json"}
        )
        assert _error(response, 413)["code"] == "body_too_large"
        assert store.count() == 1


def test_batch_over_the_row_cap_is_413_naming_the_cap(client, store):
    response = client.post("/v1/score/batch", json={"applications": [APPLICANT] * 6})
    error = _error(response, 413)
    assert error["code"] == "batch_too_large" and "limit is 5" in error["message"]
    assert "6 applications" in error["message"] and store.count() == 0


@pytest.mark.parametrize(
    ("change", "field", "allowed", "received"),
    [
        ({"Age": 150}, "Age", "a number in [18, 100]", 150),
        ({"Home": "castle"}, "Home", "one of 'rent', 'owner'", "castle"),
        ({"Age": "30"}, "Age", "a number in [18, 100]", "30"),  # numbers are JSON numbers
        ({"Income": -5}, "Income", "a number in [0, 100000]", -5),
    ],
)
def test_out_of_range_names_field_value_and_allowed_set(client, change, field, allowed, received):
    error = _error(client.post("/v1/score", json={**APPLICANT, **change}), 422)
    [entry] = [f for f in error["fields"] if f["field"] == field]
    assert allowed in entry["message"] and entry["received"] == received
    assert field in error["message"] and repr(received) in error["message"]


def test_unknown_field_in_a_batch_row_names_the_row(client):
    rows = [APPLICANT, {**APPLICANT, "Colour": "red"}]
    error = _error(client.post("/v1/score/batch", json={"applications": rows}), 422)
    assert error["fields"][0]["field"] == "applications[1].Colour"
    assert "unknown field" in error["fields"][0]["message"]


@pytest.mark.parametrize(
    "body",
    [b"\x1f\x8b\x08", b"[1, 2]", b"null", b'"x"', b"{", b"1e999", '{"Age": "\u00e9"}'.encode()],
)
def test_garbage_bodies_are_422_not_500(client, body):
    for path in ("/v1/score", "/v1/score/batch", "/v1/score/preview", "/v1/feedback"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, body, response.text)
        assert "error" in response.json()


def test_duplicate_ids_inside_one_batch_are_409_and_nothing_is_logged(client, store):
    rows = [{**APPLICANT, "application_id": "d"}, {**APPLICANT, "application_id": "d"}]
    assert _error(client.post("/v1/score/batch", json={"applications": rows}), 409)
    assert store.count() == 0


# ---- admin
def test_admin_reload_needs_the_bearer_token(credit_scorer, store):
    loaded = [LoadedModel(credit_scorer, name="credit-risk", version="8")]
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(
        holder, store, load_model=lambda: loaded[0], config=ServiceConfig(admin_token=TOKEN)
    )
    with _client(app, Role.SCORER, Role.ANALYST) as c:
        missing = c.post("/v1/admin/reload", headers={"Authorization": ""})
        assert _error(missing, 401)["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = c.post("/v1/admin/reload", headers={"Authorization": "Bearer nope"})
        assert _error(wrong, 401)["code"] == "unauthorized"
        not_admin = c.post("/v1/admin/reload")  # the client's own key: scorer and analyst
        assert _error(not_admin, 403)["code"] == "forbidden"
        assert c.get("/v1/model").json()["version"] == "7"
        ok = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.json() == {
            "changed": True,
            "model_name": "credit-risk",
            "model_version": "8",
            "previous_version": "7",
        }
        assert c.post("/v1/score", json=APPLICANT).json()["model_version"] == "8"
        again = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert again.json()["changed"] is False
        metrics = c.get("/metrics").text
        assert 'riskloop_model_info{model_name="credit-risk",model_version="8"} 1.0' in metrics
        assert 'model_version="7"} 1.0' not in metrics.split("riskloop_model_info")[-1]


def test_admin_routes_exist_without_a_token_and_take_an_admin_key(credit_scorer, store):
    with _client(_app(credit_scorer, store), Role.ADMIN) as c:
        response = c.post("/v1/admin/reload")  # past the role check: no champion to load
        assert _error(response, 503)["code"] == "no_champion"
        assert "/v1/admin/reload" in c.get("/openapi.json").json()["paths"]


def test_a_model_that_fails_to_load_is_not_swapped_in(credit_scorer, store):
    def broken():
        raise RuntimeError("artifact missing")

    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(holder, store, load_model=broken, config=ServiceConfig(admin_token=TOKEN))
    with _client(app) as c:
        response = c.post("/v1/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert _error(response, 503)["code"] == "reload_failed"
        assert "artifact missing" in response.json()["error"]["message"]
        assert c.post("/v1/score", json=APPLICANT).json()["model_version"] == "7"


def test_periodic_check_swaps_when_the_alias_moves(credit_scorer, store):
    alias = {"version": "7"}
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(
        holder,
        store,
        load_model=lambda: LoadedModel(credit_scorer, name="credit-risk", version=alias["version"]),
        champion_version=lambda: alias["version"],
        config=ServiceConfig(reload_interval_s=0.05),
    )
    with _client(app) as c:
        alias["version"] = "9"
        deadline = time.monotonic() + 10
        while c.get("/v1/model").json()["version"] != "9":
            assert time.monotonic() < deadline, "the periodic check never swapped"
            time.sleep(0.05)
        assert c.post("/v1/score", json=APPLICANT).json()["model_version"] == "9"


# ---- OpenAPI follows the model
def test_openapi_describes_the_models_fields(client, credit_scorer):
    schema = client.get("/openapi.json").json()
    applicant = schema["components"]["schemas"]["Applicant"]
    assert set(applicant["properties"]) == {
        *credit_scorer.input_schema.names,
        *credit_scorer.analysed_schema.names,  # Age, Marital: logged, never scored
        "application_id",
        "applicant_id",
    }
    assert applicant["additionalProperties"] is False
    age = applicant["properties"]["Age"]
    [number] = [s for s in age["anyOf"] if s.get("type") == "number"]  # optional: or null
    assert (number["minimum"], number["maximum"]) == (18, 100)
    assert "not a model input" in age["description"] and "Age" not in applicant["required"]
    body = schema["paths"]["/v1/score"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/Applicant"}
    responses = schema["paths"]["/v1/score"]["post"]["responses"]
    assert {"200", "409", "413", "422", "503"} <= set(responses)


# ---- metrics
def test_metrics_count_requests_scores_and_decisions(client):
    for _ in range(3):
        client.post("/v1/score", json=APPLICANT)
    client.post("/v1/score", json={**APPLICANT, "Age": 7})
    text = client.get("/metrics").text
    assert 'riskloop_http_requests_total{method="POST",route="/v1/score",status="200"} 3.0' in text
    assert 'riskloop_http_requests_total{method="POST",route="/v1/score",status="422"} 1.0' in text
    histogram = "riskloop_http_request_duration_seconds_count"
    assert f'{histogram}{{method="POST",route="/v1/score",status="200"}} 3.0' in text
    assert 'riskloop_score_probability_count{model_version="7"} 3.0' in text
    decisions = [line for line in text.splitlines() if line.startswith("riskloop_decisions_total{")]
    assert sum(float(line.split()[-1]) for line in decisions) == 3.0
    assert "riskloop_prediction_log_write_failures_total 0.0" in text
    assert "riskloop_prediction_log_rows_total 3.0" in text


# ---- the prediction log
class FailingStore(PredictionStore):
    """A store whose disk is full."""

    def append(self, records):
        raise OperationalError("INSERT", {}, Exception("database or disk is full"))


def test_a_log_that_cannot_write_answers_503_and_counts_it(credit_scorer, tmp_path):
    failing = FailingStore(f"sqlite:///{tmp_path / 'full.db'}")
    with _client(_app(credit_scorer, failing)) as c:
        response = c.post("/v1/score", json=APPLICANT)
        assert _error(response, 503)["code"] == "log_unavailable"
        assert "riskloop_prediction_log_write_failures_total 1.0" in c.get("/metrics").text
        # the preview does not log, so it still works
        assert c.post("/v1/score/preview", json=APPLICANT).status_code == 200


# The group-commit writer's own tests run on SQLite and PostgreSQL in
# tests/store/test_group_commit.py.


def test_sqlite_log_runs_in_wal_mode(tmp_path):
    from sqlalchemy import text

    store = PredictionStore(f"sqlite:///{tmp_path / 'log.db'}", sqlite_synchronous="FULL")
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_probabilities_are_identical_to_the_dataframe_path(client, credit_scorer, credit_frame):
    rows = credit_frame.drop(columns="Status").head(5)
    records = rows.astype(object).where(rows.notna(), None).to_dict("records")
    body = client.post("/v1/score/batch", json={"applications": records}).json()
    expected = credit_scorer.predict_proba(pd.DataFrame(records))
    got = [r["probability_of_default"] for r in body["results"]]
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
