"""Applicants' rights through the API: pseudonymous references, access, erasure, audited reads."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.identity import Role
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store.privacy import (
    APPLICANT_ERASED,
    PERSONAL_DATA_READ,
    PrivacyStore,
    applicant_reference,
)
from tests.credentials import authorized
from tests.serving.test_api import APPLICANT as ANY_SCENARIO_APPLICANT

KEY = b"r" * 32
ALICE = applicant_reference(KEY, "customer-0001")


@pytest.fixture(scope="module")
def applicant(credit_scorer):
    """An application with the model's inputs (whether or not sensitive ones are among them)."""
    names = {feature.name for feature in credit_scorer.input_schema.features}
    return {k: v for k, v in ANY_SCENARIO_APPLICANT.items() if k in names}


@pytest.fixture()
def client(credit_scorer, store, applicant):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(holder, store, config=ServiceConfig(applicant_ref_key=KEY))
    with TestClient(app, headers=authorized(store, Role.SCORER, name="lender")) as test_client:
        test_client.applicant = applicant
        yield test_client


def _score(client, application_id, applicant_id="customer-0001"):
    body = {**client.applicant, "application_id": application_id, "applicant_id": applicant_id}
    response = client.post("/v1/score", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_log_holds_the_keyed_reference_never_the_applicant_id(client, store):
    answer = _score(client, "app-1")
    assert answer["applicant_ref"] == ALICE
    logged = store.get("app-1")
    assert logged["applicant_ref"] == ALICE
    assert "customer-0001" not in repr(logged)
    # an application without applicant_id answers as before
    response = client.post("/v1/score", json={**client.applicant, "application_id": "app-2"})
    assert "applicant_ref" not in response.json() and store.get("app-2")["applicant_ref"] is None


def test_without_a_key_an_applicant_id_is_refused_not_stored(credit_scorer, store, applicant):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    with TestClient(create_app(holder, store), headers=authorized(store)) as keyless:
        response = keyless.post("/v1/score", json={**applicant, "applicant_id": "customer-1"})
        assert response.status_code == 503
        assert "RISKLOOP_APPLICANT_REF_KEY" in response.json()["error"]["message"]
        assert store.count() == 0


def test_access_returns_the_record_and_audits_who_and_why(client, store):
    _score(client, "app-1")
    _score(client, "app-other", applicant_id="customer-0002")
    analyst = authorized(store, Role.ANALYST, name="dpo-desk")

    response = client.get(f"/v1/applicants/{ALICE}?reason=request 42", headers=analyst)

    assert response.status_code == 200, response.text
    [decision] = response.json()["decisions"]
    assert decision["application_id"] == "app-1" and decision["inputs"]["Seniority"] == 9
    assert decision["model_version"] == "7" and decision["outcome"] is None
    [event] = store.monitoring.audit_events(PERSONAL_DATA_READ)
    assert event["actor"] == "key:dpo-desk"
    assert event["payload"] == {
        "applicant_ref": ALICE,
        "channel": "GET /v1/applicants",
        "reason": "request 42",
    }
    # a scorer may not read records; unknown and malformed references are named
    assert client.get(f"/v1/applicants/{ALICE}").status_code == 403
    assert client.get(f"/v1/applicants/{'0' * 64}", headers=analyst).status_code == 404
    malformed = client.get("/v1/applicants/customer-0001", headers=analyst)
    assert malformed.status_code == 422


def test_explain_reads_are_audited(client, store):
    _score(client, "app-1")
    analyst = authorized(store, Role.ANALYST, name="model-risk")
    response = client.get("/v1/explain/app-1", headers=analyst)
    assert response.status_code == 200, response.text
    [event] = store.monitoring.audit_events(PERSONAL_DATA_READ)
    assert event["actor"] == "key:model-risk"
    assert event["payload"]["application_id"] == "app-1" and event["payload"]["reason"] is None


def test_erasure_needs_admin_and_a_reason_and_leaves_a_tombstone(client, store):
    _score(client, "app-1")
    admin = authorized(store, Role.ADMIN, name="dpo")
    analyst = authorized(store, Role.ANALYST)
    assert client.delete(f"/v1/applicants/{ALICE}?reason=x", headers=analyst).status_code == 403
    assert client.delete(f"/v1/applicants/{ALICE}", headers=admin).status_code == 422

    response = client.delete(f"/v1/applicants/{ALICE}?reason=Art. 17 request", headers=admin)

    assert response.status_code == 200, response.text
    assert response.json()["decisions_erased"] == 1
    assert store.get("app-1") is None
    assert client.get(f"/v1/applicants/{ALICE}", headers=analyst).status_code == 404
    [tombstone] = PrivacyStore(store.engine).tombstones()
    assert tombstone["model_version"] == "7" and tombstone["erased_by"] == "key:dpo"
    [event] = store.monitoring.audit_events(APPLICANT_ERASED)
    assert event["payload"]["reason"] == "Art. 17 request"
    assert client.delete(f"/v1/applicants/{ALICE}?reason=again", headers=admin).status_code == 404


def test_a_batch_gives_each_applicant_their_own_reference(client, store):
    rows = [
        {**client.applicant, "application_id": "b-1", "applicant_id": "customer-0001"},
        {**client.applicant, "application_id": "b-2", "applicant_id": "customer-0002"},
        {**client.applicant, "application_id": "b-3"},
    ]
    response = client.post("/v1/score/batch", json={"applications": rows})
    assert response.status_code == 200, response.text
    refs = [r.get("applicant_ref") for r in response.json()["results"]]
    assert refs == [ALICE, applicant_reference(KEY, "customer-0002"), None]
    assert [store.get(f"b-{i}")["applicant_ref"] for i in (1, 2, 3)] == refs
    assert "customer-000" not in repr([store.get(f"b-{i}") for i in (1, 2, 3)])


def test_rectified_inputs_are_rescored_and_linked_to_the_old_decision(client, store):
    _score(client, "app-1")
    admin = authorized(store, Role.ADMIN, name="dpo")
    corrected = {**client.applicant, "Income": 300.0, "application_id": "app-1-fixed"}

    response = client.post(
        "/v1/applications/app-1/rectify?reason=payslip", json=corrected, headers=admin
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["rectifies"] == "app-1" and body["applicant_ref"] == ALICE
    new = store.get("app-1-fixed")
    assert new["inputs"]["Income"] == 300.0 and new["rectifies"] == "app-1"
    assert new["applicant_ref"] == ALICE and new["actor"] == "key:dpo"
    assert store.get("app-1")["inputs"]["Income"] == client.applicant["Income"]
    analyst = authorized(store, Role.ANALYST)
    decisions = client.get(f"/v1/applicants/{ALICE}", headers=analyst).json()["decisions"]
    assert [(d["application_id"], d["rectifies"]) for d in decisions] == [
        ("app-1", None),
        ("app-1-fixed", "app-1"),
    ]
    letter = client.get(f"/v1/applicants/{ALICE}/letter", headers=analyst).text
    assert "It corrects application app-1" in " ".join(letter.split())
    [event] = store.monitoring.audit_events("decision_rectified")
    assert event["payload"]["reason"] == "payslip" and event["actor"] == "key:dpo"
    # a scorer may not rectify; an unknown decision and another applicant are refused
    assert client.post("/v1/applications/app-1/rectify", json=corrected).status_code == 403
    unknown = client.post("/v1/applications/nope/rectify", json=corrected, headers=admin)
    assert unknown.status_code == 404
    other = {**corrected, "application_id": "x", "applicant_id": "someone-else"}
    refused = client.post("/v1/applications/app-1/rectify", json=other, headers=admin)
    assert refused.status_code == 409 and "applicant_id" in refused.json()["error"]["message"]
    assert store.get("x") is None
    same = {**corrected, "application_id": "y", "applicant_id": "customer-0001"}
    assert (
        client.post("/v1/applications/app-1/rectify", json=same, headers=admin).status_code == 200
    )


def test_the_record_as_a_letter_is_plain_language_and_audited(client, store):
    _score(client, "app-1")
    analyst = authorized(store, Role.ANALYST, name="dpo-desk")
    response = client.get(f"/v1/applicants/{ALICE}/letter?reason=letter 9", headers=analyst)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    text = " ".join(response.text.split())
    assert "we hold 1 credit decision." in text and "Application app-1" in text
    assert "Seniority: 9" in text and "by model credit-risk version 7" in text
    [event] = store.monitoring.audit_events(PERSONAL_DATA_READ)
    assert event["payload"]["channel"] == "GET /v1/applicants/letter"
    assert event["payload"]["reason"] == "letter 9"


def test_a_wrong_method_names_every_method_of_the_path(client):
    response = client.request("PUT", f"/v1/applicants/{ALICE}")
    assert response.status_code == 405
    assert set(response.headers["allow"].split(", ")) == {"GET", "DELETE"}
