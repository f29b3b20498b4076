"""Admission control at the door, over a real socket: what the limiter would refuse at once is
answered 503 by the server's protocol before the app is called (a refusal then costs little more
than parsing the request's head), and the connection goes on serving."""

from __future__ import annotations

import asyncio
import http.client
import json
import logging
import socket
import threading
import time
from urllib.parse import urlparse

from riskloop.serving.admission import AdmissionLimiter, AdmissionMiddleware

from ._live import serve_in_thread

HOLD_S = 1.5


class RecordingApp:
    """An ASGI app that notes each path it is called for; ``/hold`` keeps its slot HOLD_S."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.paths.append(scope["path"])
        while (await receive()).get("more_body"):
            pass
        if scope["path"] == "/hold":
            await asyncio.sleep(HOLD_S)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def test_what_the_limiter_would_refuse_at_once_is_refused_before_the_app_is_called(caplog):
    limiter = AdmissionLimiter(max_in_flight=1, max_waiting=0, max_wait_s=0.5)
    shed: list[str] = []
    inner = RecordingApp()
    app = AdmissionMiddleware(inner, limiter, on_shed=lambda: shed.append("app"))
    with serve_in_thread(app, admission=limiter, on_shed=lambda: shed.append("door")) as url:
        port = urlparse(url).port
        inner.paths.clear()  # the readiness check's
        holder = threading.Thread(target=_get, args=(port, "/hold"))
        holder.start()
        deadline = time.monotonic() + 5
        while limiter.in_flight < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert limiter.in_flight == 1, "the slow request never took the slot"

        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        connection.request("POST", "/v1/score", body=json.dumps({"age": 30}).encode())
        refused = connection.getresponse()
        body = json.loads(refused.read())
        assert refused.status == 503 and refused.getheader("retry-after") == "1"
        assert body["error"]["code"] == "overloaded"
        connection.request("HEAD", "/v1/score")  # a HEAD refusal has no body
        head = connection.getresponse()
        assert head.status == 503 and head.read() == b""
        connection.request("GET", "/health")  # a probe is never refused for load
        probe = connection.getresponse()
        assert probe.status == 200 and probe.read() == b"ok"
        with socket.create_connection(("127.0.0.1", port), timeout=5) as closing:
            closing.sendall(b"GET /v1/model HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := closing.recv(65536):  # b"": the server closed the connection
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 503 ")
        holder.join(5)
        # the request bodies skipped, the same connection is admitted once the slot is free
        connection.request("POST", "/v1/score", body=b'{"age": 31}')
        admitted = connection.getresponse()
        assert admitted.status == 200 and admitted.read() == b"ok"
        connection.close()
    assert shed == ["door"] * 3, "a refusal went through the app"
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert inner.paths == ["/hold", "/health", "/v1/score"]
    assert limiter.in_flight == 0


def _get(port: int, path: str) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    connection.getresponse().read()
    connection.close()
