"""Checking callers: API keys and the admin token, the role each route needs, and slowing
down clients that keep failing.

Every route declares who may call it with one dependency, usually on its router
(``APIRouter(dependencies=[Depends(Requires(Role.SCORER))])``):

- :class:`Requires` — a bearer credential holding one of the route's roles. ``admin`` holds
  every role (the local admin key drives the whole UI); :class:`Requires` with no roles takes
  any valid credential (the ``/metrics`` scrape).
- :data:`public` — no credential (``/health``, ``/ready``).

:func:`route_roles` reads that table back from an app, so tests can walk every route and a
route that declares nothing is found.

A request's credential is checked by the :class:`Authenticator` on ``app.state.auth``: its
verifiers are asked in order (API keys, the admin token, and whatever else is configured, such
as an OpenID Connect verifier); a verified credential is cached for ``cache_s`` seconds (5 by
default), so scoring does not read the database per request — which also means a revoked key
keeps working for up to that long in a running service. Failures answer 401 (with
``WWW-Authenticate``), a valid credential without the role 403, and a client (by address) with
``limit`` failures inside ``window_s`` gets 429 with ``Retry-After`` until the window ends. Each
refusal counts in ``riskloop_auth_failures_total{reason}``, ``reason`` one of
:data:`FAILURE_REASONS`.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import SQLAlchemyError

from riskloop.serving.errors import APIError
from riskloop.serving.identity import InvalidCredential, Principal, Role, TokenVerifier
from riskloop.serving.metrics import ServiceMetrics
from riskloop.store.api_keys import ApiKeyStore, hash_secret, split_key

log = logging.getLogger(__name__)

ALL_ROLES = frozenset(Role)
ADMIN_TOKEN_NAME = "admin-token"
# the bounded values of the failure metric's label
# (unavailable: the OpenID Connect issuer's keys could not be fetched to check a user's token)
FAILURE_REASONS = (
    "missing",
    "invalid",
    "expired",
    "revoked",
    "unavailable",
    "forbidden",
    "throttled",
)

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key (`riskloop keys create`), the admin token or a signed-in user's token",
)


class ApiKeyVerifier:
    """Verifies riskloop API keys (``rlk_<id>_<secret>``) against the hashes in the store."""

    def __init__(self, keys: ApiKeyStore, clock: Callable[[], datetime] | None = None):
        self.keys = keys
        self.clock = clock or (lambda: datetime.now(UTC))

    def verify(self, token: str) -> Principal | None:
        """The key's holder; None for a token not shaped like a key.

        Raises
        ------
        InvalidCredential
            Unknown key id, wrong secret, revoked or expired key.
        """
        parts = split_key(token)
        if parts is None:
            return None
        key_id, secret = parts
        record = self.keys.find(key_id)
        if record is None or not secrets.compare_digest(hash_secret(secret), record.secret_sha256):
            raise InvalidCredential("invalid", "the API key is not valid")
        now = self.clock()
        state = record.state(now)
        if state != "active":
            raise InvalidCredential(state, f"the API key {record.name!r} is {state}")
        try:
            self.keys.mark_used(record, now)
        except SQLAlchemyError:  # bookkeeping only: never refuse a good key for it
            log.warning("could not record the last use of API key %r", record.name)
        roles = frozenset(Role(r) for r in record.roles if r in Role.__members__.values())
        return Principal(name=f"key:{record.name}", roles=roles, kind="key")


class AdminTokenVerifier:
    """Verifies the configured admin token (``RISKLOOP_ADMIN_TOKEN``): it holds every role."""

    def __init__(self, token: str):
        self._token = token.encode()

    def verify(self, token: str) -> Principal | None:
        """The admin when ``token`` is the admin token; None otherwise (not of this kind)."""
        if not secrets.compare_digest(token.encode(), self._token):
            return None
        return Principal(name=ADMIN_TOKEN_NAME, roles=ALL_ROLES, kind=ADMIN_TOKEN_NAME)


class Authenticator:
    """Asks its verifiers in order who is behind a bearer token; remembers the answer for
    ``cache_s`` seconds (at most ``max_cached`` tokens, by hash).

    Parameters
    ----------
    verifiers : sequence of TokenVerifier
        Asked in order; the first that recognises the token decides.
    cache_s : float
        How long a verified caller is remembered (also how long a revoked key keeps working).
    max_cached : int
        Most remembered tokens; the cache is emptied when it is full.
    """

    def __init__(
        self, verifiers: Sequence[TokenVerifier], cache_s: float = 5.0, max_cached: int = 10_000
    ):
        self.verifiers = list(verifiers)
        self.cache_s = cache_s
        self.max_cached = max_cached
        self._cache: dict[str, tuple[float, Principal]] = {}

    @staticmethod
    def _cache_key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def cached(self, token: str) -> Principal | None:
        """The caller behind ``token`` if it was verified less than ``cache_s`` ago."""
        entry = self._cache.get(self._cache_key(token))
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def verify(self, token: str) -> Principal:
        """Ask the verifiers (no cache); remember the caller.

        Raises
        ------
        InvalidCredential
            No verifier accepts the token.
        """
        for verifier in self.verifiers:
            principal = verifier.verify(token)
            if principal is not None:
                if len(self._cache) >= self.max_cached:
                    self._cache.clear()
                self._cache[self._cache_key(token)] = (time.monotonic() + self.cache_s, principal)
                return principal
        raise InvalidCredential(
            "invalid", "the bearer token is neither an API key, the admin token nor a known token"
        )


class FailureThrottle:
    """Counts authentication failures per client address in fixed windows: a client with
    ``limit`` failures inside ``window_s`` seconds is refused until its window ends. At most
    ``max_clients`` addresses are remembered (the oldest is forgotten first)."""

    def __init__(self, limit: int = 20, window_s: float = 60.0, max_clients: int = 10_000):
        self.limit, self.window_s, self.max_clients = limit, window_s, max_clients
        self._windows: OrderedDict[str, tuple[float, int]] = OrderedDict()

    def retry_after(self, client: str, now: float | None = None) -> int | None:
        """Seconds until ``client`` may try again; None when it is not throttled."""
        now = time.monotonic() if now is None else now
        window = self._windows.get(client)
        if window is None or window[1] < self.limit or now - window[0] >= self.window_s:
            return None
        return max(1, math.ceil(window[0] + self.window_s - now))

    def failed(self, client: str, now: float | None = None) -> None:
        """Count one failure of ``client``."""
        now = time.monotonic() if now is None else now
        started, count = self._windows.pop(client, (now, 0))
        if now - started >= self.window_s:
            started, count = now, 0
        self._windows[client] = (started, count + 1)
        while len(self._windows) > self.max_clients:
            self._windows.popitem(last=False)


@dataclass
class AuthGuard:
    """What the route dependencies check against (``app.state.auth``)."""

    authenticator: Authenticator
    throttle: FailureThrottle
    metrics: ServiceMetrics
    loopback: bool

    def refuse(self, status: int, reason: str, message: str, client: str) -> APIError:
        """Count a refusal and build its answer (401 also counts toward the client's limit)."""
        self.metrics.auth_failures.labels(reason=reason).inc()
        if status == 401:
            self.throttle.failed(client)
            return APIError(401, "unauthorized", message, headers={"WWW-Authenticate": "Bearer"})
        return APIError(status, "forbidden", message)

    async def authenticate(
        self, request: Request, credentials: HTTPAuthorizationCredentials | None
    ) -> Principal:
        """The caller, or an :class:`APIError` (401, 429)."""
        client = request.client.host if request.client else "unknown"
        wait = self.throttle.retry_after(client)
        if wait is not None:
            self.metrics.auth_failures.labels(reason="throttled").inc()
            raise APIError(
                429,
                "too_many_failures",
                f"too many failed credentials from this client; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )
        if credentials is None:
            raise self.refuse(
                401,
                "missing",
                "this route needs a credential: the header Authorization: Bearer <API key>"
                " (create one with `riskloop keys create`)",
                client,
            )
        token = credentials.credentials
        principal = self.authenticator.cached(token)
        if principal is None:
            try:
                principal = await run_in_threadpool(self.authenticator.verify, token)
            except InvalidCredential as error:
                raise self.refuse(401, error.reason, error.message, client) from None
        return principal


class Requires:
    """Route dependency: a caller holding one of ``roles`` (``admin`` holds them all); with no
    roles, any valid credential. ``public_on_loopback``: no credential needed while the service
    listens on loopback only, for requests made on this machine — not for those a proxy
    forwards (an ``X-Forwarded-For`` or ``Forwarded`` header): a proxy on the same machine
    would otherwise open these routes to everyone it serves."""

    def __init__(self, *roles: Role, public_on_loopback: bool = False):
        self.roles = frozenset(roles)
        self.public_on_loopback = public_on_loopback

    @property
    def allowed(self) -> frozenset[Role]:
        """The roles that may call the route."""
        return self.roles | {Role.ADMIN} if self.roles else ALL_ROLES

    async def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> None:
        guard: AuthGuard = request.app.state.auth
        if self.public_on_loopback and guard.loopback and not forwarded(request):
            return
        principal = await guard.authenticate(request, credentials)
        if not principal.has_any(self.allowed):
            client = request.client.host if request.client else "unknown"
            needed = " or ".join(sorted(self.allowed))
            held = ", ".join(sorted(principal.roles)) or "none"
            raise guard.refuse(
                403,
                "forbidden",
                f"this route needs the role {needed}; {principal.name} holds {held}",
                client,
            )
        request.state.principal = principal

    def __repr__(self) -> str:
        return f"Requires({', '.join(sorted(self.roles))})"


def forwarded(request: Request) -> bool:
    """The request came through a proxy (it says whom it forwards for)."""
    return "x-forwarded-for" in request.headers or "forwarded" in request.headers


async def public() -> None:
    """Route dependency of the routes anyone may call (``/health``, ``/ready``)."""


async def caller(request: Request) -> Principal:
    """The authenticated caller (after a :class:`Requires` dependency)."""
    principal: Principal = request.state.principal
    return principal


Access = frozenset[Role] | Literal["public", "public on loopback"]


def route_roles(app: FastAPI) -> dict[tuple[str, str], list[Access]]:
    """Who may call each route of ``app``: ``(method, path)`` → the access each declared
    dependency grants (roles, ``"public"``, or ``"public on loopback"`` followed by the roles
    needed beyond it). A route with an empty list declared nothing: a mistake."""
    table: dict[tuple[str, str], list[Access]] = {}
    # iter_route_contexts: each route as included, with its routers' dependencies prepended
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        declared: list[Access] = []
        for dependency in route.dependencies:
            if dependency.dependency is public:
                declared.append("public")
            elif isinstance(dependency.dependency, Requires):
                if dependency.dependency.public_on_loopback:
                    declared.append("public on loopback")
                declared.append(dependency.dependency.allowed)
        for method in sorted(route.methods or ()):
            table[(method, str(route.path))] = declared
    return table
