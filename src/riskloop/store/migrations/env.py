"""Alembic environment of the prediction store: compares against riskloop.store's ``metadata``.

The database URL is the config's ``sqlalchemy.url``: riskloop's own callers set it
(:func:`alembic_config`, from the settings they were handed). Only for the plain ``alembic``
command, run from the repository root with its ``alembic.ini``, is this script an entry point of
its own, and then it reads riskloop's settings (``RISKLOOP_DATABASE_URL`` / the default SQLite
file) itself, as any edge does.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from riskloop.store.predictions import metadata

config = context.config


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    # the plain `alembic` command: this script is the edge, so it reads the settings itself
    from riskloop.settings import Settings

    return Settings().resolved_database_url


def run_migrations_offline() -> None:
    """Emit SQL to stdout (``alembic upgrade head --sql``) instead of connecting."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_engine(_url(), poolclass=NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            compare_type=True,
            # SQLite cannot ALTER most things in place: batch mode copies the table instead
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
