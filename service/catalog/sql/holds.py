"""Holds on reservations: a version reserved by a request is held for as long as that
request's process lives, so that another request can tell at once whether it died
(and its reservation may be abandoned) or is still archiving (and must be waited for).

    PostgreSQL   a session-level advisory lock, on a connection held for the request:
                 the server drops it when the process (and so its connection) dies;
                 at most POOL_SIZE at once in a process (see `_HOLD_SLOTS`)
    SQLite       an flock on a file in a directory beside the database (SQLite is one
                 machine's): the kernel drops it when the process dies
"""

from __future__ import annotations

import fcntl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from service.catalog.database import POOL_SIZE
from service.catalog.sql.unit import UnitOfWork

_NAMESPACE = 1917  # the first key of every reservation's advisory lock
_LOCK = text("SELECT pg_advisory_lock(:ns, hashtext(:key))")
_TRY = text("SELECT pg_try_advisory_lock(:ns, hashtext(:key))")
_UNLOCK = text("SELECT pg_advisory_unlock(:ns, hashtext(:key))")
# A hold's connection comes from the pool its request's transactions use, and the request
# commits its version while it holds. Were every pooled connection a hold's, each request
# would wait for a second one that none gives back, until the pool's timeout (HTTP 500s
# from 20 concurrent submissions). Holds take at most the pool's steady size, leaving
# the overflow to transactions, which are short and (but for a rare look at a duplicate's
# hold in reserve_version) take one connection each; a request waiting here has none
# (RESERVATION_GRACE covers the wait).
_HOLD_SLOTS = threading.BoundedSemaphore(POOL_SIZE)


class SqlHolds(UnitOfWork):
    @contextmanager
    def hold_reservation(self, filing_id: str, version: int) -> Iterator[None]:
        key = f"{filing_id}/v{version}"
        engine = self._engine()
        if engine.dialect.name == "postgresql":
            with _HOLD_SLOTS, _advisory(engine, key):
                yield
        else:
            with _file_lock(_holds_dir(engine), key):
                yield

    def reservation_held(self, filing_id: str, version: int) -> bool:
        key = f"{filing_id}/v{version}"
        engine = self._engine()
        if engine.dialect.name == "postgresql":
            return _advisory_held(engine, key)
        return _file_held(_holds_dir(engine), key)

    def _engine(self) -> Engine:
        bind: Any = self._sessions.kw["bind"]
        return bind  # type: ignore[no-any-return]


@contextmanager
def _advisory(engine: Engine, key: str) -> Iterator[None]:
    with engine.connect() as connection:
        connection.execute(_LOCK, {"ns": _NAMESPACE, "key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(_UNLOCK, {"ns": _NAMESPACE, "key": key})
            connection.commit()


def _advisory_held(engine: Engine, key: str) -> bool:
    with engine.connect() as connection:
        taken = bool(connection.execute(_TRY, {"ns": _NAMESPACE, "key": key}).scalar())
        if taken:
            connection.execute(_UNLOCK, {"ns": _NAMESPACE, "key": key})
        connection.commit()
        return not taken


_MEMORY_HOLDS: set[str] = set()  # an in-memory SQLite database is one process's
_MEMORY_LOCK = threading.Lock()


def _holds_dir(engine: Engine) -> Path | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return Path(database).with_name(f".{Path(database).stem}-holds")  # var/.catalog-holds/


def _lock_path(directory: Path, key: str) -> Path:
    return directory / (key.replace("/", "-") + ".lock")


@contextmanager
def _file_lock(directory: Path | None, key: str) -> Iterator[None]:
    if directory is None:
        with _MEMORY_LOCK:
            _MEMORY_HOLDS.add(key)
        try:
            yield
        finally:
            with _MEMORY_LOCK:
                _MEMORY_HOLDS.discard(key)
        return
    directory.mkdir(parents=True, exist_ok=True)
    path = _lock_path(directory, key)
    with path.open("ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            path.unlink(missing_ok=True)


def _file_held(directory: Path | None, key: str) -> bool:
    if directory is None:
        with _MEMORY_LOCK:
            return key in _MEMORY_HOLDS
    path = _lock_path(directory, key)
    try:
        lock = path.open("rb")
    except FileNotFoundError:
        return False
    with lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
