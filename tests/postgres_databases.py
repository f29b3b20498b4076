"""Throw-away PostgreSQL databases on the server behind RISKLOOP_TEST_DATABASE_URL.

``.ci/run`` creates one database per CI run and exports its URL; tests that need a database of
their own (MLflow runs its own migrations, Alembic needs an empty database) create one more on
the same server and drop it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES_URL = os.environ.get("RISKLOOP_TEST_DATABASE_URL")


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (and its connections) afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    assert POSTGRES_URL, "RISKLOOP_TEST_DATABASE_URL is not set"
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()
