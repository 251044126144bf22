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
from sqlalchemy import create_engine

from service.catalog.database import alembic_config, head_revision, migrate, schema_version
from service.catalog.sql.tables import Base


def _modelled(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """PostgreSQL's trigram indexes (migration 0004) are that database's alone, on
    purpose: the models describe what both databases have."""
    return not (
        type_ == "index" and reflected and compare_to is None and str(name).endswith("_trgm")
    )


def _differences(url: str) -> list[Any]:
    migrate(url)
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
