"""What judges a challenger: the newest decisions (not the newest outcomes) hold out, and shadow
scores are compared with the champion that logged them (riskloop issue 19, item 5; the
simulator's disjoint-ids test is in test_simulation.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskloop.scorer import APPROVE
from riskloop.store import PredictionRecord, PredictionStore, ShadowStore

T0 = datetime(2026, 1, 1, tzinfo=UTC)
N = 40


def logged(store, credit_frame, credit_scenario, versions):
    """N applications decided in batches of ten sharing one timestamp (as a batch is logged),
    by ``versions[i]``; their outcomes arrive newest decision first."""
    inputs = credit_frame.drop(columns=[credit_scenario.data.target]).head(N)
    inputs = inputs.astype(object).where(inputs.notna(), None)
    store.append(
        [
            PredictionRecord(
                application_id=f"a{i:02d}",
                received_at=T0 + timedelta(hours=i // 10),
                model_name=credit_scenario.model_name,
                model_version=versions[i],
                inputs=record,
                probability=0.2,
                decision=APPROVE,
                threshold=0.5,
            )
            for i, record in enumerate(inputs.to_dict("records"))
        ]
    )
    for i in reversed(range(N)):
        store.add_label(f"a{i:02d}", i % 2, received_at=T0 + timedelta(days=30, minutes=N - i))


def test_labelled_rows_come_in_decision_order_whatever_order_outcomes_arrive_in(
    database_url, credit_frame, credit_scenario
):
    """The policy holds out the tail of this order: the newest decisions."""
    store = PredictionStore(database_url)
    logged(store, credit_frame, credit_scenario, ["1"] * N)
    labelled = store.labelled_predictions()
    assert labelled["application_id"].tolist() == [f"a{i:02d}" for i in range(N)]
    store.dispose()


def test_shadow_scores_are_compared_with_the_champion_that_logged_them(
    database_url, credit_frame, credit_scenario
):
    store = PredictionStore(database_url)
    # version 1 decided the first half; after a promotion version 3 the second half, while
    # the challenger (version 2) kept shadow-scoring
    logged(store, credit_frame, credit_scenario, ["1"] * (N // 2) + ["3"] * (N // 2))
    ShadowStore(store.engine).append(
        [
            {
                "application_id": f"a{i:02d}",
                "model_name": credit_scenario.model_name,
                "model_version": "2",
                "probability": 0.3,
                "decision": APPROVE,
                "scored_at": T0,
            }
            for i in range(N)
        ]
    )
    shadow = ShadowStore(store.engine)
    name = credit_scenario.model_name
    assert len(shadow.labelled(name, "2")) == N
    for champion, first in (("1", 0), ("3", N // 2)):
        rows = shadow.labelled(name, "2", champion_version=champion)
        assert rows["application_id"].tolist() == [
            f"a{i:02d}" for i in range(first, first + N // 2)
        ]
        assert set(rows["model_version"]) == {champion}
    store.dispose()
