"""The prediction log on SQLite and, when RISKLOOP_TEST_DATABASE_URL is set, on PostgreSQL."""

import os
import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from riskloop.store import PredictionRecord, PredictionStore

POSTGRES_URL = os.environ.get("RISKLOOP_TEST_DATABASE_URL")


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param(
            "postgres",
            marks=[
                pytest.mark.postgres,
                pytest.mark.skipif(not POSTGRES_URL, reason="RISKLOOP_TEST_DATABASE_URL not set"),
            ],
        ),
    ]
)
def store(request, tmp_path):
    if request.param == "sqlite":
        yield PredictionStore(f"sqlite:///{tmp_path / 'log.db'}")
        return
    # a schema of its own per test, so runs never see each other's rows
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})
    yield PredictionStore(POSTGRES_URL, engine=engine)
    engine.dispose()
    with admin.begin() as connection:
        connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
    admin.dispose()


def _record(application_id: str, **inputs) -> PredictionRecord:
    return PredictionRecord(
        application_id=application_id,
        received_at=datetime(2026, 11, 21, 12, 0, tzinfo=UTC),
        model_name="credit-risk",
        model_version="3",
        inputs={"Age": 30, "Home": None, **inputs},
        probability=0.25,
        decision="approve",
        threshold=0.5,
        latency_ms=0.4,
    )


def test_append_get_count_and_read_inputs(store):
    store.append([_record("a"), _record("b", Age=41)])
    assert store.count() == 2
    row = store.get("b")
    assert row["inputs"] == {"Age": 41, "Home": None} and row["model_version"] == "3"
    assert row["received_at"].replace(tzinfo=UTC) == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    frame = store.recent_inputs(limit=1)
    assert frame.to_dict("records") == [{"Age": 41, "Home": None}]
    assert store.get("missing") is None


def test_a_batch_with_a_duplicate_id_is_refused_whole_and_loses_nothing(store):
    store.append([_record("a")])
    with pytest.raises(IntegrityError):
        store.append([_record("b"), _record("a")])
    assert store.count() == 1 and store.get("b") is None
