"""Admission control: the limiter's slots, queue and deadline, and the middleware that sheds the
excess with 503 + Retry-After while the probes always answer."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from riskloop.serving.admission import AdmissionLimiter, AdmissionMiddleware


def run(coroutine):
    return asyncio.run(coroutine)


def test_slots_are_given_at_once_until_full_then_refused_without_a_queue():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=2, max_waiting=0, max_wait_s=1.0)
        started = time.perf_counter()
        results = [await limiter.acquire() for _ in range(3)]
        return results, time.perf_counter() - started, limiter.in_flight

    results, elapsed, in_flight = run(scenario())
    assert results == [True, True, False]
    assert elapsed < 0.1  # the refusal did not wait
    assert in_flight == 2


def test_a_waiting_request_gets_the_released_slot_first_come_first_served():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=2, max_wait_s=5.0)
        assert await limiter.acquire()
        order: list[str] = []

        async def wait(name: str) -> None:
            assert await limiter.acquire()
            order.append(name)
            await asyncio.sleep(0.01)
            limiter.release()

        first = asyncio.create_task(wait("first"))
        await asyncio.sleep(0.01)
        second = asyncio.create_task(wait("second"))
        await asyncio.sleep(0.01)
        assert limiter.waiting == 2 and order == []
        limiter.release()
        await asyncio.gather(first, second)
        return order, limiter.in_flight, limiter.waiting

    order, in_flight, waiting = run(scenario())
    assert order == ["first", "second"]
    assert (in_flight, waiting) == (0, 0)


def test_a_request_waits_at_most_max_wait_s_then_is_refused():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=5, max_wait_s=0.05)
        await limiter.acquire()
        started = time.perf_counter()
        admitted = await limiter.acquire()
        return admitted, time.perf_counter() - started, limiter.waiting, limiter.in_flight

    admitted, waited, waiting, in_flight = run(scenario())
    assert admitted is False
    assert 0.04 <= waited < 0.5
    assert (waiting, in_flight) == (0, 1)


def test_time_already_waited_counts_and_a_stale_request_does_not_queue():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=5, max_wait_s=0.1)
        idle = await limiter.acquire(waited_s=0.15)  # a free slot: taken, however late
        stale = await limiter.acquire(waited_s=0.15)  # full and behind: refused at once
        started = time.perf_counter()
        late = await limiter.acquire(waited_s=0.08)  # 0.02 s of its budget left to wait
        return idle, stale, late, time.perf_counter() - started

    idle, stale, late, waited = run(scenario())
    assert (idle, stale, late) == (True, False, False)
    assert waited < 0.08  # not the full max_wait_s


def test_a_full_queue_refuses_at_once():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=1, max_wait_s=5.0)
        await limiter.acquire()
        queued = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.01)
        started = time.perf_counter()
        refused = await limiter.acquire()
        elapsed = time.perf_counter() - started
        limiter.release()
        return refused, elapsed, await queued

    refused, elapsed, queued = run(scenario())
    assert refused is False and elapsed < 0.1
    assert queued is True


def test_refuses_at_once_says_whether_acquire_would_refuse_without_waiting():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=1, max_wait_s=5.0)
        answers = [limiter.refuses_at_once()]  # a free slot
        await limiter.acquire()
        answers.append(limiter.refuses_at_once())  # slots taken, room to wait
        queued = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.01)
        answers.append(limiter.refuses_at_once())  # slots taken, the queue full
        answers.append(await limiter.acquire())  # ... and acquire agrees
        limiter.release()
        await queued
        no_wait = AdmissionLimiter(max_in_flight=1, max_waiting=4, max_wait_s=0.0)
        await no_wait.acquire()
        answers.append(no_wait.refuses_at_once())  # slots taken, no time to wait
        return answers

    assert run(scenario()) == [False, False, True, False, True]


def test_a_cancelled_waiter_leaves_the_queue_and_takes_no_slot():
    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=3, max_wait_s=5.0)
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.01)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        limiter.release()
        return limiter.in_flight, limiter.waiting

    assert run(scenario()) == (0, 0)


def test_a_waiter_whose_wait_ends_as_a_slot_is_released_leaves_cleanly():
    """The waiter is cancelled, and before it runs again the slot is released: the release
    passes over it, and the waiter must not trip over its own absence from the queue."""

    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=1, max_waiting=3, max_wait_s=5.0)
        await limiter.acquire()
        waiter = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.01)
        waiter.cancel()
        limiter.release()  # runs before the cancelled waiter resumes
        with pytest.raises(asyncio.CancelledError):
            await waiter
        return limiter.in_flight, limiter.waiting, await limiter.acquire()

    assert run(scenario()) == (0, 0, True)


def test_nonsense_limits_are_refused_with_their_names():
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, got 0"):
        AdmissionLimiter(0, 1, 1.0)
    with pytest.raises(ValueError, match="max_waiting and max_wait_s"):
        AdmissionLimiter(1, -1, 1.0)


async def _slow_app(scope, receive, send):
    await asyncio.sleep(0.2)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def test_the_middleware_sheds_the_excess_with_503_and_retry_after_but_never_the_probes():
    shed: list[int] = []

    async def scenario():
        limiter = AdmissionLimiter(max_in_flight=2, max_waiting=1, max_wait_s=0.02)
        app = AdmissionMiddleware(_slow_app, limiter, on_shed=lambda: shed.append(1))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            started = time.perf_counter()
            scores = [client.post("/v1/score", content=b"{}") for _ in range(6)]
            probes = [client.get(path) for path in ("/health", "/ready", "/metrics")]
            responses = await asyncio.gather(*scores, *probes)
            return responses, time.perf_counter() - started, limiter.in_flight

    responses, elapsed, in_flight = run(scenario())
    scores, probes = responses[:6], responses[6:]
    assert sorted(r.status_code for r in scores) == [200, 200, 503, 503, 503, 503]
    refused = [r for r in scores if r.status_code == 503]
    assert all(r.headers["retry-after"] == "1" for r in refused)
    assert all(r.json()["error"]["code"] == "overloaded" for r in refused)
    assert [r.status_code for r in probes] == [200, 200, 200]
    assert len(shed) == 4 and in_flight == 0
    assert elapsed < 1.0
