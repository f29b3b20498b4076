"""API keys in the store: only a hash is kept, names are unique, revocation and expiry are
recorded, and last use is written at most once an hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from riskloop.store import ApiKeyStore
from riskloop.store.api_keys import (
    DuplicateKeyName,
    UnknownKeyName,
    hash_secret,
    split_key,
)
from riskloop.store.tables import api_keys

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


@pytest.fixture()
def keys(store):
    return ApiKeyStore(store.engine)


def test_a_created_key_is_long_random_and_only_its_hash_is_stored(keys):
    issued = keys.create("scoring-app", ["scorer", "outcomes"], now=NOW)
    key_id, secret = split_key(issued.key)
    assert issued.key.startswith(f"rlk_{key_id}_") and len(secret) >= 43  # 32 bytes, base64
    with keys.engine.connect() as connection:
        row = connection.execute(select(api_keys)).mappings().one()
    assert secret not in str(dict(row)) and row["secret_sha256"] == hash_secret(secret)
    found = keys.find(key_id)
    assert found.name == "scoring-app" and found.roles == ("outcomes", "scorer")
    assert found.created_at == NOW and found.state(NOW) == "active"
    assert keys.create("other", ["scorer"]).key != issued.key


def test_names_are_unique(keys):
    keys.create("ops", ["admin"])
    with pytest.raises(DuplicateKeyName, match="'ops' already exists"):
        keys.create("ops", ["scorer"])


def test_revocation_and_expiry(keys):
    keys.create("old", ["scorer"], expires_at=NOW - timedelta(days=1), now=NOW)
    keys.create("gone", ["scorer"], now=NOW)
    keys.create("live", ["analyst"], expires_at=NOW + timedelta(days=90), now=NOW)
    revoked = keys.revoke("gone", now=NOW)
    assert (
        revoked.revoked_at == NOW and keys.revoke("gone", now=NOW + timedelta(1)).revoked_at == NOW
    )
    states = {k.name: k.state(NOW) for k in keys.list()}
    assert states == {"old": "expired", "gone": "revoked", "live": "active"}
    assert keys.count_active(NOW) == 1
    with pytest.raises(UnknownKeyName, match="'nobody'"):
        keys.revoke("nobody")


def test_last_use_is_written_at_most_once_an_hour(keys):
    key_id, _ = split_key(keys.create("busy", ["scorer"], now=NOW).key)
    assert keys.mark_used(keys.find(key_id), now=NOW)
    assert not keys.mark_used(keys.find(key_id), now=NOW + timedelta(minutes=59))
    assert keys.mark_used(keys.find(key_id), now=NOW + timedelta(minutes=61))
    assert keys.find(key_id).last_used_at == NOW + timedelta(minutes=61)


@pytest.mark.parametrize("token", ["", "rlk_", "rlk_abc", "rlk__secret", "xyz_abc_secret", "abc"])
def test_tokens_not_shaped_like_a_key_are_not_split(token):
    assert split_key(token) is None
