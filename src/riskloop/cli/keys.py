"""``riskloop keys``: the API's machine credentials — create (the key is printed once), list
(never a secret or a hash), revoke. Each change is an audit event by ``cli:<os user>``."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from riskloop.cli.common import build_settings, cli_actor, fail
from riskloop.cli.render import console

if TYPE_CHECKING:
    from riskloop.settings import Settings
    from riskloop.store import ApiKeyStore, MonitoringStore

keys_app = typer.Typer(no_args_is_help=True, help="API keys: create (printed once), list, revoke.")

KEY_CREATED, KEY_REVOKED = "api_key_created", "api_key_revoked"
_DURATION = re.compile(r"^(\d+)([hdw])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def parse_expiry(text: str) -> timedelta:
    """``90d``, ``12h``, ``2w`` as a duration; :class:`ValueError` names what was received."""
    match = _DURATION.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"--expires must be a positive whole number of hours, days or weeks such as 12h,"
            f" 90d or 2w (received {text!r})"
        )
    return int(match.group(1)) * _UNITS[match.group(2)]


def _stores(settings: Settings) -> tuple[ApiKeyStore, MonitoringStore]:
    from riskloop.store import ApiKeyStore, MonitoringStore, PredictionStore

    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        settings.path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    engine = PredictionStore(url).engine
    return ApiKeyStore(engine), MonitoringStore(engine)


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="who holds the key, e.g. loan-origination")],
    role: Annotated[
        list[str], typer.Option("--role", help="scorer, analyst, outcomes or admin; repeatable")
    ],
    expires: Annotated[
        str | None, typer.Option(help="lifetime such as 90d, 12h or 2w (default: never)")
    ] = None,
) -> None:
    """Create a key and print it once: only its hash is stored."""
    from riskloop.serving.identity import Role
    from riskloop.store.api_keys import DuplicateKeyName

    if not _NAME.match(name):
        fail(f"--name must be 1-100 letters, digits, '.', '_' or '-' (received {name!r})")
    known = sorted(r.value for r in Role)
    unknown = [r for r in role if r not in known]
    if unknown:
        fail(f"--role must be one of {', '.join(known)} (received {', '.join(map(repr, unknown))})")
    try:
        lifetime = parse_expiry(expires) if expires is not None else None
    except ValueError as error:
        fail(str(error))
    now = datetime.now(UTC)
    keys, audit = _stores(build_settings())
    try:
        issued = keys.create(name, role, expires_at=now + lifetime if lifetime else None, now=now)
    except DuplicateKeyName as error:
        fail(f"{error}; pick another --name (a revoked key keeps its name)")
    record = issued.record
    audit.record_audit_event(
        KEY_CREATED,
        {"name": name, "roles": list(record.roles), "expires_at": _iso(record.expires_at)},
        actor=cli_actor(),
    )
    expiry = f", expires {record.expires_at:%Y-%m-%d %H:%M} UTC" if record.expires_at else ""
    console.print(f"Key {name!r} ({', '.join(record.roles)}{expiry}); shown once, store it now:")
    console.print(issued.key, highlight=False, soft_wrap=True)
    console.print(
        f'Use it as: curl -H "Authorization: Bearer <key>" {_example_route(record.roles)}'
    )


def _example_route(roles: tuple[str, ...]) -> str:
    if "scorer" in roles or "admin" in roles:
        return (
            "-H 'Content-Type: application/json' -d @applicant.json http://127.0.0.1:8000/v1/score"
        )
    if "analyst" in roles:
        return "http://127.0.0.1:8000/v1/model"
    return "-d '{...}' http://127.0.0.1:8000/v1/feedback"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@keys_app.command("list")
def list_keys() -> None:
    """Every key: name, roles, state, dates (never the secret or its hash)."""
    from rich.table import Table

    keys, _ = _stores(build_settings())
    now = datetime.now(UTC)
    table = Table("name", "roles", "state", "created", "expires", "last used")
    for record in keys.list():
        table.add_row(
            record.name,
            ", ".join(record.roles),
            record.state(now),
            f"{record.created_at:%Y-%m-%d %H:%M}",
            f"{record.expires_at:%Y-%m-%d %H:%M}" if record.expires_at else "never",
            f"{record.last_used_at:%Y-%m-%d %H:%M}" if record.last_used_at else "-",
        )
    console.print(table if table.row_count else "No API keys yet: `riskloop keys create`.")


@keys_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="the key's name")]) -> None:
    """Revoke a key; a running service refuses it within a few seconds (its cache)."""
    from riskloop.store.api_keys import UnknownKeyName

    keys, audit = _stores(build_settings())
    try:
        record = keys.revoke(name)
    except UnknownKeyName as error:
        fail(f"{error} (see `riskloop keys list`)")
    audit.record_audit_event(KEY_REVOKED, {"name": name}, actor=cli_actor())
    console.print(f"Key {name!r} revoked at {record.revoked_at:%Y-%m-%d %H:%M:%S} UTC.")


LOCAL_ADMIN = "local-admin"


def ensure_local_admin_key(path: Path, keys: ApiKeyStore) -> tuple[str, bool]:
    """The local admin key in ``path`` (owner-only, 0600): reused while it still verifies, else
    a new admin key is created and written there. Returns the key and whether it was created.

    Only ``riskloop serve`` on loopback calls this: whoever can read the file can do anything
    the API allows, exactly as whoever can read the project's database already could.
    """
    from riskloop.serving.auth import ApiKeyVerifier
    from riskloop.serving.identity import InvalidCredential
    from riskloop.store.api_keys import DuplicateKeyName

    if path.is_file():
        key = path.read_text().strip()
        try:
            if ApiKeyVerifier(keys).verify(key) is not None:
                path.chmod(0o600)
                return key, False
        except InvalidCredential:
            pass  # revoked, expired or from another database: make a new one
    name = LOCAL_ADMIN
    try:
        issued = keys.create(name, ["admin"])
    except DuplicateKeyName:  # the file was lost or the key revoked: a new name, same role
        issued = keys.create(f"{name}-{datetime.now(UTC):%Y%m%d-%H%M%S}", ["admin"])
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(issued.key + "\n")
    path.chmod(0o600)  # also when the file existed with wider permissions
    return issued.key, True


def refuse_without_credentials(keys: ApiKeyStore, admin_token: bool, oidc_issuer: bool) -> None:
    """End ``riskloop serve`` beyond loopback when nobody could ever authenticate."""
    if admin_token or oidc_issuer or keys.count_active() > 0:
        return
    fail(
        "the API would listen beyond this machine with no credentials configured: create a"
        " key first (`riskloop keys create --name ops --role admin`), or set"
        " RISKLOOP_ADMIN_TOKEN (32 bytes or more) or RISKLOOP_OIDC_ISSUER"
    )
