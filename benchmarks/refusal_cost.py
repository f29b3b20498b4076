"""What turning one request away costs the event loop: refused at the door (the server's protocol,
before the app) and refused by the app's admission middleware.

    .venv/bin/python benchmarks/refusal_cost.py   # a few seconds

The service's own protocol class (:func:`riskloop.serving.server.server_config`) is driven in
process through a stub transport, around the real app (:func:`riskloop.serving.app.create_app`)
whose limiter is held full; each of ``--requests`` ``POST /v1/score`` requests is fed to the
protocol and the loop run until its 503 is written. No sockets and no client: the figures are the
server's time alone (docs/benchmarks.md, "Overload", quotes them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from riskloop.serving.app import ServiceConfig, create_app
from riskloop.serving.model_holder import ModelHolder
from riskloop.serving.server import server_config
from riskloop.store import PredictionStore

REQUEST = (
    b"POST /v1/score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    b"Authorization: Bearer not-checked-the-request-is-refused-first\r\n"
    b'Content-Length: 11\r\n\r\n{"age": 30}'
)


class StubTransport(asyncio.Transport):
    """Keeps what the protocol writes; a loopback peer."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:  # type: ignore[override]
        self.written.append(bytes(data))

    def get_extra_info(self, name: str, default: object = None) -> object:
        addresses = {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 8000)}
        return addresses.get(name, default)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def seconds_per_refusal(at_the_door: bool, requests: int) -> float:
    """Mean seconds of the event loop per refused request."""
    from uvicorn.server import ServerState

    app = create_app(
        ModelHolder(),
        PredictionStore("sqlite://"),
        config=ServiceConfig(max_in_flight=1, max_waiting=0, max_wait_s=0.01),
    )
    limiter = app.state.admission
    limiter.in_flight = limiter.max_in_flight  # every slot taken, no queue: all are refused
    config = server_config(
        app,
        "127.0.0.1",
        8000,
        header_timeout_s=10,
        body_timeout_s=30,
        admission=limiter if at_the_door else None,
        on_shed=app.state.metrics.shed.inc,
    )
    config.load()
    protocol = config.http_protocol_class(  # type: ignore[call-arg]
        config=config, server_state=ServerState(), app_state={}
    )
    transport = StubTransport()
    protocol.connection_made(transport)
    started = time.perf_counter()
    for _ in range(requests):
        answered = len(transport.written)
        protocol.data_received(REQUEST)
        while len(transport.written) == answered or protocol.tasks:  # the app's task, if any
            await asyncio.sleep(0)
    elapsed = time.perf_counter() - started
    protocol.connection_lost(None)
    refused = sum(chunk.startswith(b"HTTP/1.1 503 ") for chunk in transport.written)
    if refused != requests:
        raise RuntimeError(f"{refused} of {requests} requests were refused; expected all")
    return elapsed / requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="refusals timed per path")
    args = parser.parse_args()
    for label, at_the_door in (("at the door", True), ("by the app", False)):
        seconds = asyncio.run(seconds_per_refusal(at_the_door, args.requests))
        print(json.dumps({"refused": label, "microseconds": round(seconds * 1e6, 1)}))


if __name__ == "__main__":
    main()
