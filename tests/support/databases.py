"""Catalog databases for tests: a SQLite file, and a throwaway database on the local
PostgreSQL (127.0.0.1:5432, trust auth; CI starts it)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A new, empty database; dropped afterwards. Yields its SQLAlchemy URL."""
    name = f"disclosure_test_{secrets.token_hex(4)}"
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
