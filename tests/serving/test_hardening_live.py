"""A service that cannot be knocked over (issue 11, item 5), over real sockets: what only a live
uvicorn shows — a connection that survives a hostile body, a client that hangs up mid-upload,
clients that send a byte now and then."""

from __future__ import annotations

import http.client
import json
import logging
import select
import socket
import time
from urllib.parse import urlparse

import httpx
import pytest
from sqlalchemy import create_engine
from sqlalchemy.pool import StaticPool

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.model_holder import LoadedModel, ModelHolder
from riskloop.serving.server import BODY_DEADLINE_GRACE_S
from riskloop.store import PredictionStore
from tests.serving._live import serve_in_thread
from tests.serving.test_api import APPLICANT

# without its deadlines a slow client would hang a test, not fail it
pytestmark = pytest.mark.timeout(60)
TOKEN = "hardening-admin-token-holding-every-role"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
HEADER_TIMEOUT_S = 0.5
BODY_TIMEOUT_S = 0.5


@pytest.fixture(scope="module")
def live_url(credit_scorer):
    engine = create_engine(
        "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    store = PredictionStore("sqlite://", engine=engine)
    holder = ModelHolder(LoadedModel(credit_scorer, name="credit-risk", version="7"))
    config = ServiceConfig(admin_token=TOKEN, body_timeout_s=BODY_TIMEOUT_S)
    app = create_app(holder, store, config=config)
    with serve_in_thread(
        app, header_timeout_s=HEADER_TIMEOUT_S, body_timeout_s=BODY_TIMEOUT_S
    ) as url:
        yield url


def _address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    return parsed.hostname or "127.0.0.1", parsed.port or 80


def _metrics(url: str) -> str:
    return httpx.get(f"{url}/metrics", headers=AUTH).text


def _read_until_closed(sock: socket.socket, limit_s: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    started = time.perf_counter()
    sock.settimeout(limit_s)
    received = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return received, time.perf_counter() - started
        received += chunk


def trickle_until_answered(sock: socket.socket, byte: bytes, limit_s: float) -> None:
    """Send ``byte`` every 50 ms until the server has something to say (then stop sending: a
    byte sent after the server closed would make it reset the connection and lose its
    answer)."""
    deadline = time.perf_counter() + limit_s
    while time.perf_counter() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            return
        sock.sendall(byte)


# ---- 1. a hostile body does not cost the connection
def test_a_deeply_nested_batch_is_422_and_the_connection_serves_the_next_request(live_url):
    connection = http.client.HTTPConnection(*_address(live_url), timeout=10)
    headers = {**AUTH, "Content-Type": "application/json"}
    depth = 100_000
    nested = b'{"applications": ' + b"[" * depth + b"]" * depth + b"}"
    connection.request("POST", "/v1/score/batch", nested, headers)
    first = connection.getresponse()
    body = json.loads(first.read())
    assert first.status == 422, body
    assert first.getheader("connection") != "close"
    socket_used = connection.sock
    connection.request("POST", "/v1/score", json.dumps(APPLICANT).encode(), headers)
    second = connection.getresponse()
    assert second.status == 200, second.read()
    assert connection.sock is socket_used  # the same keep-alive connection
    connection.close()


# ---- 2. a client that hangs up mid-upload
def test_a_client_gone_mid_upload_is_one_log_line_and_counted_as_499(live_url, caplog):
    uvicorn_errors = logging.getLogger("uvicorn.error")
    uvicorn_errors.addHandler(caplog.handler)
    caplog.set_level(logging.INFO)
    try:
        before = _metrics(live_url)
        with socket.create_connection(_address(live_url)) as sock:
            sock.sendall(
                b"POST /v1/score/batch HTTP/1.1\r\nHost: test\r\n"
                b"Content-Type: application/json\r\nContent-Length: 100000\r\n"
                + f"Authorization: Bearer {TOKEN}\r\n\r\n".encode()
                + b'{"applications": [' + b"{}, " * 300
            )  # fmt: skip
            time.sleep(0.1)
        deadline = time.monotonic() + 5
        while 'status="499"' not in _metrics(live_url) and time.monotonic() < deadline:
            time.sleep(0.05)
        after = _metrics(live_url)
    finally:
        uvicorn_errors.removeHandler(caplog.handler)
    assert 'status="499"' not in before
    assert 'method="POST",route="/v1/score/batch",status="499"} 1.0' in after
    assert 'status="500"' not in after
    records = [r for r in caplog.records if r.name.startswith(("riskloop", "uvicorn"))]
    assert [r.levelno for r in records] == [logging.INFO], [r.getMessage() for r in records]
    assert "went away" in records[0].getMessage() and records[0].exc_info is None


# ---- 8. slow clients are cut off
def test_headers_sent_a_byte_at_a_time_get_408_and_the_connection_is_closed(live_url):
    with socket.create_connection(_address(live_url)) as sock:
        sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: test\r\n")
        started = time.perf_counter()
        trickle_until_answered(sock, b"X", limit_s=5)  # a header that never ends
        received, closed_after = _read_until_closed(sock, limit_s=5)
        elapsed = time.perf_counter() - started
    assert received.startswith(b"HTTP/1.1 408"), received
    assert b"header_timeout" in received
    assert elapsed < HEADER_TIMEOUT_S + 1.0


def test_a_connection_that_sends_nothing_is_closed(live_url):
    with socket.create_connection(_address(live_url)) as sock:
        received, closed_after = _read_until_closed(sock, limit_s=5)
    assert received == b""  # nothing was asked, nothing is answered
    assert closed_after < HEADER_TIMEOUT_S + 1.0


def test_a_body_sent_a_byte_at_a_time_gets_408_from_the_app(live_url):
    with socket.create_connection(_address(live_url)) as sock:
        sock.sendall(
            b"POST /v1/score HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Content-Length: 1000\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
        )
        started = time.perf_counter()
        trickle_until_answered(sock, b" ", limit_s=5)
        elapsed = time.perf_counter() - started
        received, _ = _read_until_closed(sock, limit_s=5)
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), head
    assert b"connection: close" in head.lower()
    error = json.loads(body)["error"]
    assert error["code"] == "body_timeout" and f"{BODY_TIMEOUT_S:g} s" in error["message"]
    assert BODY_TIMEOUT_S - 0.1 <= elapsed < BODY_TIMEOUT_S + 1.0
    assert 'route="/v1/score",status="408"' in _metrics(live_url)


def test_a_body_nobody_reads_cannot_keep_the_connection_open(live_url):
    """``/health`` answers without reading the body; the client keeps trickling it."""
    with socket.create_connection(_address(live_url)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: test\r\nContent-Length: 100000\r\n\r\n")
        started = time.perf_counter()
        answer, closed = b"", False
        while not closed and time.perf_counter() - started < 10:
            trickle_until_answered(sock, b"x", limit_s=1)  # until the server answers or closes
            chunk = sock.recv(65536)
            answer, closed = answer + chunk, chunk == b""
        elapsed = time.perf_counter() - started
    assert answer.startswith(b"HTTP/1.1 200"), answer
    assert closed and elapsed < BODY_TIMEOUT_S + BODY_DEADLINE_GRACE_S + 1.0


def test_fifty_trickling_clients_are_all_cut_off_and_the_service_still_answers(live_url):
    socks = [socket.create_connection(_address(live_url)) for _ in range(50)]
    try:
        for sock in socks:
            sock.sendall(b"POST /v1/score HTTP/1.1\r\nHost: test\r\n")
            sock.settimeout(0.05)
        started = time.perf_counter()
        health = httpx.get(f"{live_url}/health", timeout=2)
        assert health.status_code == 200 and time.perf_counter() - started < 0.5
        open_socks = set(range(len(socks)))
        while open_socks and time.perf_counter() - started < 5:
            for i in list(open_socks):
                try:
                    socks[i].sendall(b"X")
                    if not socks[i].recv(65536):
                        open_socks.discard(i)
                except TimeoutError:
                    continue
                except OSError:
                    open_socks.discard(i)
        elapsed = time.perf_counter() - started
    finally:
        for sock in socks:
            sock.close()
    assert not open_socks, f"{len(open_socks)} of 50 slow connections are still open"
    assert elapsed < HEADER_TIMEOUT_S + 2.0


def test_the_server_notes_when_it_read_each_request_for_admission_control():
    """The wait that counts against ``max_wait_s`` starts when the server reads the request."""
    import asyncio

    from riskloop.serving.admission import ARRIVED_AT

    async def report_arrival(scope, receive, send):
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        waited = asyncio.get_running_loop().time() - scope["state"][ARRIVED_AT]
        body = json.dumps({"waited_s": waited}).encode()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    with serve_in_thread(report_arrival) as url:
        waited = [httpx.get(f"{url}/health").json()["waited_s"] for _ in range(3)]
    assert all(0 <= w < 0.5 for w in waited), waited
