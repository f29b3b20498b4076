"""Feedback batches are checked whole: a batch with any bad row is refused whole, kept in
quarantine with reasons naming the rows, and nothing already stored changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from riskloop.retraining.feedback import (
    QUARANTINE_EVENT,
    ingest_feedback,
    read_feedback_file,
)
from riskloop.store import MonitoringStore, PredictionRecord, PredictionStore, RetrainingStore


@pytest.fixture()
def store(database_url):
    """Six scored applications, the last with its outcome, on SQLite and PostgreSQL."""
    store = PredictionStore(database_url)
    store.append(
        [
            PredictionRecord(
                application_id=f"a{i}",
                received_at=datetime(2026, 11, 1, tzinfo=UTC),
                model_name="credit-risk",
                model_version="1",
                inputs={"Age": 30 + i},
                probability=0.1 * i,
                decision="approve",
                threshold=0.5,
            )
            for i in range(6)
        ]
    )
    store.add_label("a5", 1, datetime(2026, 11, 2, tzinfo=UTC))
    yield store
    store.dispose()


def _labels(store) -> dict[str, int]:
    frame = store.labelled_predictions()
    return dict(zip(frame["application_id"], frame["outcome"], strict=True))


def test_a_clean_batch_is_stored_whole(store):
    result = ingest_feedback(
        store,
        [
            {"application_id": "a0", "outcome": 0},
            {"application_id": "a1", "outcome": "1", "observed_at": "2026-11-20T00:00:00+00:00"},
        ],
        "batch.csv",
        checks=None,
    )
    assert result.accepted and result.n_rows == 2
    assert _labels(store) == {"a0": 0, "a1": 1, "a5": 1}
    assert store.get_label("a1")["observed_at"].date().isoformat() == "2026-11-20"
    assert RetrainingStore(store.engine).quarantined() == []


def test_a_corrupt_batch_is_quarantined_whole_with_every_reason(store):
    rows = [
        {"application_id": "a0", "outcome": 0},  # fine on its own
        {"application_id": "a1", "outcome": 2},  # not 0/1
        {"application_id": "nobody", "outcome": 1},  # never scored
        {"application_id": "a2", "outcome": 1},
        {"application_id": "a2", "outcome": 0},  # duplicate in the batch
        {"application_id": "a5", "outcome": 0},  # already labelled 1 by another source
        {"application_id": "a3", "outcome": True},  # a flag, not 0/1
    ]
    before = _labels(store)
    result = ingest_feedback(store, rows, "outcomes-2026-11.json", checks=None)
    assert not result.accepted
    assert _labels(store) == before  # a0 was not stored: never half-used
    text = " | ".join(result.problems)
    assert "outcome: must be 0 or 1 (1 = the risky outcome); rows 2 (2), 7 (True)" in text
    assert "never scored" in text and "row 3 ('nobody')" in text
    assert "more than once" in text and "row 5 ('a2')" in text
    assert "consistency: another source recorded a different outcome" in text
    assert "row 6 ('a5: 0 here, 1 from the API')" in text
    [kept] = RetrainingStore(store.engine).quarantined()
    assert kept["id"] == result.quarantine_id and kept["n_rows"] == 7
    assert kept["rows"] == json.loads(json.dumps(rows)) and kept["reason"] == result.problems
    [event] = MonitoringStore(store.engine).audit_events(QUARANTINE_EVENT)
    assert event["payload"]["quarantine_id"] == result.quarantine_id
    assert event["payload"]["source"] == "outcomes-2026-11.json"


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([], "no rows"),
        ([{"application_id": "a0"}], "required column(s) ['outcome'] missing"),
        ([{"application_id": "a0", "outcome": 1, "score": 3}], "unexpected column(s) ['score']"),
        ([{"application_id": "a0", "outcome": 1, "observed_at": "soon"}], "row 1 ('soon')"),
        ([["a0", 1]], "must be an object"),
    ],
)
def test_schema_problems_are_named(store, rows, message):
    result = ingest_feedback(store, rows, "api", checks=None)
    assert not result.accepted and message in " ".join(result.problems)
    assert _labels(store) == {"a5": 1}


def test_files_are_read_as_received(tmp_path):
    csv = tmp_path / "outcomes.csv"
    csv.write_text("application_id,outcome\na0,1\na1,x\n")
    assert read_feedback_file(csv) == [
        {"application_id": "a0", "outcome": "1"},
        {"application_id": "a1", "outcome": "x"},
    ]
    document = tmp_path / "outcomes.json"
    document.write_text(json.dumps({"outcomes": [{"application_id": "a0", "outcome": 0}]}))
    assert read_feedback_file(document) == [{"application_id": "a0", "outcome": 0}]
