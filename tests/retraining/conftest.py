"""Retraining tests that read the store run on SQLite and PostgreSQL
(see tests/postgres_databases.py)."""

from tests.postgres_databases import database_url

__all__ = ["database_url"]
