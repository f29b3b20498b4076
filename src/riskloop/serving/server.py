"""The HTTP server ``riskloop serve`` runs: uvicorn, whose HTTP/1.1 protocol gets deadlines.

uvicorn closes an idle keep-alive connection (``timeout_keep_alive``) but has no limit on how long
a request may take to arrive: a client sending one byte every few seconds holds a connection,
and the memory behind it, for ever — 500 such clients are a denial of service that costs the
attacker nothing. :class:`DeadlineH11Protocol` (uvicorn's h11 protocol) adds two deadlines:

* **headers**: a request's headers must be complete within ``header_timeout_s`` of the
  connection opening or of the previous response; else ``408`` (when part of a request came)
  and the connection is closed;
* **body**: once the headers are in, the body must be complete within ``body_timeout_s`` plus a
  second of grace. The app answers a slow body itself with a JSON ``408`` at ``body_timeout_s``
  (:class:`~riskloop.serving.metrics.ServiceMiddleware`); the protocol's deadline is the
  backstop for a body nobody reads (a route that ignores it, a response already sent), and
  closes the connection.

:func:`server_config` builds the uvicorn configuration both ``riskloop serve`` and the live-server
tests use.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from riskloop.serving.admission import (
    ARRIVED_AT,
    PROBE_PATHS,
    AdmissionLimiter,
    overload_refusal,
)

# The app's own 408 comes first; the protocol closes what is still open this much later.
BODY_DEADLINE_GRACE_S = 1.0


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request's headers and body.

    The deadlines are class attributes; :meth:`with_deadlines` makes a subclass with others
    (uvicorn builds one protocol object per connection from the class it is given).
    """

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    # admission control at the door (with_admission): None lets every request in
    admission: AdmissionLimiter | None = None
    on_shed: Callable[[], None] | None = None
    refusal_headers: list[tuple[bytes, bytes]] = []
    refusal_body: bytes = b""

    @classmethod
    def with_deadlines(
        cls, header_timeout_s: float, body_timeout_s: float
    ) -> type[DeadlineH11Protocol]:
        """A protocol class with these deadlines (seconds)."""
        return type(
            cls.__name__,
            (cls,),
            {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s},
        )

    @classmethod
    def with_admission(
        cls, limiter: AdmissionLimiter, on_shed: Callable[[], None] | None = None
    ) -> type[DeadlineH11Protocol]:
        """A protocol class that refuses a request the limiter would refuse at once (every slot
        taken, no room to wait) before the app sees it: ``503`` with ``Retry-After``, the body
        :class:`~riskloop.serving.admission.AdmissionMiddleware` would send, ``on_shed`` called.

        The limiter is the app's own (the middleware behind still admits what comes in), used
        from the server's one event loop.
        """
        retry_after, body = overload_refusal(limiter)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", retry_after.encode()),
        ]
        attributes = {
            "admission": limiter,
            "on_shed": staticmethod(on_shed) if on_shed is not None else None,
            "refusal_headers": headers,
            "refusal_body": body,
        }
        return type(cls.__name__, (cls,), attributes)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._awaiting: object = None  # h11.IDLE (headers), h11.SEND_BODY or None

    # --- uvicorn's protocol interface, each followed by a look at what the client owes us
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._follow_client()

    def data_received(self, data: bytes) -> None:
        arrived_at, cycle = self.loop.time(), self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a request began: when, for admission control
            self.scope["state"][ARRIVED_AT] = arrived_at  # the request's own state dict
        self._follow_client()

    def handle_events(self) -> None:
        while self.admission is not None and self._refused_at_the_door():
            pass
        if not self.transport.is_closing():  # a refusal may have closed it (Connection: close)
            super().handle_events()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._follow_client()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_deadline()
        super().connection_lost(exc)

    # --- admission control at the door
    def _refused_at_the_door(self) -> bool:
        """When the limiter would refuse the request that begins in the buffer (not a probe),
        answer it 503 here: no task, no ASGI call, no middleware. True when one was refused.

        Only the request line is read before the decision (a probe's path must get through);
        h11 then parses the head, the response goes out through h11, and the request's body is
        skipped by uvicorn as for any request answered before its body was read."""
        conn = self.conn
        if conn.their_state is not h11.IDLE or conn.our_state is not h11.IDLE:
            return False
        assert self.admission is not None
        if not self.admission.refuses_at_once():
            return False
        buffered = conn.trailing_data[0]
        line_end = buffered.find(b"\r\n")
        parts = buffered[:line_end].split(b" ") if line_end > 0 else []
        if len(parts) != 3 or parts[1].partition(b"?")[0].decode("latin-1") in PROBE_PATHS:
            return False
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return False  # uvicorn answers it 400
        if not isinstance(event, h11.Request):
            return False  # the head is not complete yet: nothing was taken from the buffer
        if self.on_shed is not None:
            self.on_shed()
        self._unset_keepalive_if_required()
        response = h11.Response(
            status_code=503, headers=self.refusal_headers, reason=b"Service Unavailable"
        )
        self.transport.write(
            conn.send(response)
            + (conn.send(h11.Data(data=self.refusal_body)) if event.method != b"HEAD" else b"")
            + conn.send(h11.EndOfMessage())
        )
        if conn.our_state is h11.MUST_CLOSE:
            self.transport.close()
        else:
            self.on_response_complete()
        return True

    # --- the deadlines
    def _follow_client(self) -> None:
        """Arm the deadline of what the client must send next (headers or body) when that
        changes; a client sending more of the same part does not move its deadline."""
        if self.transport is None or self.transport.is_closing():
            return
        state = self.conn.their_state
        awaiting = state if state in (h11.IDLE, h11.SEND_BODY) else None
        if awaiting is self._awaiting:
            return
        self._cancel_deadline()
        self._awaiting = awaiting
        if awaiting is h11.IDLE:
            self._deadline = self.loop.call_later(self.header_timeout_s, self._headers_late)
        elif awaiting is h11.SEND_BODY:
            delay = self.body_timeout_s + BODY_DEADLINE_GRACE_S
            self._deadline = self.loop.call_later(delay, self._close)

    def _cancel_deadline(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._awaiting = None

    def _headers_late(self) -> None:
        """The headers did not come in time: 408 if a request had begun, then close."""
        partial_request = bool(self.conn.trailing_data[0])
        if partial_request and not self.transport.is_closing():
            body = json.dumps(
                {
                    "error": {
                        "code": "header_timeout",
                        "message": f"the request headers did not arrive within"
                        f" {self.header_timeout_s:g} s (RISKLOOP_HEADER_TIMEOUT_S)",
                        "fields": [],
                        "fields_omitted": 0,
                    }
                }
            ).encode()
            self.transport.write(
                b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\n"
                b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(body), body)
            )
        self._close()

    def _close(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def server_config(
    app: Any,
    host: str,
    port: int,
    *,
    header_timeout_s: float,
    body_timeout_s: float,
    forwarded_allow_ips: str = "127.0.0.1",
    admission: AdmissionLimiter | None = None,
    on_shed: Callable[[], None] | None = None,
    log_level: str = "warning",
) -> uvicorn.Config:
    """uvicorn's configuration for ``app``: the h11 protocol with deadlines on headers and body
    (:class:`DeadlineH11Protocol`), keep-alive connections closed after 5 s idle.

    ``forwarded_allow_ips`` (comma-separated addresses or networks, ``*`` for any) are the
    proxies whose ``X-Forwarded-For`` names the client: a request from one of them is the
    client's it names (the failure throttle, the logs); from any other peer the header is
    ignored, so nobody picks the address they are counted under.

    ``admission``, the app's own limiter (``app.state.admission``), lets the protocol refuse
    what it would refuse at once before the app is called (:meth:`DeadlineH11Protocol.
    with_admission`); ``on_shed`` counts each of those refusals.
    """
    protocol = DeadlineH11Protocol.with_deadlines(header_timeout_s, body_timeout_s)
    if admission is not None:
        protocol = protocol.with_admission(admission, on_shed)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        log_level=log_level,
        timeout_keep_alive=5,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
    )
