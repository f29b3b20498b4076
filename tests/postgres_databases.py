"""The two store backends for tests: SQLite always, PostgreSQL on the server behind
RISKLOOP_TEST_DATABASE_URL.

``.ci/run`` creates one database per CI run and exports its URL. Every test parametrised with
:data:`BACKENDS` (through the ``database_url`` fixture) runs twice; its PostgreSQL run gets a
schema of its own in that database (the URL sets ``search_path``), dropped afterwards, so no test
sees another's rows. Tests that need a database of their own (MLflow runs its own migrations,
Alembic needs an empty database) create one more on the same server with
:func:`throwaway_database`.

Without the variable the PostgreSQL runs skip, as on a laptop without a server — except in CI
(``CI=true``), where a missing URL fails them: a CI run that silently tested SQLite only would
look green while PostgreSQL went untested.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

POSTGRES_URL = os.environ.get("RISKLOOP_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"

MISSING_IN_CI = (
    "CI=true but RISKLOOP_TEST_DATABASE_URL is not set, so the PostgreSQL half of the store"
    " tests cannot run; .ci/run exports it when a server answers on 127.0.0.1:5432"
    " (pg_isready), so start PostgreSQL there or set the variable to an empty database's URL"
)

# Marks for a test (or a whole module) that needs the PostgreSQL server: skipped without one,
# except in CI, where require_postgres() fails it instead.
POSTGRES_MARKS = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL and not IN_CI, reason="RISKLOOP_TEST_DATABASE_URL not set"),
]

BACKENDS = ["sqlite", pytest.param("postgresql", marks=POSTGRES_MARKS)]


def require_postgres() -> str:
    """The server's URL; fails the test (it was not skipped: we are in CI) when it is unset."""
    if not POSTGRES_URL:
        pytest.fail(MISSING_IN_CI)
    return POSTGRES_URL


@contextmanager
def throwaway_database(prefix: str) -> Iterator[str]:
    """Create an empty database, yield its URL, drop it (and its connections) afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server_url = require_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    server = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


@contextmanager
def throwaway_schema(prefix: str = "t") -> Iterator[str]:
    """Create an empty schema in the test database and yield a URL whose connections see only
    it (``options=-csearch_path=…``); drop it afterwards.

    Any engine built from the URL — a store, the monitor, the CLI — lands in the schema, so a
    test needs no engine of its own. A test that leaves a transaction open on the schema makes
    the drop fail after ``lock_timeout`` with PostgreSQL's message, rather than hang.
    """
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    server_url = require_postgres()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(server_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def backend_url(backend: str, folder: Path) -> Iterator[str]:
    """An empty store database on ``backend``: a SQLite file in ``folder`` or a PostgreSQL
    schema of its own."""
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'store.db'}"
        return
    with throwaway_schema() as url:
        yield url


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty store database on each backend (the test runs once per backend)."""
    with backend_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture()
def store(database_url: str) -> Iterator[object]:
    """A :class:`~riskloop.store.PredictionStore` (all tables created) on each backend."""
    from riskloop.store import PredictionStore

    opened = PredictionStore(database_url)
    yield opened
    opened.dispose()
