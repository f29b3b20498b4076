"""Several writers on one database at once, each with its own engine — the service, the
feedback route, the monitor and a retraining run are separate connections (often separate
processes) — on SQLite (WAL, busy timeout) and PostgreSQL: nothing is lost, and a race for the
same application or outcome has exactly one winner."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from riskloop.store import DuplicateLabelError, PredictionRecord, PredictionStore
from tests.store.records import T0, logged

WRITERS = 6


def _record(application_id: str, writer: int) -> PredictionRecord:
    return logged(application_id, model_version=str(writer), inputs={"writer": writer})


def _all_at_once(database_url: str, work: Callable[[PredictionStore, int], object]) -> list:
    """Run ``work(store, i)`` in WRITERS threads, each with its own store (engine), released
    together; returns what each returned or raised."""
    stores = [PredictionStore(database_url) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    results: list = [None] * WRITERS

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(stores[i], i)
        except Exception as error:  # the race's losers: returned, checked by the test
            results[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for opened in stores:
        opened.dispose()
    return results


def test_interleaved_writers_lose_nothing(database_url: str, store: PredictionStore):
    def write(writer_store: PredictionStore, i: int) -> int:
        for batch in range(25):
            writer_store.append([_record(f"w{i}-{batch}-{k}", i) for k in range(4)])
            writer_store.add_label(f"w{i}-{batch}-0", batch % 2, received_at=T0)
        return writer_store.count()

    results = _all_at_once(database_url, write)
    assert all(isinstance(r, int) for r in results), results
    assert store.count() == WRITERS * 25 * 4
    assert len(store.labelled_predictions()) == WRITERS * 25
    log = store.log_with_outcomes()
    assert log["model_version"].value_counts().to_dict() == {str(i): 100 for i in range(WRITERS)}
    assert all(
        row["writer"] == int(v) for row, v in zip(log["inputs"], log["model_version"], strict=True)
    )


def test_a_race_for_one_application_id_has_one_winner(database_url: str, store: PredictionStore):
    results = _all_at_once(
        database_url, lambda s, i: s.append([_record(f"own-{i}", i), _record("contested", i)])
    )
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert all(isinstance(r, IntegrityError) for i, r in enumerate(results) if i != winners[0])
    # the losers' batches were refused whole: only the winner's own row is there
    assert store.application_ids() == {"contested", f"own-{winners[0]}"}
    assert store.get("contested")["inputs"] == {"writer": winners[0]}


def test_a_race_for_one_outcome_has_one_winner(database_url: str, store: PredictionStore):
    store.append([_record("scored", 0)])
    results = _all_at_once(database_url, lambda s, i: s.add_label("scored", i % 2, received_at=T0))
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1, results
    assert all(isinstance(r, DuplicateLabelError) for i, r in enumerate(results) if i != winners[0])
    assert store.get_label("scored")["outcome"] == winners[0] % 2
