"""The prediction log and the observed outcomes, on SQLite and PostgreSQL (``store`` runs each
test once per backend, on an empty database)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from riskloop.store import (
    DuplicateLabelError,
    PredictionRecord,
    PredictionStore,
    UnknownApplicationError,
)
from tests.store.records import T0, logged


def _record(
    application_id: str, at: datetime = T0, version: str = "3", **inputs: object
) -> PredictionRecord:
    return logged(
        application_id,
        received_at=at,
        model_version=version,
        inputs={"Age": 30, "Home": None, **inputs},
        probability=0.25,
        latency_ms=0.4,
        reasons=[{"feature": "Age", "text": "Young applicant", "contribution": 0.12}],
    )


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (written in UTC), PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def test_append_get_count_and_read_inputs(store: PredictionStore):
    store.append([_record("a"), _record("b", Age=41)])
    assert store.count() == 2
    row = store.get("b")
    assert row["inputs"] == {"Age": 41, "Home": None} and row["model_version"] == "3"
    assert row["reasons"] == [{"feature": "Age", "text": "Young applicant", "contribution": 0.12}]
    assert _utc(row["received_at"]) == T0
    frame = store.recent_inputs(limit=1)
    assert frame.to_dict("records") == [{"Age": 41, "Home": None}]
    assert store.application_ids() == {"a", "b"}
    assert store.get("missing") is None


def test_a_batch_with_a_duplicate_id_is_refused_whole_and_loses_nothing(store: PredictionStore):
    store.append([_record("a")])
    with pytest.raises(IntegrityError):
        store.append([_record("b"), _record("a")])
    assert store.count() == 1 and store.get("b") is None


def test_the_explanation_is_stored_on_its_row(store: PredictionStore):
    store.append([_record("a"), _record("b")])
    breakdown = {"base_value": -1.5, "contributions": {"Age": 0.25, "Home": -0.125}}
    store.set_explanation("b", breakdown)
    assert store.get("b")["explanation"] == breakdown
    assert store.get("a")["explanation"] is None


def test_an_outcome_is_stored_once_and_only_for_a_scored_application(store: PredictionStore):
    store.append([_record("a"), _record("b")])
    store.add_label(
        "a", 1, received_at=T0 + timedelta(days=30), observed_at=T0 + timedelta(days=29)
    )
    label = store.get_label("a")
    assert label["outcome"] == 1 and _utc(label["observed_at"]) == T0 + timedelta(days=29)
    with pytest.raises(DuplicateLabelError):
        store.add_label("a", 0, received_at=T0 + timedelta(days=31))
    with pytest.raises(UnknownApplicationError):
        store.add_label("never-scored", 1, received_at=T0 + timedelta(days=31))
    assert store.get_label("a")["outcome"] == 1  # outcomes are facts: not overwritten
    assert store.get_label("b") is None and store.get_label("never-scored") is None


def test_the_joins_pair_each_prediction_with_its_outcome(store: PredictionStore):
    store.append(
        [_record(f"a{i}", at=T0 + timedelta(minutes=i), version=str(1 + i // 3)) for i in range(6)]
    )
    for i in (1, 4):
        store.add_label(f"a{i}", i % 2, received_at=T0 + timedelta(days=i))

    labelled = store.labelled_predictions().sort_values("application_id")
    assert list(labelled["application_id"]) == ["a1", "a4"]
    assert list(labelled["outcome"]) == [1, 0] and list(labelled["model_version"]) == ["1", "2"]

    log = store.log_with_outcomes()
    assert list(log["application_id"]) == [f"a{i}" for i in range(6)]  # in log order
    assert log["outcome"].isna().tolist() == [True, False, True, True, False, True]
    assert log.loc[4, "label_received_at"] == T0 + timedelta(days=4)
    tail = store.log_with_outcomes(first_id=int(log.loc[3, "id"]))
    assert list(tail["application_id"]) == ["a3", "a4", "a5"]

    times = store.received_times()
    assert list(times["received_at"]) == [T0 + timedelta(minutes=i) for i in range(6)]
    assert _utc(store.first_scored_at("2")) == T0 + timedelta(minutes=3)
    assert store.first_scored_at("9") is None
    assert store.count_labels_received_since(None) == 2
    assert store.count_labels_received_since(T0 + timedelta(days=2)) == 1
