"""Group commit of the prediction log on SQLite and PostgreSQL, with both writers the service
uses (a writer thread for a database across a network, the event loop for a local file):
acknowledged means committed, concurrent requests share transactions, a duplicate fails alone,
closing writes what is queued and refuses the rest."""

from __future__ import annotations

import asyncio
import threading

import pytest
from sqlalchemy.exc import IntegrityError

from riskloop.serving.prediction_log import (
    EventLoopGroupCommitter,
    GroupCommitWriter,
    LogClosedError,
)
from riskloop.store import PredictionRecord, PredictionStore
from tests.store.records import logged


def _record(application_id: str) -> PredictionRecord:
    return logged(application_id)


def test_concurrent_requests_share_commits_and_are_durable_when_acknowledged(
    store: PredictionStore,
):
    commits: list[int] = []
    writer = GroupCommitWriter(store, linger_ms=20, on_batch=commits.append)
    barrier = threading.Barrier(40)
    acknowledged: dict[int, int] = {}

    def request(i: int) -> None:
        barrier.wait()
        future = writer.submit([_record(f"r{i}-a"), _record(f"r{i}-b")])
        future.result(timeout=30)
        # acknowledged ⇒ committed: another connection already sees the rows
        acknowledged[i] = int(store.get(f"r{i}-b") is not None)

    threads = [threading.Thread(target=request, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    writer.close()
    assert acknowledged == dict.fromkeys(range(40), 1)
    assert store.count() == 80
    assert sum(commits) == 80 and len(commits) < 40  # fewer transactions than requests
    assert all(rows % 2 == 0 for rows in commits)  # a request's rows are never split


def test_a_duplicate_fails_alone_and_its_batch_mates_commit(store: PredictionStore):
    store.append([_record("taken")])
    failures: list[Exception] = []
    writer = GroupCommitWriter(store, linger_ms=300, on_failure=failures.append)
    first, duplicate, last = (writer.submit([_record(n)]) for n in ("a", "taken", "b"))
    assert first.result(timeout=30) is None and last.result(timeout=30) is None
    with pytest.raises(IntegrityError):
        duplicate.result(timeout=30)
    writer.close()
    assert store.application_ids() == {"taken", "a", "b"}
    assert failures == []  # a duplicate is the client's error, not a failed write


def test_close_writes_everything_queued_then_refuses(store: PredictionStore):
    writer = GroupCommitWriter(store, max_batch_rows=16, linger_ms=50)
    futures = [writer.submit([_record(f"q{i}")]) for i in range(100)]
    writer.close()
    assert all(f.done() and f.exception() is None for f in futures)
    assert store.count() == 100
    with pytest.raises(LogClosedError):
        writer.submit([_record("late")])


def test_a_write_that_fails_fails_its_requests_and_the_writer_carries_on(
    store: PredictionStore,
):
    failures: list[Exception] = []
    writer = GroupCommitWriter(store, on_failure=failures.append)
    broken = _record("broken")
    object.__setattr__(broken, "inputs", {"not JSON": object()})  # the insert cannot encode it
    with pytest.raises(Exception) as refused:
        writer.submit([broken]).result(timeout=30)
    assert writer.submit([_record("next")]).result(timeout=30) is None
    writer.close()
    assert failures and failures[0] is refused.value
    assert store.application_ids() == {"next"}


def test_the_event_loop_committer_shares_one_transaction_per_turn(store: PredictionStore):
    commits: list[int] = []
    committer = EventLoopGroupCommitter(store, max_batch_rows=8, on_batch=commits.append)
    store.append([_record("taken")])

    async def requests() -> list:
        return await asyncio.gather(
            *(committer.write([_record(f"e{i}")]) for i in range(20)),
            committer.write([_record("taken")]),
            return_exceptions=True,
        )

    outcomes = asyncio.run(requests())
    assert outcomes[:20] == [None] * 20 and isinstance(outcomes[20], IntegrityError)
    assert store.count() == 21
    # 21 requests reached write() in one turn: batches of at most 8 rows; the batch holding the
    # duplicate was retried one request at a time
    assert sum(commits) == 20 and len(commits) < 20
    committer.close()
    with pytest.raises(LogClosedError):
        asyncio.run(committer.write([_record("late")]))
