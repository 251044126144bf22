"""Opening the SQL catalog at a URL: its schema migrated, its ports, and how to close it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from service.catalog.database import make_engine, make_sessions, migrate
from service.catalog.sql.catalog import SqlCatalog
from service.catalog.sql.restore import CatalogRestore


@dataclass(frozen=True)
class OpenCatalog:
    catalog: SqlCatalog
    restore: CatalogRestore
    engine: Engine

    def close(self) -> None:
        self.engine.dispose()


def open_catalog(url: str, *, clock: Callable[[], datetime]) -> OpenCatalog:
    """The catalog at `url` (SQLite or PostgreSQL), brought to the newest schema first."""
    migrate(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    return OpenCatalog(
        SqlCatalog(sessions, clock=clock), CatalogRestore(sessions, clock=clock), engine
    )
