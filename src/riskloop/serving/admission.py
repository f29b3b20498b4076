"""Admission control: a bounded number of requests in progress, a short bounded wait for the
rest, and a quick 503 beyond that.

Without it an overloaded service accepts everything and answers everything late: at 1.5 × its
capacity the median wait grew to 22 s, so every client timed out while the server kept working
for nobody. With it the requests admitted are answered at the speed of an unloaded service, and
the excess learns within milliseconds that it should come back (``503`` with ``Retry-After``),
which a client, a load balancer or a retrying queue can act on.

:class:`AdmissionLimiter` is the policy (in-flight slots, a first-come first-served queue with a
deadline); :class:`AdmissionMiddleware` applies it to every request except the service's own
probes (``/health``, ``/ready``, ``/metrics``): an orchestrator must see an overloaded service as
alive and a scraper must see the overload.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections import deque
from collections.abc import Iterable
from contextlib import suppress
from typing import Any

# The key of the request's state (``scope["state"]``) where the server notes when it read the
# request (event-loop time); the wait since counts against the limiter's max_wait_s.
ARRIVED_AT = "riskloop.arrived_at"
# Paths never refused for load: liveness, readiness and the metrics scrape.
PROBE_PATHS = frozenset({"/health", "/ready", "/metrics"})


class AdmissionLimiter:
    """At most ``max_in_flight`` requests at once; up to ``max_waiting`` more wait, first come
    first served, at most ``max_wait_s`` for a slot; any other is refused at once.

    Used from one event loop (no locks: nothing here awaits between reading and changing the
    counts).

    Parameters
    ----------
    max_in_flight : int
        Requests processed at once.
    max_waiting : int
        Requests that may wait for a slot; 0: refuse as soon as every slot is taken.
    max_wait_s : float
        The longest a request waits for a slot before it is refused.
    """

    def __init__(self, max_in_flight: int, max_waiting: int, max_wait_s: float):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        if max_waiting < 0 or max_wait_s < 0:
            raise ValueError(
                f"max_waiting and max_wait_s must be >= 0, got {max_waiting} and {max_wait_s}"
            )
        self.max_in_flight = max_in_flight
        self.max_waiting = max_waiting
        self.max_wait_s = max_wait_s
        self.in_flight = 0
        self._waiting: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """Requests waiting for a slot now."""
        return len(self._waiting)

    def refuses_at_once(self) -> bool:
        """Whether a request arriving now would be refused without waiting: every slot is
        taken and there is no room (or no time) to wait for one. The server asks this before it
        builds the request's ASGI call, so the excess costs little more than parsing its head
        (:class:`riskloop.serving.server.DeadlineH11Protocol`)."""
        return self.in_flight >= self.max_in_flight and (
            len(self._waiting) >= self.max_waiting or self.max_wait_s <= 0
        )

    async def acquire(self, waited_s: float = 0.0) -> bool:
        """Take a slot (True), waiting for one if the queue has room; False when refused.
        A True must be paired with one :meth:`release`.

        ``waited_s`` is how long the request has already waited before it got here (the server
        read it, then was busy): it counts against ``max_wait_s``. A free slot is taken whatever
        the wait (an idle service never refuses), but a request that has used up its wait
        does not queue: the service is behind, and queueing the stale would make every request
        after it late too."""
        if self.in_flight < self.max_in_flight and not self._waiting:
            self.in_flight += 1
            return True
        if waited_s >= self.max_wait_s or len(self._waiting) >= self.max_waiting:
            return False
        granted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(granted)
        try:
            async with asyncio.timeout(self.max_wait_s - waited_s):
                await granted
        except TimeoutError:
            return self._handed_over(granted)
        except asyncio.CancelledError:
            if self._handed_over(granted):
                self.release()
            raise
        return True

    def _handed_over(self, granted: asyncio.Future[None]) -> bool:
        """After a wait that ended early: True when the slot was handed over all the same (just
        as the wait ended), else the request leaves the queue."""
        if granted.done() and not granted.cancelled():
            return True
        with suppress(ValueError):  # release() may have passed over it already
            self._waiting.remove(granted)
        return False

    def release(self) -> None:
        """Give a slot back: to the longest waiting request, else to the pool."""
        while self._waiting:
            granted = self._waiting.popleft()
            if not granted.done():
                granted.set_result(None)  # the slot passes on; in_flight is unchanged
                return
        self.in_flight -= 1


def overload_refusal(limiter: AdmissionLimiter) -> tuple[str, bytes]:
    """The ``Retry-After`` value (whole seconds, at least 1) and the JSON error body of a
    request refused by ``limiter``."""
    retry_after = str(max(1, math.ceil(limiter.max_wait_s)))
    body = json.dumps(
        {
            "error": {
                "code": "overloaded",
                "message": "the service is at capacity"
                f" ({limiter.max_in_flight} requests in progress,"
                f" {limiter.max_waiting} waiting): retry after {retry_after} s",
                "fields": [],
                "fields_omitted": 0,
            }
        }
    ).encode()
    return retry_after, body


class AdmissionMiddleware:
    """Pure ASGI middleware: every HTTP request but the probes takes a slot of ``limiter`` for
    its whole life (body, scoring, logging, response) or is answered 503 with ``Retry-After``.

    Parameters
    ----------
    app : ASGI app
        The app behind.
    limiter : AdmissionLimiter
        The policy.
    on_shed : callable, optional
        Called once per refused request (the metrics count it).
    exempt_paths : iterable of str
        Paths never refused (default :data:`PROBE_PATHS`).
    """

    def __init__(
        self,
        app: Any,
        limiter: AdmissionLimiter,
        on_shed: Any = None,
        exempt_paths: Iterable[str] = PROBE_PATHS,
    ):
        self.app = app
        self.limiter = limiter
        self.on_shed = on_shed
        self.exempt_paths = frozenset(exempt_paths)
        self.retry_after, self._refusal = overload_refusal(limiter)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt_paths:
            await self.app(scope, receive, send)
            return
        arrived = scope.get("state", {}).get(ARRIVED_AT)
        waited_s = asyncio.get_running_loop().time() - arrived if arrived is not None else 0.0
        if not await self.limiter.acquire(waited_s):
            if self.on_shed is not None:
                self.on_shed()
            await self._refuse(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.limiter.release()

    async def _refuse(self, send: Any) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(self._refusal)).encode()),
                    (b"retry-after", self.retry_after.encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": self._refusal})
