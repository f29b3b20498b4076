"""Schema migrations (Alembic): an empty database upgraded to head has exactly the tables and
columns of riskloop.store's ``metadata`` — so a change to the store without a migration fails
here — on SQLite and, when RISKLOOP_TEST_DATABASE_URL is set, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, inspect, text

from riskloop.store import PredictionStore
from riskloop.store.migrations import (
    SchemaMismatchError,
    current_revision,
    schema_diff,
    upgrade,
)
from riskloop.store.predictions import metadata
from tests.postgres_databases import BACKENDS, throwaway_database
from tests.store.records import logged


@pytest.fixture(params=BACKENDS)
def empty_database(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    with throwaway_database("riskloop_migrations") as url:
        yield url


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _diff(url: str) -> list:
    engine = create_engine(url)
    try:
        return schema_diff(engine)
    finally:
        engine.dispose()


def test_an_empty_database_upgraded_to_head_matches_the_code(empty_database):
    assert current_revision(empty_database) is None
    head = upgrade(empty_database)
    assert head is not None and current_revision(empty_database) == head
    assert _tables(empty_database) == set(metadata.tables) | {"alembic_version"}
    # Alembic's autogenerate comparison: no table, column, type, index or key differs
    assert _diff(empty_database) == []
    # and the store works on the migrated schema (labels reference predictions)
    store = PredictionStore(empty_database)
    store.append([logged("a")])
    store.add_label("a", 1, datetime(2026, 11, 22, tzinfo=UTC))
    assert store.count() == 1 and store.get_label("a")["outcome"] == 1
    store.dispose()
    # upgrading again is a no-op
    assert upgrade(empty_database) == head


def test_the_comparison_notices_a_schema_that_drifted_from_the_code(empty_database):
    upgrade(empty_database)
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(text("ALTER TABLE predictions ADD COLUMN forgotten_in_a_migration INT"))
    differences = schema_diff(engine)
    engine.dispose()
    assert [d[0] for d in differences] == ["remove_column"]
    assert differences[0][3].name == "forgotten_in_a_migration"


def test_downgrade_to_base_and_back_round_trips(empty_database):
    from alembic import command

    from riskloop.store.migrations import alembic_config

    head = upgrade(empty_database)
    command.downgrade(alembic_config(empty_database), "base")
    assert _tables(empty_database) == {"alembic_version"}
    assert upgrade(empty_database) == head and _diff(empty_database) == []


def test_a_database_made_by_create_all_is_adopted_without_losing_rows(empty_database):
    store = PredictionStore(empty_database)  # what `riskloop serve` did before migrations
    store.append([logged("kept")])
    store.dispose()
    assert current_revision(empty_database) is None
    head = upgrade(empty_database)
    assert current_revision(empty_database) == head
    store = PredictionStore(empty_database)
    assert store.get("kept")["inputs"] == {"Age": 30}
    store.dispose()


def test_an_unknown_schema_is_refused_with_an_explanation(empty_database):
    engine = create_engine(empty_database)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE predictions (id INTEGER PRIMARY KEY, other TEXT)"))
    engine.dispose()
    with pytest.raises(SchemaMismatchError, match="not created by a migration"):
        upgrade(empty_database)
    assert current_revision(empty_database) is None  # nothing was stamped


def test_riskloop_db_upgrade_command(tmp_path):
    from typer.testing import CliRunner

    from riskloop.cli import app

    url = f"sqlite:///{tmp_path / 'nested' / 'store.db'}"
    result = CliRunner().invoke(app, ["db", "upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    head = current_revision(url)
    assert f"revision {head}" in result.output
    assert CliRunner().invoke(app, ["db", "current", "--url", url]).output.strip() == head
