"""Shadow predictions on SQLite and PostgreSQL: one row per application and shadow version, only
for a logged application, joined with the champion's answer and the outcome."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from riskloop.store import PredictionStore, ShadowStore
from tests.store.records import logged

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def _logged(store: PredictionStore, n: int) -> None:
    store.append(
        [
            logged(
                f"a{i}",
                received_at=T0 + timedelta(minutes=i),
                inputs={"Age": 20 + i},
                probability=0.1 * i,
            )
            for i in range(n)
        ]
    )


def _shadow(application_id: str, version: str, probability: float) -> dict:
    return {
        "application_id": application_id,
        "model_name": "credit-risk",
        "model_version": version,
        "probability": probability,
        "decision": "decline" if probability >= 0.5 else "approve",
        "scored_at": T0,
    }


def test_shadow_rows_join_the_champions_answer_and_the_outcome(store: PredictionStore):
    _logged(store, 4)
    shadow = ShadowStore(store.engine)
    assert shadow.append([_shadow(f"a{i}", "2", 0.2 + 0.2 * i) for i in range(4)]) == 4
    assert shadow.append([_shadow("a0", "3", 0.9)]) == 1  # another version: its own row
    for i in (0, 2, 3):
        store.add_label(f"a{i}", int(i > 1), received_at=T0 + timedelta(days=30))

    assert [r["application_id"] for r in shadow.rows("2")] == ["a0", "a1", "a2", "a3"]
    assert len(shadow.rows()) == 5

    joined = shadow.labelled("credit-risk", "2")
    assert list(joined["application_id"]) == ["a0", "a2", "a3"]  # a1 has no outcome yet
    assert joined["probability"].tolist() == pytest.approx([0.0, 0.2, 0.3])  # the champion's
    assert joined["shadow_probability"].tolist() == pytest.approx([0.2, 0.6, 0.8])
    assert list(joined["shadow_decision"]) == ["approve", "decline", "decline"]
    assert list(joined["outcome"]) == [0, 1, 1]
    assert joined.loc[1, "inputs"] == {"Age": 22}
    assert shadow.labelled("credit-risk", "3")["application_id"].tolist() == ["a0"]
    assert shadow.labelled("other-model", "2").empty


def test_a_second_score_of_one_version_and_an_unlogged_application_are_refused(
    store: PredictionStore,
):
    _logged(store, 1)
    shadow = ShadowStore(store.engine)
    shadow.append([_shadow("a0", "2", 0.3)])
    with pytest.raises(IntegrityError):
        shadow.append([_shadow("a0", "2", 0.4)])
    with pytest.raises(IntegrityError):  # the champion's row must be committed first
        shadow.append([_shadow("never-logged", "2", 0.4)])
    assert [r["probability"] for r in shadow.rows()] == [0.3]
