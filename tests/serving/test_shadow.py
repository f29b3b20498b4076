"""Shadow scoring: the service also scores live traffic with the model behind a shadow alias,
logs those scores in ``shadow_predictions`` and never returns them; a failing shadow model never
fails a request (it is counted in /metrics)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from riskloop.scorer import Decisions
from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.store import PredictionStore, ShadowStore
from tests.credentials import authorized
from tests.serving.test_api import APPLICANT


class SquaredScorer:
    """A different model: the champion scorer's probability squared (hand-checkable), decided
    at the same threshold. ``fail`` makes every score after the warm-up raise."""

    def __init__(self, scorer, fail: bool = False):
        self._scorer, self.fail, self.calls = scorer, fail, 0

    def __getattr__(self, name):
        return getattr(self._scorer, name)

    def score_records(self, records):
        self.calls += 1
        if self.fail and self.calls > 1:  # the first call is the warm-up at load time
            raise RuntimeError("shadow model broke")
        probability = self._scorer.score_records(records).probability ** 2
        return Decisions(probability, self._scorer.decide(probability))


@pytest.fixture()
def store(tmp_path):
    # a file, not memory: the shadow rows are read after the app's shutdown (which waits for
    # them) has disposed of the engine
    return PredictionStore(f"sqlite:///{tmp_path / 'store.db'}")


def _app(credit_scorer, store, shadow_scorer, alias="challenger"):
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    loaded: list[str] = []

    def load_shadow(name: str) -> LoadedModel:
        loaded.append(name)
        return LoadedModel(shadow_scorer, name="credit-risk", version="8", alias=name)

    app = create_app(
        holder, store, config=ServiceConfig(shadow_alias=alias), load_shadow=load_shadow
    )
    return app, holder, loaded


def test_shadow_scores_are_logged_and_never_returned(credit_scorer, store):
    shadow = SquaredScorer(credit_scorer)
    app, holder, loaded = _app(credit_scorer, store, shadow)
    with TestClient(app, headers=authorized(store)) as client:
        assert loaded == ["challenger"] and holder.shadow.version == "8"
        response = client.post("/v1/score", json={**APPLICANT, "application_id": "app-1"})
        batch = client.post(
            "/v1/score/batch",
            json={"applications": [{**APPLICANT, "Age": 50, "application_id": "app-2"}]},
        )
    assert response.status_code == 200 and batch.status_code == 200
    body = response.json()
    assert set(body) == {
        "application_id", "probability_of_default", "decision", "threshold", "model_name",
        "model_version", "reasons",
    }  # fmt: skip
    assert body["model_version"] == "7"
    champion = credit_scorer.predict_proba(pd.DataFrame([APPLICANT]))[0]
    assert body["probability_of_default"] == pytest.approx(champion, abs=1e-12)
    rows = {r["application_id"]: r for r in ShadowStore(store.engine).rows("8")}
    assert set(rows) == {"app-1", "app-2"}
    assert rows["app-1"]["probability"] == pytest.approx(champion**2, abs=1e-12)
    assert rows["app-1"]["probability"] != pytest.approx(champion)
    older = credit_scorer.predict_proba(pd.DataFrame([{**APPLICANT, "Age": 50}]))[0]
    assert rows["app-2"]["probability"] == pytest.approx(older**2, abs=1e-12)
    expected = "decline" if champion**2 >= credit_scorer.threshold else "approve"
    assert rows["app-1"]["decision"] == expected and rows["app-1"]["model_name"] == "credit-risk"
    assert store.get("app-1")["probability"] == pytest.approx(champion)  # champion log intact


def test_failing_shadow_model_does_not_fail_the_request(credit_scorer, store):
    app, _, _ = _app(credit_scorer, store, SquaredScorer(credit_scorer, fail=True))
    with TestClient(app, headers=authorized(store)) as client:
        responses = [
            client.post("/v1/score", json={**APPLICANT, "application_id": f"app-{i}"})
            for i in range(3)
        ]
        assert [r.status_code for r in responses] == [200, 200, 200]
        assert "probability_of_default" in responses[0].json()
    text = app.state.metrics.exposition()[0].decode()  # after shutdown waited for the shadow
    assert "riskloop_shadow_failures_total 3.0" in text
    assert ShadowStore(store.engine).rows() == [] and store.count() == 3


def test_no_shadow_alias_means_no_shadow_scoring(credit_scorer, store):
    app, holder, loaded = _app(credit_scorer, store, SquaredScorer(credit_scorer), alias=None)
    with TestClient(app, headers=authorized(store)) as client:
        assert client.post("/v1/score", json=APPLICANT).status_code == 200
    assert loaded == [] and holder.shadow is None and ShadowStore(store.engine).rows() == []


def test_shadow_load_failure_leaves_the_service_up(credit_scorer, store):
    def broken(alias):
        raise RuntimeError("registry down")

    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    app = create_app(
        holder, store, config=ServiceConfig(shadow_alias="challenger"), load_shadow=broken
    )
    with TestClient(app, headers=authorized(store)) as client:
        assert client.post("/v1/score", json=APPLICANT).status_code == 200
    assert holder.shadow is None and np.isclose(store.count(), 1)


def test_a_batch_scored_off_the_event_loop_is_shadow_scored_too(credit_scorer, store):
    # more than 32 rows: the batch is scored in a worker thread, and its rows are logged whole
    app, _, _ = _app(credit_scorer, store, SquaredScorer(credit_scorer))
    rows = [{**APPLICANT, "Age": 20 + i, "application_id": f"big-{i}"} for i in range(40)]
    with TestClient(app, headers=authorized(store)) as client:
        assert client.post("/v1/score/batch", json={"applications": rows}).status_code == 200
    shadow = {r["application_id"]: r for r in ShadowStore(store.engine).rows("8")}
    assert set(shadow) == {f"big-{i}" for i in range(40)}
    champion = credit_scorer.predict_proba(
        pd.DataFrame([r for r in rows]).drop(columns="application_id")
    )
    assert [shadow[f"big-{i}"]["probability"] for i in range(40)] == pytest.approx(
        list(champion**2), abs=1e-12
    )
