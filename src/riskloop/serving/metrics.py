"""Prometheus metrics of the scoring service, and the ASGI middleware that records requests and
enforces the request-body size limit.

Each app gets its own :class:`prometheus_client.CollectorRegistry` (nothing global), so two apps
in one process — tests, a shadow model — never share counters.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.routing import compile_path

# Request latency buckets in seconds: fine below 10 ms, where the service is meant to live.
LATENCY_BUCKETS = (
    0.0005, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
    2.5,
)  # fmt: skip
SCORE_BUCKETS = tuple(round(0.05 * i, 2) for i in range(1, 21))
UNMATCHED = "(unmatched)"


class ServiceMetrics:
    """The service's counters, histograms and gauges, in one registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "riskloop_http_requests_total",
            "HTTP requests by route template, method and status code",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "riskloop_http_request_duration_seconds",
            "Time from the request's first byte to the response's last, by route and status",
            ["route", "method", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.scores = Histogram(
            "riskloop_score_probability",
            "Distribution of the probabilities of default returned",
            ["model_version"],
            buckets=SCORE_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            "riskloop_decisions_total",
            "Decisions returned by outcome",
            ["decision", "model_version"],
            registry=self.registry,
        )
        self.model_info = Gauge(
            "riskloop_model_info",
            "1 for the model version in service (labels name it)",
            ["model_name", "model_version"],
            registry=self.registry,
        )
        self.log_write_failures = Counter(
            "riskloop_prediction_log_write_failures_total",
            "Batches of prediction-log rows that could not be written (requests answered 503)",
            registry=self.registry,
        )
        self.log_rows = Counter(
            "riskloop_prediction_log_rows_total",
            "Prediction-log rows committed",
            registry=self.registry,
        )
        self.log_batches = Counter(
            "riskloop_prediction_log_commits_total",
            "Prediction-log transactions committed (rows / commits = mean group-commit size)",
            registry=self.registry,
        )
        self.reloads = Counter(
            "riskloop_model_reloads_total",
            "Model reload attempts by result",
            ["result"],
            registry=self.registry,
        )
        self.shadow_failures = Counter(
            "riskloop_shadow_failures_total",
            "Shadow scorings (challenger on live traffic) that failed; the client was answered",
            registry=self.registry,
        )
        self.shadow_rows = Counter(
            "riskloop_shadow_rows_total",
            "Shadow predictions written",
            registry=self.registry,
        )
        # reason is one of riskloop.serving.auth.FAILURE_REASONS: never a caller's name or address
        self.auth_failures = Counter(
            "riskloop_auth_failures_total",
            "Requests refused for their credential (401, 403, 429), by reason",
            ["reason"],
            registry=self.registry,
        )

        self.shed = Counter(
            "riskloop_requests_shed_total",
            "Requests refused with 503 because the service was at capacity (admission control)",
            registry=self.registry,
        )

    def set_model(self, name: str, version: str) -> None:
        self.model_info.clear()
        self.model_info.labels(model_name=name, model_version=version).set(1)

    def record_scores(self, version: str, probabilities: Any, decisions: list[str]) -> None:
        histogram = self.scores.labels(model_version=version)
        for probability in probabilities:
            histogram.observe(float(probability))
        for decision in decisions:
            self.decisions.labels(decision=decision, model_version=version).inc()

    def count_log_failure(self, error: Exception) -> None:
        """One batch of prediction-log rows could not be written (its requests answer 503)."""
        self.log_write_failures.inc()

    def record_log_batch(self, rows: int) -> None:
        self.log_rows.inc(rows)
        self.log_batches.inc()

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def _error_body(status: int, code: str, message: str) -> bytes:
    error = {"code": code, "message": message, "fields": [], "fields_omitted": 0}
    return json.dumps({"error": error}).encode()


class ServiceMiddleware:
    """Pure ASGI middleware (no per-request task or body copy): refuses bodies over
    ``max_body_bytes`` with 413 and bodies slower than ``body_timeout_s`` with 408, and records
    every request's count and latency by route.

    A declared ``Content-Length`` over the limit is refused before the body is read; a body
    streamed without one is counted as it arrives and refused as soon as it passes the limit
    (``on_too_large`` builds the exception the app turns into its 413 error). The whole body must
    arrive within ``body_timeout_s`` of the request's headers (``on_body_timeout`` builds the 408
    error), so a client sending a byte now and then cannot hold a request open.

    Every label is bounded whatever clients send: the route is a template of ``route_templates``
    (``/v1/explain/{application_id}``) or :data:`UNMATCHED` (unknown paths, redirects), the
    method one of :data:`METHODS` or ``other``.
    """

    def __init__(
        self,
        app: Any,
        metrics: ServiceMetrics,
        max_body_bytes: int,
        on_too_large: Callable[[str], Exception],
        route_templates: RouteTemplates | None = None,
        body_timeout_s: float | None = None,
        on_body_timeout: Callable[[str], Exception] | None = None,
    ):
        self.app = app
        self.route_templates = route_templates or RouteTemplates(())
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes
        self.on_too_large = on_too_large
        self.body_timeout_s = body_timeout_s
        self.on_body_timeout = on_body_timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_watch(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            declared = _content_length(scope)
            if declared is not None and declared > self.max_body_bytes:
                status = 413
                await _send_error(send, 413, "body_too_large", self._too_large_message(declared))
                return
            await self.app(scope, self._guarded(receive), send_and_watch)
        finally:
            method = scope["method"] if scope["method"] in METHODS else "other"
            route = self.route_templates.label(scope)
            labels = {"route": route, "method": method, "status": str(status)}
            self.metrics.requests.labels(**labels).inc()
            self.metrics.latency.labels(**labels).observe(time.perf_counter() - started)

    def _too_large_message(self, size: int | str) -> str:
        return (
            f"the request body is {size} bytes; the limit is {self.max_body_bytes} bytes"
            " (RISKLOOP_MAX_BODY_BYTES); send fewer applications per request"
        )

    def _guarded(self, receive: Any) -> Any:
        """``receive`` that counts the body against the size limit and, until the body is
        complete, against the time limit."""
        received = 0
        complete = False
        loop = asyncio.get_running_loop()
        deadline = (
            loop.time() + self.body_timeout_s
            if self.body_timeout_s and self.on_body_timeout
            else None
        )

        def too_slow() -> Exception:
            assert self.on_body_timeout is not None
            return self.on_body_timeout(
                f"the request body did not arrive within {self.body_timeout_s:g} s"
                f" ({received} bytes came; RISKLOOP_BODY_TIMEOUT_S)"
            )

        async def guarded_receive() -> dict:
            nonlocal received, complete
            if deadline is None or complete:
                message = await receive()
            else:
                # checked before the wait too: a receive that finds a byte waiting returns
                # without suspending, so a trickle would never let the timeout fire
                if loop.time() >= deadline:
                    raise too_slow()
                try:
                    async with asyncio.timeout_at(deadline):
                        message = await receive()
                except TimeoutError:
                    raise too_slow() from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > self.max_body_bytes:
                    raise self.on_too_large(self._too_large_message(f"more than {received - 1}"))
            return message

        return guarded_receive


# The methods metrics name; any other is counted as ``other`` (one series, not one per verb).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RouteTemplates:
    """The app's route templates, to name a request no route served (refused before routing:
    413, 503; or by the method: 405) by the template its path matches.

    Parameters
    ----------
    templates : iterable of str
        Route paths as declared (``/v1/explain/{application_id}``).
    """

    def __init__(self, templates: Iterable[str]):
        self.patterns = [(template, compile_path(template)[0]) for template in templates]

    @classmethod
    def of_routers(cls, routers: Iterable[APIRouter]) -> RouteTemplates:
        return cls(getattr(route, "path", "") for router in routers for route in router.routes)

    def label(self, scope: dict) -> str:
        """The template of the route that served ``scope``, else the first template its path
        matches, else :data:`UNMATCHED` (unknown paths, redirects): never the raw path."""
        route = scope.get("route")
        if route is not None:
            return str(route.path)
        path = scope["path"]
        for template, pattern in self.patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


def _content_length(scope: dict) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _send_error(send: Any, status: int, code: str, message: str) -> None:
    body = _error_body(status, code, message)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
