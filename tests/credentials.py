"""Credentials for tests that call the API: a real key in the app's store (the same path a
deployed caller takes), and the header that carries it."""

from __future__ import annotations

import uuid

from riskloop.serving.identity import Role
from riskloop.store import ApiKeyStore, PredictionStore

EVERY_ROLE = tuple(Role)


def api_key(store: PredictionStore, *roles: Role, name: str | None = None) -> str:
    """A new key in ``store`` holding ``roles`` (default: every role)."""
    issued = ApiKeyStore(store.engine).create(
        name or f"test-{uuid.uuid4().hex[:8]}", [str(r) for r in roles or EVERY_ROLE]
    )
    return issued.key


def bearer(key: str) -> dict[str, str]:
    """The header that sends ``key``."""
    return {"Authorization": f"Bearer {key}"}


def authorized(store: PredictionStore, *roles: Role, name: str | None = None) -> dict[str, str]:
    """The header of a new key in ``store`` holding ``roles`` (default: every role)."""
    return bearer(api_key(store, *roles, name=name))
