"""The daily audit-log export (DESIGN.md invariant 8): one day's audit events, a day
in Asia/Shanghai, as a write-once JSON Lines object in the archive store, from which
`rebuild-catalog` restores the audit log.

    audit/{YYYY}/{MM}/{DD}.jsonl     one event a line, in the order recorded:
        {"action":…,"actor":…,"at":"2024-01-12T01:00:00+00:00","detail":{…},"org_code":…,
         "request_id":…,"role":…,"source":…,"subject":…}

    export_audit_day(restore, catalog, store, day, now=…)   one day; idempotent
    export_pending_days(restore, catalog, store, now=…)     every closed day not yet exported

A day is exported once it is over and `SETTLE` has passed (an event is stamped when
its transaction starts, so one stamped 23:59:59 may commit just after midnight). A day
without events is exported too, as an empty object: it says the day was exported.
Lines are canonical (sorted keys, UTC times), so exporting a day again from the same
events, or from a catalog rebuilt out of this very object, yields the same bytes: the
stored object is then accepted as it is. When the catalog holds other events for an
exported day, the object stands (the archive is write-once) and `Conflict` says so.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from service.archive.fixity import hash_stream
from service.archive.port import ArchiveStore
from service.catalog.ports import AuditLog, Restore
from service.catalog.records import AuditEntry, AuditEvent
from service.domain.errors import AlreadyExists, Conflict, DamagedArchive, InvalidInput
from service.domain.time import SHANGHAI

AUDIT_PREFIX = "audit/"
SETTLE = timedelta(minutes=10)
MEDIA_TYPE = "application/jsonl"
_AUDIT_KEY = re.compile(r"audit/(\d{4})/(\d{2})/(\d{2})\.jsonl\Z")


@dataclass(frozen=True)
class AuditExport:
    day: date
    key: str
    events: int
    sha256: str
    created: bool  # False: the day was already exported with exactly these events


# -- the format ---------------------------------------------------------------------


def audit_key(day: date) -> str:
    return f"{AUDIT_PREFIX}{day:%Y/%m/%d}.jsonl"


def day_of_key(key: str) -> date | None:
    """The day an export object holds, or None when `key` names no export object."""
    match = _AUDIT_KEY.match(key)
    if match is None:
        return None
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        return None


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day's first instant and the next day's, in UTC."""
    start = datetime.combine(day, time(), SHANGHAI)
    end = datetime.combine(day + timedelta(days=1), time(), SHANGHAI)
    return start.astimezone(UTC), end.astimezone(UTC)


def audit_lines(entries: Iterable[AuditEntry]) -> bytes:
    return b"".join(_line(e).encode() for e in entries)


def _line(entry: AuditEntry) -> str:
    event = entry.event
    document: dict[str, Any] = {
        "at": entry.at.astimezone(UTC).isoformat(),
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "subject": event.subject,
        "org_code": event.org_code,
        "source": event.source,
        "request_id": event.request_id,
        "detail": event.detail,
    }
    text = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return text + "\n"


def parse_audit_lines(data: bytes) -> list[AuditEntry]:
    """The events of an export object; `ValueError` when a line is not one."""
    entries = []
    for number, line in enumerate(data.decode("utf-8").split("\n"), start=1):
        if not line:
            continue
        try:
            entries.append(_entry(json.loads(line)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"line {number} is not an audit event: {exc}") from None
    return entries


def _entry(document: dict[str, Any]) -> AuditEntry:
    at = datetime.fromisoformat(document["at"])
    if at.tzinfo is None:
        raise ValueError("time without a zone")
    event = AuditEvent(
        actor=document["actor"],
        role=document["role"],
        action=document["action"],
        subject=document["subject"],
        org_code=document["org_code"],
        source=document["source"],
        request_id=document["request_id"],
        detail=dict(document["detail"]),
    )
    return AuditEntry(at, event)


# -- exporting ---------------------------------------------------------------------


def last_closed_day(now: datetime, settle: timedelta = SETTLE) -> date:
    """The latest day whose export may be written at `now`."""
    return (now - settle).astimezone(SHANGHAI).date() - timedelta(days=1)


def export_audit_day(
    restore: Restore,
    catalog: AuditLog,
    store: ArchiveStore,
    day: date,
    *,
    now: datetime,
    actor: str = "cli",
    settle: timedelta = SETTLE,
) -> AuditExport:
    """Write the day's events as `audit/{YYYY}/{MM}/{DD}.jsonl`, unless that object
    already holds exactly them. `InvalidInput` for a day not yet over, or before the
    first recorded event (an empty catalog must not declare lost days empty, for ever);
    `Conflict` when the stored object holds other events."""
    if day > last_closed_day(now, settle):
        raise InvalidInput(
            f"{day} 尚未结束（上海时间，另需等待 {settle}），不能导出",
            f"{day} is not over yet (Asia/Shanghai, plus {settle}); it cannot be exported",
            code="audit_day_not_over",
        )
    first = restore.first_audit_at()
    if first is None or day < first.astimezone(SHANGHAI).date():
        raise InvalidInput(
            f"目录中没有 {day} 及以前的审计事件；导出的空对象将永远无法更正，故不导出",
            f"The catalog holds no audit events on or before {day}; an empty export "
            "could never be corrected, so none is written",
            code="audit_day_before_log",
        )
    entries = restore.audit_entries(*day_bounds(day))
    data = audit_lines(entries)
    sha256 = hashlib.sha256(data).hexdigest()
    key = audit_key(day)
    try:
        store.put_new(key, io.BytesIO(data), content_type=MEDIA_TYPE)
    except AlreadyExists:
        _require_same(store, key, sha256, len(entries))
        return AuditExport(day, key, len(entries), sha256, created=False)
    _verify_written(store, key, sha256)
    catalog.audit(
        AuditEvent(
            actor=actor,
            role="system",
            action="audit.exported",
            subject=key,
            detail={"day": day.isoformat(), "events": len(entries), "sha256": sha256},
        )
    )
    return AuditExport(day, key, len(entries), sha256, created=True)


def export_pending_days(
    restore: Restore,
    catalog: AuditLog,
    store: ArchiveStore,
    *,
    now: datetime,
    actor: str = "cli",
    settle: timedelta = SETTLE,
) -> list[AuditExport]:
    """Export every closed day, from the first recorded event on, that has no export
    object yet (so a missed night is caught up the next)."""
    first = restore.first_audit_at()
    if first is None:
        return []
    day, last = first.astimezone(SHANGHAI).date(), last_closed_day(now, settle)
    done = []
    while day <= last:
        if store.stat(audit_key(day)) is None:
            done.append(
                export_audit_day(restore, catalog, store, day, now=now, actor=actor, settle=settle)
            )
        day += timedelta(days=1)
    return done


def _require_same(store: ArchiveStore, key: str, sha256: str, events: int) -> None:
    stored = store.stat(key)
    if stored is not None and stored.sha256 == sha256:
        return
    raise Conflict(
        f"{key} 已导出，但目录中该日的审计事件与已归档的不同；已归档的对象不会被覆盖",
        f"{key} was exported before, but the catalog now holds other events for that day; "
        "the archived object stands",
        code="audit_export_differs",
        detail={
            "key": key,
            "archived_sha256": stored.sha256 if stored else None,
            "catalog_sha256": sha256,
            "catalog_events": events,
        },
    )


def _verify_written(store: ArchiveStore, key: str, sha256: str) -> None:
    """Read the object back: what the archive holds must hash as what was written."""
    with store.open(key) as stream:
        found = hash_stream(stream)[0]
    stored = store.stat(key)
    recorded = stored.sha256 if stored else None
    if found != sha256 or recorded != sha256:
        raise DamagedArchive(detail={"key": key, "expected": sha256, "found": found})
