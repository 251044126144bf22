"""Captures of published pages on SQL: queued once per delivery that reported a public
URL, claimed under a lease (first capture, then each re-check), settled with what the
fetch found."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import Select, select, tuple_, update
from sqlalchemy.orm import Session

from service.catalog.records import AuditEvent, CaptureJob, CaptureRecord, CaptureResult
from service.catalog.sql.leases import claim_due
from service.catalog.sql.notifications import add_notices
from service.catalog.sql.tables import CaptureRow, DeliveryRow
from service.catalog.sql.unit import UnitOfWork, audit_row, record
from service.domain.capture import CaptureStatus
from service.domain.filing import DeliveryAction, DeliveryStatus
from service.domain.notifications import Notice

_SETTLED = (
    "status", "last_error", "captured_at", "http_status", "text_matches", "attachments_match",
    "warc_key", "warc_sha256", "etag", "last_modified", "last_checked_at", "checks", "verdict",
    "rot_kind",
)  # fmt: skip


def capture_row(job: CaptureJob, now: datetime) -> CaptureRow:
    return CaptureRow(
        id=f"cap_{uuid.uuid4().hex}", filing_id=job.filing_id, version=job.version,
        destination=job.destination, delivery_id=job.delivery_id, url=job.url,
        status=CaptureStatus.PENDING.value, attempts=0, next_attempt_at=now, checks=0,
        objects={}, created_at=now,
    )  # fmt: skip


def _apply(row: CaptureRow, result: CaptureResult) -> None:
    row.status, row.last_error = result.status, result.last_error
    if result.next_attempt_at is not None:
        row.next_attempt_at = result.next_attempt_at
    for name in _SETTLED[2:]:
        if getattr(result, name) is not None or (result.visited and name in result.PER_VISIT):
            setattr(row, name, getattr(result, name))
    row.objects = {**(row.objects or {}), **result.objects}


# Each tick asks for new captures. The first ask of a process reads every delivered
# publication without a capture; once an ask has seen them all, the next ones read only
# those delivered since it began, less this margin (a delivery committed late, another
# host's clock), from the (status, delivered_at) index: a tick then costs what the last
# hour delivered, not every delivery ever made.
# Every FULL_SCAN, a whole scan again: a delivery that reaches the catalog with an older
# delivered_at than the margin allows (restored by rebuild-catalog while this process
# runs, a clock set wrong by more than RESCAN) is still queued, only later.
RESCAN = timedelta(hours=1)
FULL_SCAN = timedelta(hours=6)
_PAGE = 100


class SqlCaptures(UnitOfWork):
    _captures_scanned_from: datetime | None = None
    _captures_fully_scanned_at: datetime | None = None  # None: scan every delivery now

    def enqueue_captures(self, destinations: Collection[str], limit: int) -> int:
        now = self._clock()
        full = self._captures_fully_scanned_at
        since = None if full is None or now - full >= FULL_SCAN else self._captures_scanned_from
        with self._transaction() as session:
            added, complete = _enqueue(session, list(destinations), limit, since, now)
        if complete:
            self._captures_scanned_from = now - RESCAN
            if since is None:
                self._captures_fully_scanned_at = now
        return added

    def claim_due_captures(self, worker: str, limit: int, lease: timedelta) -> list[CaptureRecord]:
        now = self._clock()
        due = [CaptureStatus.PENDING.value, CaptureStatus.CAPTURED.value]
        with self._transaction() as session:
            rows = claim_due(
                session, CaptureRow, due, worker=worker, limit=limit, lease=lease, now=now
            )
            return [record(CaptureRecord, r) for r in rows]

    def settle_capture(
        self, capture_id: str, lease_token: str, result: CaptureResult,
        events: Sequence[AuditEvent], notices: Sequence[Notice] = (),
    ) -> bool:  # fmt: skip
        now = self._clock()
        with self._transaction() as session:
            row = session.get(CaptureRow, capture_id)
            if row is None or row.lease_owner != lease_token:
                return False
            changed = session.execute(
                update(CaptureRow)
                .where(CaptureRow.id == capture_id, CaptureRow.lease_owner == lease_token)
                .values(attempts=CaptureRow.attempts + 1, lease_owner=None, lease_expires_at=None)
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                return False
            session.refresh(row)
            _apply(row, result)
            session.add_all(audit_row(e, now) for e in events)
            add_notices(session, notices, now)
            return True

    def restore_capture(self, job: CaptureJob, result: CaptureResult) -> None:
        now = self._clock()
        with self._transaction() as session:
            row = _existing(session, job.delivery_id)
            if row is None:
                row = capture_row(job, now)
                session.add(row)
            _apply(row, result)

    def captures(self, filing_id: str) -> list[CaptureRecord]:
        with self._transaction() as session:
            query = (
                select(CaptureRow)
                .where(CaptureRow.filing_id == filing_id)
                .order_by(CaptureRow.version, CaptureRow.destination)
            )
            return [record(CaptureRecord, r) for r in session.scalars(query)]

    def captures_of(self, filing_ids: Collection[str]) -> dict[str, list[CaptureRecord]]:
        found: dict[str, list[CaptureRecord]] = {}
        if not filing_ids:
            return found
        with self._transaction() as session:
            query = (
                select(CaptureRow)
                .where(CaptureRow.filing_id.in_(list(filing_ids)))
                .order_by(CaptureRow.filing_id, CaptureRow.version, CaptureRow.destination)
            )
            for row in session.scalars(query):
                found.setdefault(row.filing_id, []).append(record(CaptureRecord, row))
        return found


def _enqueue(
    session: Session, destinations: list[str], limit: int, since: datetime | None, now: datetime
) -> tuple[int, bool]:
    """Queue up to `limit` captures, a page of deliveries at a time (a receipt without a
    URL never gets a capture: it must not stop the scan); how many, and whether every
    delivery since `since` was seen."""
    added, after = 0, None
    while added < limit:
        page = session.scalars(_uncaptured(destinations, since, after)).all()
        for d in page:
            url = (d.receipt_json or {}).get("url")
            if isinstance(url, str) and url and added < limit:
                job = CaptureJob(d.filing_id, d.version, d.destination, d.id, url)
                session.add(capture_row(job, now))
                added += 1
        if len(page) < _PAGE:
            return added, added < limit
        after = (page[-1].delivered_at, page[-1].id)
    return added, False


def _uncaptured(
    destinations: list[str], since: datetime | None, after: tuple[datetime | None, str] | None
) -> Select[DeliveryRow]:
    query = select(DeliveryRow).where(
        DeliveryRow.status == DeliveryStatus.DELIVERED.value,
        DeliveryRow.destination.in_(destinations),
        DeliveryRow.action == DeliveryAction.PUBLISH.value,
        DeliveryRow.receipt_json.is_not(None),
        DeliveryRow.id.not_in(select(CaptureRow.delivery_id)),
    )
    if since is not None:
        query = query.where(DeliveryRow.delivered_at >= since)
    if after is not None:
        query = query.where(tuple_(DeliveryRow.delivered_at, DeliveryRow.id) > after)
    return query.order_by(DeliveryRow.delivered_at, DeliveryRow.id).limit(_PAGE)


def _existing(session: Session, delivery_id: str) -> CaptureRow | None:
    return session.scalars(select(CaptureRow).where(CaptureRow.delivery_id == delivery_id)).first()
