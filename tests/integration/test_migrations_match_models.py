"""The migrations build the schema the models describe: a table, column, index or
constraint added to one and not the other (easy when migrations are re-chained after a
merge) is found here, on both databases, not at a customer's upgrade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, create_engine, text

from service.catalog.database import alembic_config, head_revision, migrate, schema_version
from service.catalog.sql.tables import Base


def _modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """PostgreSQL's trigram indexes (migration 0004) are that database's alone, on
    purpose: the models describe what both databases have."""
    return not (
        type_ == "index" and reflected and compare_to is None and str(name).endswith("_trgm")
    )


def _differences(url: str) -> list[Any]:
    command.upgrade(alembic_config(url), "head")  # every migration, as an upgrade runs them
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "include_object": _modelled}
            )
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_the_newest_migration_is_the_schema_of_the_models(database_url: str) -> None:
    assert _differences(database_url) == []


def test_the_head_read_from_the_scripts_is_alembic_s_own() -> None:
    """`migrate` skips Alembic when the schema is at the head it reads from the scripts'
    lines; that reading must name the head Alembic itself would migrate to."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == scripts.get_current_head()


def test_a_catalog_behind_the_head_is_still_migrated(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    command.upgrade(alembic_config(url), "0012_timestamps")
    assert schema_version(url) == "0012_timestamps"
    migrate(url)
    assert schema_version(url) == head_revision()


def _sqlite_schema(url: str) -> dict[str, Any]:
    """Each table's columns, indexes and foreign keys as SQLite itself reports them."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            names = connection.execute(
                text("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            ).scalars()
            return {name: _table(connection, name) for name in list(names)}
    finally:
        engine.dispose()


def _table(connection: Connection, name: str) -> dict[str, Any]:
    def pragma(what: str, of: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in connection.execute(text(f'PRAGMA {what}("{of}")'))]

    indexes = {
        row[1]: (row[2], row[3], row[4], [(r[0], r[2]) for r in pragma("index_info", row[1])])
        for row in pragma("index_list", name)
        if not str(row[1]).startswith("sqlite_autoindex")
    }
    columns = sorted((r[1], r[2].upper(), r[3], r[4], r[5]) for r in pragma("table_info", name))
    foreign_keys = sorted(r[2:] for r in pragma("foreign_key_list", name))
    return {"columns": columns, "indexes": indexes, "foreign_keys": foreign_keys}


def test_a_new_sqlite_catalog_made_at_once_has_the_schema_the_migrations_build(
    tmp_path: Path,
) -> None:
    migrated = f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    command.upgrade(alembic_config(migrated), "head")
    made = f"sqlite:///{tmp_path / 'made.sqlite3'}"
    migrate(made)  # new and empty: made from the models in one step

    assert schema_version(made) == schema_version(migrated) == head_revision()
    assert _sqlite_schema(made) == _sqlite_schema(migrated)
