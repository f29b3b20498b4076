"""API keys: the service's machine credentials, stored as a hash of each secret.

A key reads ``rlk_<key id>_<secret>``: a recognisable prefix (so a leaked key is easy to spot
in a log or a repository scan), a public key id (finds the row without the secret) and 32
random bytes from :mod:`secrets` (``token_urlsafe``). Only the SHA-256 of the secret is stored;
the whole key is shown once, when it is created.

Why a plain SHA-256 and not a password hash (bcrypt, Argon2): those are slow on purpose, to
make guessing a *low-entropy* password from a stolen hash expensive. A 256-bit random secret
cannot be guessed however fast the hash is, and a fast hash keeps checking a key cheap.

Roles are stored as plain words; :mod:`riskloop.serving.identity` gives them meaning.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from riskloop.store.tables import api_keys

KEY_PREFIX = "rlk"
SECRET_BYTES = 32
# last_used_at is written at most this often per key: checking a key stays a read
LAST_USED_RESOLUTION = timedelta(hours=1)


class DuplicateKeyName(ValueError):
    """A key of that name already exists (revoked keys keep their name)."""


class UnknownKeyName(LookupError):
    """No key has that name."""


@dataclass(frozen=True)
class ApiKeyRecord:
    """One stored key, without its secret."""

    key_id: str
    name: str
    roles: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    secret_sha256: str

    def state(self, now: datetime) -> str:
        """``active``, ``expired`` or ``revoked``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: ``key`` is the only copy of the secret."""

    key: str
    record: ApiKeyRecord


def hash_secret(secret: str) -> str:
    """The stored form of a key's secret: SHA-256, hex (see the module docstring for why)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(token: str) -> tuple[str, str] | None:
    """``(key id, secret)`` of a token shaped like a riskloop key; None for anything else."""
    prefix, _, rest = token.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != KEY_PREFIX or not key_id or not secret:
        return None
    return key_id, secret


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: they were written in UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _record(row: dict) -> ApiKeyRecord:
    return ApiKeyRecord(
        key_id=row["key_id"],
        name=row["name"],
        roles=tuple(row["roles"]),
        created_at=_aware(row["created_at"]),  # type: ignore[arg-type]
        expires_at=_aware(row["expires_at"]),
        revoked_at=_aware(row["revoked_at"]),
        last_used_at=_aware(row["last_used_at"]),
        secret_sha256=row["secret_sha256"],
    )


class ApiKeyStore:
    """API keys through ``engine`` (the prediction store's). The table is created by
    :class:`~riskloop.store.PredictionStore` or the migrations."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def create(
        self,
        name: str,
        roles: Iterable[str],
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> IssuedKey:
        """Create a key named ``name`` holding ``roles``; the returned ``key`` is the secret's
        only copy.

        Raises
        ------
        DuplicateKeyName
            A key (active or not) is already called ``name``.
        """
        key_id = secrets.token_hex(8)
        secret = secrets.token_urlsafe(SECRET_BYTES)
        values = {
            "key_id": key_id,
            "name": name,
            "secret_sha256": hash_secret(secret),
            "roles": sorted(set(roles)),
            "created_at": now or datetime.now(UTC),
            "expires_at": expires_at,
        }
        try:
            with self.engine.begin() as connection:
                connection.execute(insert(api_keys).values(**values))
        except IntegrityError:
            raise DuplicateKeyName(f"a key named {name!r} already exists") from None
        record = _record({**values, "revoked_at": None, "last_used_at": None})
        return IssuedKey(key=f"{KEY_PREFIX}_{key_id}_{secret}", record=record)

    def find(self, key_id: str) -> ApiKeyRecord | None:
        """The key with this id, or None."""
        query = select(api_keys).where(api_keys.c.key_id == key_id)
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return _record(dict(row)) if row else None

    def list(self) -> list[ApiKeyRecord]:
        """Every key, oldest first."""
        with self.engine.connect() as connection:
            rows = connection.execute(select(api_keys).order_by(api_keys.c.id)).mappings()
            return [_record(dict(r)) for r in rows]

    def revoke(self, name: str, now: datetime | None = None) -> ApiKeyRecord:
        """Revoke the key named ``name`` (revoking twice keeps the first time).

        Raises
        ------
        UnknownKeyName
            No key is called ``name``.
        """
        with self.engine.begin() as connection:
            connection.execute(
                update(api_keys)
                .where(api_keys.c.name == name, api_keys.c.revoked_at.is_(None))
                .values(revoked_at=now or datetime.now(UTC))
            )
            row = connection.execute(select(api_keys).where(api_keys.c.name == name)).mappings()
            found = row.first()
        if found is None:
            raise UnknownKeyName(f"no key is named {name!r}")
        return _record(dict(found))

    def count_active(self, now: datetime | None = None) -> int:
        """How many keys are neither revoked nor expired."""
        now = now or datetime.now(UTC)
        query = (
            select(func.count())
            .select_from(api_keys)
            .where(
                api_keys.c.revoked_at.is_(None),
                or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > now),
            )
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def mark_used(self, record: ApiKeyRecord, now: datetime | None = None) -> bool:
        """Record that the key was used, at most once per :data:`LAST_USED_RESOLUTION`, so
        checking a key is a write only about once an hour; True when a row was written."""
        now = now or datetime.now(UTC)
        if record.last_used_at is not None and now - record.last_used_at < LAST_USED_RESOLUTION:
            return False
        with self.engine.begin() as connection:
            connection.execute(
                update(api_keys).where(api_keys.c.key_id == record.key_id).values(last_used_at=now)
            )
        return True
