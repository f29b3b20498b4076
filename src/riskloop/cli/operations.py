"""Operations: ``riskloop db`` (schema migrations of the prediction store) and
``riskloop deploy`` (the compose stack on a machine over SSH)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Annotated

import typer

from riskloop.cli.common import build_settings, fail
from riskloop.cli.render import console

db_app = typer.Typer(no_args_is_help=True, help="Schema migrations of the prediction store.")

DatabaseUrlOption = Annotated[
    str | None,
    typer.Option("--url", help="database URL (default RISKLOOP_DATABASE_URL or the SQLite file)"),
]


@db_app.command("upgrade")
def db_upgrade(
    url: DatabaseUrlOption = None,
    revision: Annotated[str, typer.Option(help="target revision")] = "head",
) -> None:
    """Migrate the prediction store to the newest schema (deployments run this before serving)."""
    from sqlalchemy.exc import OperationalError

    from riskloop.store.migrations import SchemaMismatchError, upgrade

    settings = build_settings()
    target = url or settings.resolved_database_url
    if target.startswith("sqlite:///"):
        Path(target.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        reached = upgrade(target, revision)
    except SchemaMismatchError as error:
        fail(str(error))
    except OperationalError as error:
        fail(f"cannot reach the database: {error.orig}")
    console.print(f"Prediction store at revision {reached}.")


@db_app.command("current")
def db_current(url: DatabaseUrlOption = None) -> None:
    """Print the schema revision of the prediction store (none: never migrated)."""
    from riskloop.store.migrations import current_revision

    console.print(current_revision(url or build_settings().resolved_database_url) or "none")


def deploy(
    host: Annotated[str, typer.Option(help="the machine, as user@address")],
    domain: Annotated[
        str | None, typer.Option(help="DNS name pointing at the machine: enables HTTPS")
    ] = None,
    email: Annotated[str | None, typer.Option(help="e-mail for the certificate")] = None,
    image: Annotated[
        str | None, typer.Option(help="a published image to pull instead of building")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="print the commands; connect nowhere")
    ] = False,
) -> None:
    """Deploy the compose stack to a machine over SSH (deploy/deploy.sh; see docs/deploy.md)."""
    from riskloop.settings import find_project_dir

    script = find_project_dir() / "deploy" / "deploy.sh"
    if not script.is_file():
        fail(f"{script} not found: run riskloop deploy from a checkout of the repository")
    arguments = [str(script), "--host", host]
    for flag, value in (("--domain", domain), ("--email", email), ("--image", image)):
        if value:
            arguments += [flag, value]
    if dry_run:
        arguments.append("--dry-run")
    raise typer.Exit(subprocess.run(arguments).returncode)
