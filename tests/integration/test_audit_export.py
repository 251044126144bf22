"""The daily audit-log export: a Shanghai day's events as one write-once JSON Lines
object in the archive, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Engine

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent
from service.catalog.sql.restore import CatalogRestore
from service.domain.errors import Conflict, InvalidInput
from service.usecases.audit_export import (
    audit_key,
    day_bounds,
    export_audit_day,
    export_pending_days,
    parse_audit_lines,
)
from tests.fakes import InMemoryStore
from tests.support.clock import FakeClock

DAY = date(2024, 1, 12)
START, END = day_bounds(DAY)  # 2024-01-11T16:00Z and 2024-01-12T16:00Z: the day in Shanghai


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def restore(engine: Engine, clock: FakeClock) -> CatalogRestore:
    return CatalogRestore(make_sessions(engine), clock=clock)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


def _event(catalog: Catalog, clock: FakeClock, at: datetime, action: str, **detail: object) -> None:
    clock.now = at
    catalog.audit(
        AuditEvent(
            actor="op",
            role="operator",
            action=action,
            subject="fil_1/v1",
            org_code="11120104MB0000001X",
            source="10.0.0.7",
            request_id="req-1",
            detail=dict(detail),
        )
    )


def _read(store: InMemoryStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def test_a_days_events_are_exported_once_as_json_lines_verified_by_their_sha256(
    catalog: Catalog, restore: CatalogRestore, store: InMemoryStore, clock: FakeClock
) -> None:
    _event(catalog, clock, START - timedelta(seconds=1), "before")
    _event(catalog, clock, START, "first", 报送="法治政府建设情况报告")
    _event(catalog, clock, END - timedelta(microseconds=1), "last", n=2)
    _event(catalog, clock, END, "after")
    now = END + timedelta(minutes=30)

    export = export_audit_day(restore, catalog, store, DAY, now=now)

    assert (export.key, export.events, export.created) == ("audit/2024/01/12.jsonl", 2, True)
    data = _read(store, export.key)
    assert hashlib.sha256(data).hexdigest() == export.sha256
    stored = store.stat(export.key)
    assert stored is not None and stored.sha256 == export.sha256
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["action"] for line in lines] == ["first", "last"]
    assert lines[0]["detail"] == {"报送": "法治政府建设情况报告"}
    assert "法治" in data.decode()  # kept readable, not \\u-escaped
    assert [e.at for e in parse_audit_lines(data)] == [START, END - timedelta(microseconds=1)]
    assert parse_audit_lines(data) == restore.audit_entries(START, END)

    again = export_audit_day(restore, catalog, store, DAY, now=now + timedelta(days=1))

    assert (again.created, again.sha256) == (False, export.sha256)
    assert list(store.list("audit/")) == [export.key]
    exported = [e for e in catalog.audit_events() if e.action == "audit.exported"]
    assert [e.subject for e in exported] == [export.key]  # the export itself is audited, once
    assert exported[0].detail == {"day": "2024-01-12", "events": 2, "sha256": export.sha256}


def test_a_day_not_over_yet_or_before_the_log_begins_is_not_exported(
    catalog: Catalog, restore: CatalogRestore, store: InMemoryStore, clock: FakeClock
) -> None:
    with pytest.raises(InvalidInput) as empty:  # an empty catalog, e.g. before a rebuild
        export_audit_day(restore, catalog, store, DAY, now=END + timedelta(days=1))
    assert empty.value.code == "audit_day_before_log"
    _event(catalog, clock, START + timedelta(hours=1), "first")
    with pytest.raises(InvalidInput) as early:
        export_audit_day(restore, catalog, store, date(2024, 1, 11), now=END + timedelta(days=1))
    assert early.value.code == "audit_day_before_log"
    for now in (START + timedelta(hours=12), END + timedelta(minutes=5)):
        with pytest.raises(InvalidInput) as refused:
            export_audit_day(restore, catalog, store, DAY, now=now)
        assert refused.value.code == "audit_day_not_over"
    assert list(store.list("audit/")) == []


def test_an_exported_day_whose_events_changed_is_reported_and_never_overwritten(
    catalog: Catalog, restore: CatalogRestore, store: InMemoryStore, clock: FakeClock
) -> None:
    _event(catalog, clock, START + timedelta(hours=1), "first")
    now = END + timedelta(hours=1)
    export = export_audit_day(restore, catalog, store, DAY, now=now)
    _event(catalog, clock, START + timedelta(hours=2), "late")

    with pytest.raises(Conflict) as differs:
        export_audit_day(restore, catalog, store, DAY, now=now)

    assert differs.value.code == "audit_export_differs"
    assert differs.value.detail["archived_sha256"] == export.sha256
    assert hashlib.sha256(_read(store, export.key)).hexdigest() == export.sha256


def test_every_finished_day_not_yet_exported_is_caught_up_empty_days_included(
    catalog: Catalog, restore: CatalogRestore, store: InMemoryStore, clock: FakeClock
) -> None:
    assert export_pending_days(restore, catalog, store, now=END) == []  # nothing recorded yet
    _event(catalog, clock, START - timedelta(days=2) + timedelta(hours=3), "on the 10th")
    _event(catalog, clock, START + timedelta(hours=3), "on the 12th")
    clock.now = END + timedelta(minutes=30)  # the exports are audited on the 13th
    export_audit_day(restore, catalog, store, date(2024, 1, 10), now=clock())

    done = export_pending_days(restore, catalog, store, now=clock())

    assert [(e.day, e.events) for e in done] == [(date(2024, 1, 11), 0), (DAY, 1)]
    assert _read(store, audit_key(date(2024, 1, 11))) == b""
    assert export_pending_days(restore, catalog, store, now=END + timedelta(hours=2)) == []
