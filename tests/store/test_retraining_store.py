"""Feedback batches on SQLite and PostgreSQL: outcomes go in all together or not at all, refused
batches are kept as received, and id look-ups work past the chunk of 500 parameters."""

from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError

from riskloop.store import PredictionStore, RetrainingStore
from tests.store.records import logged

T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _logged(store: PredictionStore, ids: list[str]) -> None:
    store.append([logged(i) for i in ids])


def test_id_lookups_span_more_than_one_chunk(store: PredictionStore):
    logged = [f"a{i}" for i in range(1203)]
    _logged(store, logged)
    retraining = RetrainingStore(store.engine)
    asked = logged[::2] + ["unknown-1", "unknown-2"] + logged[:10]  # repeats are asked once
    assert retraining.scored_ids(asked) == set(logged[::2]) | set(logged[:10])
    assert retraining.labelled_ids(logged) == set()
    stored = retraining.add_labels(
        [{"application_id": i, "outcome": 1} for i in logged[600:1150]], received_at=T0
    )
    assert stored == 550
    assert retraining.labelled_ids(logged) == set(logged[600:1150])


def test_a_batch_with_one_bad_row_stores_nothing(store: PredictionStore):
    _logged(store, ["a", "b", "c"])
    retraining = RetrainingStore(store.engine)
    store.add_label("c", 0, received_at=T0)
    for bad in ({"application_id": "unknown", "outcome": 1}, {"application_id": "c", "outcome": 1}):
        with pytest.raises(IntegrityError):
            retraining.add_labels([{"application_id": "a", "outcome": 1}, bad], received_at=T0)
    assert retraining.labelled_ids(["a", "b", "c"]) == {"c"}
    assert retraining.add_labels([], received_at=T0) == 0


def test_a_quarantined_batch_keeps_its_rows_and_reasons(store: PredictionStore):
    retraining = RetrainingStore(store.engine)
    rows = [{"application_id": "x", "outcome": "maybe", "note": None}]
    first = retraining.quarantine("feedback/2026-05.csv", ["outcome: row 0: 'maybe'"], rows, T0)
    second = retraining.quarantine("api", ["application_id: unknown"], [{"x": 1.5}])
    assert second > first
    kept = retraining.quarantined()
    assert [(q["source"], q["n_rows"]) for q in kept] == [("feedback/2026-05.csv", 1), ("api", 1)]
    assert kept[0]["rows"] == rows and kept[0]["reason"] == ["outcome: row 0: 'maybe'"]
    assert kept[1]["rows"] == [{"x": 1.5}]
