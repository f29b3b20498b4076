"""Schema migrations of the prediction store (Alembic).

Two ways the tables come to exist, on purpose:

* ``riskloop db upgrade`` (:func:`upgrade`) runs the Alembic migrations in ``versions/`` —
  deployments do this before the service starts (the compose stack's ``bootstrap`` service), so
  a release that changes the schema changes it once, in a reviewed migration.
* :class:`~riskloop.store.PredictionStore` still creates missing tables itself
  (``metadata.create_all``), so ``make run`` and the tests need no extra step on SQLite.

A database created that second way has no ``alembic_version`` table; :func:`upgrade` adopts it
(stamps it at the head revision) when its schema already equals the code's, and refuses with an
explanation otherwise. ``tests/store/test_migrations.py`` fails when ``metadata`` changes without
a migration.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, inspect
from sqlalchemy.pool import NullPool

MIGRATIONS_DIR = Path(__file__).resolve().parent


class SchemaMismatchError(RuntimeError):
    """The database has riskloop tables that no migration produced and that differ from the code."""


def alembic_config(url: str) -> Any:
    """An Alembic :class:`~alembic.config.Config` for the database at ``url`` (no file needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' would be read as interpolation by ConfigParser (passwords may contain it)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the database behind ``engine`` and the code's ``metadata`` (Alembic's
    autogenerate comparison; an empty list means they match)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from riskloop.store.tables import metadata

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def current_revision(url: str) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    from alembic.migration import MigrationContext

    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> str | None:
    """Bring the database at ``url`` to ``revision`` (default: the newest); returns the revision
    it is at afterwards. Tables made by ``create_all`` before migrations existed are adopted
    when they match the code, else :class:`SchemaMismatchError` says what differs."""
    from alembic import command

    from riskloop.store.tables import metadata

    config = alembic_config(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        present = set(inspect(engine).get_table_names())
        unversioned = "alembic_version" not in present and present & set(metadata.tables)
        if unversioned:
            differences = schema_diff(engine)
            if differences:
                raise SchemaMismatchError(
                    f"the database at {engine.url.render_as_string(hide_password=True)} has"
                    " riskloop tables that were not created by a migration and differ from the"
                    f" code: {differences[:5]}. Back it up, then either drop those tables and"
                    " run `riskloop db upgrade`, or bring them in line by hand and run it again."
                )
            command.stamp(config, "head")
    finally:
        engine.dispose()
    command.upgrade(config, revision)
    return current_revision(url)
