"""Group commit for the prediction log: acknowledged ⇒ durable, without one transaction per request.

A request scores its applications, hands the log rows to :meth:`GroupCommitWriter.submit` and
*waits* for the returned future before it answers. One writer thread takes everything that is
queued (up to ``max_batch_rows`` rows), writes it in **one** transaction and then resolves the
futures of the requests in that batch. So

* a response with status 200 is only sent after its rows are committed: if the process is then
  killed (``kill -9``), the rows are in the database (see the store's durability notes);
* under load, many requests share one commit (the queue fills while the previous batch commits),
  which is what keeps the log off the latency budget; under light load a batch is one request
  and nothing waits for a timer (``linger_ms`` can trade latency for bigger batches);
* when a batch is refused because one request's application_id is already logged, the batch is
  retried one request at a time, so only the duplicate fails (409) and the others commit;
* any other write failure fails the requests of that batch (the service answers 503 — it does
  not acknowledge what it could not store), calls ``on_failure`` (a /metrics counter) and the
  writer carries on with the next batch;
* :meth:`close` stops taking rows, writes everything already queued and joins the thread (the
  app calls it at shutdown).
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, InvalidStateError
from typing import Any

from sqlalchemy.exc import IntegrityError

from riskloop.store import PredictionRecord, PredictionStore

log = logging.getLogger(__name__)

_STOP = object()


class LogClosedError(RuntimeError):
    """Rows were submitted after the writer was closed (the service is shutting down)."""


class GroupCommitWriter:
    """Batches prediction-log writes from many requests into few transactions.

    Parameters
    ----------
    store : PredictionStore
        Where rows are written.
    max_batch_rows : int
        Most rows written in one transaction (a single request's rows are never split).
    linger_ms : float
        How long the writer waits for more rows after the first one of a batch arrives; 0 (the
        default) writes at once whatever is queued.
    on_failure : callable, optional
        Called with the exception of every failed batch write (not for duplicates).
    on_batch : callable, optional
        Called with the number of rows of every committed batch.
    """

    def __init__(
        self,
        store: PredictionStore,
        max_batch_rows: int = 512,
        linger_ms: float = 0.0,
        on_failure: Callable[[Exception], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.store = store
        self.max_batch_rows = max_batch_rows
        self.linger_ms = linger_ms
        self.on_failure = on_failure
        self.on_batch = on_batch
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = False

    def submit(self, records: Sequence[PredictionRecord]) -> Future:
        """Queue one request's rows; the future resolves (to None) once they are committed, or
        raises the write's exception (``IntegrityError`` for a duplicate application_id)."""
        future: Future = Future()
        with self._lock:
            if self._closed:
                raise LogClosedError("the prediction log is closed: the service is stopping")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="prediction-log-writer", daemon=True
                )
                self._thread.start()
            self._queue.put((list(records), future))
        return future

    async def write(self, records: Sequence[PredictionRecord]) -> None:
        """Return once ``records`` are committed (raises what the write raised)."""
        await asyncio.wrap_future(self.submit(records))

    def close(self, timeout: float = 30.0) -> None:
        """Write everything queued, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(_STOP)
        if thread is not None:
            thread.join(timeout)

    # ---- the writer thread
    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            rows = len(first[0])
            deadline = time.monotonic() + self.linger_ms / 1000.0
            while rows < self.max_batch_rows:
                try:
                    remaining = deadline - time.monotonic()
                    item = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else (self._queue.get_nowait())
                    )
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True  # write this batch, then leave
                    break
                batch.append(item)
                rows += len(item[0])
            self._write(batch)
        # anything still queued behind the stop marker cannot be (submit refuses after close)

    def _write(self, batch: list[tuple[list[PredictionRecord], Future]]) -> None:
        _write_batch(self.store, batch, self.on_batch, self.on_failure)


def _resolve(future: Any, error: Exception | None = None) -> None:
    """Settle a request's future (a thread or an asyncio one); one whose client went away
    (cancelled) is left as it is — its rows are written all the same."""
    if future.done():
        return
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except (InvalidStateError, asyncio.InvalidStateError):  # cancelled meanwhile
        pass


class EventLoopGroupCommitter:
    """The same group commit without a thread: for a local SQLite file, where a commit costs
    tens of microseconds, handing rows to a thread and back costs more than the commit itself
    (two thread wake-ups per request, each waiting for a core when the machine is busy).

    Requests append their rows and await a future; the first request of an event-loop turn
    schedules one flush at the end of that turn (``call_soon``), so every request that reached
    ``write`` in the same turn shares one transaction. The flush runs in the event loop and
    blocks it for the commit; use :class:`GroupCommitWriter` for a database across a network.
    Same parameters and failure handling as :class:`GroupCommitWriter`.
    """

    def __init__(
        self,
        store: PredictionStore,
        max_batch_rows: int = 512,
        on_failure: Callable[[Exception], None] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.store = store
        self.max_batch_rows = max_batch_rows
        self.on_failure = on_failure
        self.on_batch = on_batch
        self._pending: list[tuple[list[PredictionRecord], asyncio.Future]] = []
        self._scheduled = False
        self._closed = False

    async def write(self, records: Sequence[PredictionRecord]) -> None:
        if self._closed:
            raise LogClosedError("the prediction log is closed: the service is stopping")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((list(records), future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        await future

    def _flush(self) -> None:
        self._scheduled = False
        while self._pending:
            batch: list[tuple[list[PredictionRecord], asyncio.Future]] = []
            rows = 0
            while self._pending and (not batch or rows < self.max_batch_rows):
                item = self._pending.pop(0)
                batch.append(item)
                rows += len(item[0])
            _write_batch(self.store, batch, self.on_batch, self.on_failure)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is pending; refuse further rows."""
        self._closed = True
        self._flush()


def _write_batch(
    store: PredictionStore,
    batch: list[tuple[list[PredictionRecord], Any]],
    on_batch: Callable[[int], None] | None,
    on_failure: Callable[[Exception], None] | None,
) -> None:
    """One transaction for the batch; on a duplicate, one per request (see the module doc)."""
    try:
        store.append([row for rows, _ in batch for row in rows])
    except IntegrityError:
        for rows, future in batch:
            try:
                store.append(rows)
            except IntegrityError as error:
                _resolve(future, error)
            except Exception as error:
                _failed([(rows, future)], error, on_failure)
            else:
                if on_batch is not None:
                    on_batch(len(rows))
                _resolve(future)
        return
    except Exception as error:  # the database is down, the disk is full, …
        _failed(batch, error, on_failure)
        return
    if on_batch is not None:
        on_batch(sum(len(rows) for rows, _ in batch))
    for _, future in batch:
        _resolve(future)


def _failed(batch: list, error: Exception, on_failure: Callable[[Exception], None] | None) -> None:
    log.error("prediction log write of %d request(s) failed: %s", len(batch), error)
    if on_failure is not None:
        on_failure(error)
    for _, future in batch:
        _resolve(future, error)
