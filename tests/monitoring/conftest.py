"""The monitor's tests that read and write the store run on SQLite and PostgreSQL
(see tests/postgres_databases.py)."""

from tests.postgres_databases import database_url, store

__all__ = ["database_url", "store"]
