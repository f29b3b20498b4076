"""A live scoring service on a free loopback port, for tests that need real HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import uvicorn

from riskloop.serving.server import server_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve_in_thread(
    app,
    ready_path: str = "/health",
    timeout: float = 30.0,
    header_timeout_s: float = 10.0,
    body_timeout_s: float = 30.0,
    forwarded_allow_ips: str = "127.0.0.1",
    admission=None,
    on_shed=None,
) -> Iterator[str]:
    """Run ``app`` under uvicorn in a thread, configured as ``riskloop serve`` configures it
    (:func:`riskloop.serving.server.server_config`; the app's own limiter, if it has one, also
    refuses at the door unless ``admission`` names another); yields its base URL; stops it
    (lifespan shutdown included) on exit."""
    state = getattr(app, "state", None)
    if admission is None and hasattr(state, "admission"):
        admission, on_shed = state.admission, state.metrics.shed.inc
    port = free_port()
    config = server_config(
        app,
        "127.0.0.1",
        port,
        header_timeout_s=header_timeout_s,
        body_timeout_s=body_timeout_s,
        forwarded_allow_ips=forwarded_allow_ips,
        admission=admission,
        on_shed=on_shed,
        log_level="error",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url + ready_path, timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the test server did not become ready at {url}")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout)
