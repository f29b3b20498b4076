"""The store's schema lives in one module: the store modules import their tables from
``riskloop.store.tables`` and never each other in a circle; the schema is changed by the
migrations alone (the store creates missing tables, it never alters existing ones)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

import riskloop.store
from riskloop.store import PredictionStore
from riskloop.store.migrations import SchemaMismatchError, upgrade
from riskloop.store.tables import metadata

STORE = Path(riskloop.store.__file__).parent


def _store_imports(path: Path) -> set[str]:
    """The riskloop.store modules ``path`` imports, at the top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("riskloop.store.")
        ):
            found.add(node.module.removeprefix("riskloop.store.").split(".")[0])
    return found


def test_the_store_modules_import_each_other_without_a_cycle():
    graph = {p.stem: _store_imports(p) for p in STORE.glob("*.py") if p.stem != "__init__"}

    def reaches(start: str, target: str, seen: frozenset[str] = frozenset()) -> bool:
        return any(
            n == target or (n not in seen and reaches(n, target, seen | {n}))
            for n in graph.get(start, ())
        )

    assert [m for m in graph if reaches(m, m)] == []
    assert graph["tables"] == set(), "the schema module imports no store"


def test_every_table_is_defined_on_the_one_metadata():
    assert set(metadata.tables) == {
        "predictions",
        "labels",
        "monitor_results",
        "audit_events",
        "quarantined_batches",
        "shadow_predictions",
        "api_keys",
        "erased_decisions",
    }


def test_the_store_never_alters_an_older_schema(tmp_path):
    """A log from before the ``reasons`` column: the store leaves it as it is, and the
    migration step refuses with an explanation instead of guessing."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "CREATE TABLE predictions (id INTEGER PRIMARY KEY, application_id VARCHAR(64),"
                " received_at DATETIME, model_name VARCHAR(200), model_version VARCHAR(32),"
                " inputs JSON, probability FLOAT, decision VARCHAR(16), threshold FLOAT)"
            )
        )
    PredictionStore(url, engine=engine).dispose()
    columns = {c["name"] for c in inspect(create_engine(url)).get_columns("predictions")}
    assert "reasons" not in columns and "explanation" not in columns
    # the tables that were missing are created whole
    assert set(inspect(create_engine(url)).get_table_names()) == set(metadata.tables)
    with pytest.raises(SchemaMismatchError, match="not created by a migration"):
        upgrade(url)
