"""The whole loop on PostgreSQL — the same code as on SQLite, another URL: the pipeline trains
and registers a champion in an MLflow registry on PostgreSQL (the promotion gate promotes the
first model, and refuses the same model registered again: it does not beat the champion), the
API loads it, scores
applicants into a migrated prediction store on PostgreSQL, takes their observed outcomes
(POST /v1/feedback), and the monitor reads the log back. Every figure is checked against the
same steps on SQLite or against the scorer itself.

Runs when RISKLOOP_TEST_DATABASE_URL is set (``.ci/run`` sets it); two throw-away databases are
created on that server (the store's and MLflow's, which runs its own migrations) and dropped."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text

from tests.conftest import CREDIT_CSV, PROJECT_DIR
from tests.postgres_databases import POSTGRES_MARKS, throwaway_database

pytestmark = [*POSTGRES_MARKS, pytest.mark.slow]

# one candidate, no search, small resampling budgets: this test is about storage, not quality
SMALL_TRAINING = {
    "model": {"type": "sklearn_logistic_regression"},
    "tuning": {"folds": 2, "trials": 1, "n_bootstrap": 50, "calibration_folds": 2},
}


@pytest.fixture(scope="module")
def postgres_loop(tmp_path_factory):
    """Pipeline → registration on PostgreSQL, then the registration pipeline once more on the
    same outputs; yields (store URL, scenario, both registration reports)."""
    from riskloop import registry
    from riskloop.data.scenario import load_scenario
    from riskloop.pipelines.runner import run_pipeline
    from riskloop.store.migrations import upgrade

    root = tmp_path_factory.mktemp("postgres_loop")
    scenario = load_scenario(PROJECT_DIR / "conf/base/scenarios/credit.yml")
    previous_tracking_uri = registry.current_tracking_uri()
    with (
        throwaway_database("riskloop_e2e_store") as store_url,
        throwaway_database("riskloop_e2e_mlflow") as tracking_uri,
        pytest.MonkeyPatch.context() as env,
        registry.restoring_trust(),  # the runs trust this workspace: not the next module
    ):
        env.setenv("MLFLOW_TRACKING_URI", tracking_uri)
        env.setenv("RISKLOOP_ARTIFACT_DIR", str(root / "mlartifacts"))
        env.setenv("RISKLOOP_DATA_DIR", str(root / "data"))
        env.setenv("RISKLOOP_DATABASE_URL", store_url)
        registry.configure(tracking_uri)
        assert upgrade(store_url) is not None  # what the compose stack's bootstrap does
        first = run_pipeline(
            PROJECT_DIR,
            data_dir=root / "data",
            params=SMALL_TRAINING,
            read_back=["registration_report"],
        )["registration_report"]
        # the same scorer, validation rows and reports, registered again (version 2)
        again = run_pipeline(
            PROJECT_DIR,
            pipeline_name="registration",
            data_dir=root / "data",
            params=SMALL_TRAINING,
            read_back=["registration_report"],
        )["registration_report"]
        yield store_url, scenario, first, again
        # MLflow back where it was, before its database is dropped (later modules use it)
        registry.configure(previous_tracking_uri)


def _applicants(n: int) -> list[dict]:
    frame = pd.read_csv(CREDIT_CSV).drop(columns=["Status"]).head(n)
    frame = frame.astype(object).where(frame.notna(), None)
    return [{"application_id": f"pg-{i}", **row} for i, row in enumerate(frame.to_dict("records"))]


def test_the_gate_promotes_the_first_model_and_refuses_the_same_one_again(postgres_loop):
    from riskloop import registry

    _, scenario, first, again = postgres_loop
    bounds = scenario.fairness
    # no champion yet: the gate promotes a model whose fairness is within the bounds
    assert first["candidate_dp_ratio"] >= bounds.demographic_parity_ratio_min, first
    assert first["candidate_eo_difference"] <= bounds.equalized_odds_difference_max, first
    assert (first["version"], first["promoted"], first["gate_passed"]) == ("1", True, True)
    assert (first["reason"], first["failed_gates"]) == ("no comparable champion", [])
    assert first["previous_champion_version"] is None

    # version 2 is version 1's scorer: on the same validation rows its profit equals the
    # champion's, which is not an improvement, so it is registered but not promoted
    assert (again["version"], again["promoted"], again["gate_passed"]) == ("2", False, False)
    assert again["previous_champion_version"] == "1" and again["champion_version"] == "1"
    profit = first["candidate_validation_profit_per_1000"]
    assert again["candidate_validation_profit_per_1000"] == pytest.approx(profit, rel=1e-12)
    assert again["previous_champion_validation_profit_per_1000"] == pytest.approx(profit, rel=1e-12)
    assert len(again["failed_gates"]) == 1
    assert again["failed_gates"][0].startswith(f"profit: {profit:,.1f} per 1,000 does not beat")
    assert registry.version_for_alias(scenario.model_name).version == "1"


def test_registration_scoring_feedback_and_monitor_on_postgresql(postgres_loop, tmp_path):
    from riskloop import registry
    from riskloop.monitoring.log_drift import feature_drift
    from riskloop.serving.app import create_app
    from riskloop.serving.loading import load_registered_model
    from riskloop.serving.model_holder import ModelHolder
    from riskloop.store import PredictionStore
    from riskloop.store.predictions import labels, predictions
    from tests.credentials import authorized

    store_url, scenario, _, _ = postgres_loop
    model_name = scenario.model_name

    # registration: MLflow's tables and the champion alias live in PostgreSQL
    champion = registry.version_for_alias(model_name)
    assert champion is not None and champion.version == "1"
    assert registry.SHA_TAG in champion.tags
    mlflow_db = create_engine(os.environ["MLFLOW_TRACKING_URI"])
    with mlflow_db.connect() as connection:
        aliases = connection.execute(
            text("SELECT name, alias, version FROM registered_model_aliases")
        ).all()
    mlflow_db.dispose()
    assert mlflow_db.dialect.name == "postgresql"
    assert [tuple(a) for a in aliases] == [(model_name, "champion", 1)]  # v2 was refused

    # scoring: the API loads the champion from that registry and logs to PostgreSQL
    store = PredictionStore(store_url)
    assert store.engine.dialect.name == "postgresql"
    applicants = _applicants(60)
    app = create_app(ModelHolder(), store, load_model=lambda: load_registered_model(model_name))
    with TestClient(app, headers=authorized(store)) as client:
        assert client.get("/ready").json()["model_version"] == "1"
        response = client.post("/v1/score/batch", json={"applications": applicants})
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        served = load_registered_model(model_name).scorer
        expected = served.score_records(
            [{k: v for k, v in a.items() if k != "application_id"} for a in applicants]
        )
        np.testing.assert_allclose(
            [r["probability_of_default"] for r in results], expected.probability, rtol=1e-12
        )

        # feedback: 20 observed outcomes; a second outcome and an unknown application refused
        outcomes = {f"pg-{i}": i % 3 == 0 for i in range(20)}
        for application_id, bad in outcomes.items():
            answer = client.post(
                "/v1/feedback", json={"application_id": application_id, "outcome": int(bad)}
            )
            assert answer.status_code == 200, answer.text
        assert (
            client.post("/v1/feedback", json={"application_id": "pg-0", "outcome": 0}).json()[
                "error"
            ]["code"]
            == "duplicate_outcome"
        )
        assert (
            client.post("/v1/feedback", json={"application_id": "nope", "outcome": 1}).status_code
            == 404
        )

    store = PredictionStore(store_url)  # the app disposed its store at shutdown
    with store.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(predictions)).scalar() == 60
        stored = dict(connection.execute(select(labels.c.application_id, labels.c.outcome)).all())
    assert stored == {k: int(v) for k, v in outcomes.items()}
    joined = store.labelled_predictions()
    assert len(joined) == 20 and joined["outcome"].sum() == sum(outcomes.values())
    by_id = {r["application_id"]: r["probability_of_default"] for r in results}
    np.testing.assert_allclose(
        joined["probability"], [by_id[a] for a in joined["application_id"]], rtol=1e-12
    )

    # monitor: the drift table read back from PostgreSQL equals the one from SQLite for the
    # same logged applications (the inputs survive the JSON column unchanged)
    drift = feature_drift(served, store)
    sqlite_store = PredictionStore(f"sqlite:///{tmp_path / 'reference.db'}")
    with store.engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(select(predictions)).mappings()]
    sqlite_store.append(
        [
            _as_record(row)
            for row in sorted(rows, key=lambda r: r["id"])  # same order: newest-first reads
        ]
    )
    reference = feature_drift(served, sqlite_store)
    pd.testing.assert_frame_equal(drift, reference)
    assert len(drift) == len(served.input_schema.features) and (drift["n"] == 60).all()
    store.dispose()
    sqlite_store.dispose()


def _as_record(row: dict):
    from riskloop.store import PredictionRecord

    fields = PredictionRecord.__dataclass_fields__
    return PredictionRecord(**{k: v for k, v in row.items() if k in fields})
