"""Captures of published pages in memory (service.catalog.ports.Captures), mixed into
MemoryCatalog: its lock, clock, deliveries, audit log and notifications."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from service.catalog.records import (
    AuditEvent,
    CaptureJob,
    CaptureRecord,
    CaptureResult,
    DeliveryRecord,
)
from service.domain.capture import CaptureStatus
from service.domain.filing import DeliveryAction, DeliveryStatus
from service.domain.notifications import Notice

_KEPT = (
    "next_attempt_at", "captured_at", "http_status", "text_matches", "attachments_match",
    "warc_key", "warc_sha256", "etag", "last_modified", "last_checked_at", "checks", "verdict",
    "rot_kind",
)  # fmt: skip


def new_capture(job: CaptureJob, now: datetime) -> CaptureRecord:
    return CaptureRecord(
        id=f"cap_{uuid.uuid4().hex}", filing_id=job.filing_id, version=job.version,
        destination=job.destination, delivery_id=job.delivery_id, url=job.url,
        status=CaptureStatus.PENDING.value, attempts=0, next_attempt_at=now,
        first_attempt_at=None, lease_owner=None, lease_expires_at=None, last_error=None,
        captured_at=None, http_status=None, text_matches=None, attachments_match=None,
        warc_key=None, warc_sha256=None, etag=None, last_modified=None, last_checked_at=None,
        checks=0, verdict=None, objects={}, created_at=now,
    )  # fmt: skip


def _applied(capture: CaptureRecord, result: CaptureResult) -> CaptureRecord:
    changes = {
        n: getattr(result, n) for n in _KEPT
        if getattr(result, n) is not None or (result.visited and n in result.PER_VISIT)
    }  # fmt: skip
    return dataclasses.replace(
        capture, status=result.status, last_error=result.last_error,
        objects={**capture.objects, **result.objects}, **changes,
    )  # fmt: skip


class MemoryCaptures:
    _clock: Callable[[], datetime]
    _transaction: Callable[[], AbstractContextManager[None]]
    _audit: Callable[[AuditEvent, datetime], None]
    _add_notices: Callable[[Sequence[Notice], datetime], int]
    deliveries: dict[str, DeliveryRecord]

    def __init__(self) -> None:
        self.capture_rows: dict[str, CaptureRecord] = {}  # by delivery id

    def enqueue_captures(self, destinations: Collection[str], limit: int) -> int:
        with self._transaction():
            added = 0
            for d in sorted(self.deliveries.values(), key=lambda d: d.id):
                url = (d.receipt or {}).get("url")
                if (
                    added < limit and d.destination in destinations and isinstance(url, str)
                    and d.status is DeliveryStatus.DELIVERED
                    and d.action is DeliveryAction.PUBLISH and d.id not in self.capture_rows
                ):  # fmt: skip
                    job = CaptureJob(d.filing_id, d.version, d.destination, d.id, url)
                    self.capture_rows[d.id] = new_capture(job, self._clock())
                    added += 1
            return added

    def claim_due_captures(self, worker: str, limit: int, lease: timedelta) -> list[CaptureRecord]:
        now = self._clock()
        with self._transaction():
            due = sorted(
                (c for c in self.capture_rows.values()
                 if c.status in (CaptureStatus.PENDING, CaptureStatus.CAPTURED)
                 and c.next_attempt_at <= now
                 and (c.lease_expires_at is None or c.lease_expires_at <= now)),
                key=lambda c: (c.next_attempt_at, c.id),
            )[:limit]  # fmt: skip
            claimed = [
                dataclasses.replace(
                    c,
                    lease_owner=f"{worker}:{secrets.token_hex(6)}",
                    lease_expires_at=now + lease,
                    first_attempt_at=c.first_attempt_at or now,
                )
                for c in due
            ]
            self.capture_rows.update((c.delivery_id, c) for c in claimed)
            return claimed

    def settle_capture(
        self, capture_id: str, lease_token: str, result: CaptureResult,
        events: Sequence[AuditEvent], notices: Sequence[Notice] = (),
    ) -> bool:  # fmt: skip
        now = self._clock()
        with self._transaction():
            found = next((c for c in self.capture_rows.values() if c.id == capture_id), None)
            if found is None or found.lease_owner != lease_token:
                return False
            self.capture_rows[found.delivery_id] = dataclasses.replace(
                _applied(found, result), attempts=found.attempts + 1, lease_owner=None,
                lease_expires_at=None,
            )  # fmt: skip
            for event in events:
                self._audit(event, now)
            self._add_notices(notices, now)
            return True

    def restore_capture(self, job: CaptureJob, result: CaptureResult) -> None:
        with self._transaction():
            found = self.capture_rows.get(job.delivery_id) or new_capture(job, self._clock())
            self.capture_rows[job.delivery_id] = _applied(found, result)

    def captures(self, filing_id: str) -> list[CaptureRecord]:
        with self._transaction():
            found = [c for c in self.capture_rows.values() if c.filing_id == filing_id]
            return sorted(found, key=lambda c: (c.version, c.destination))

    def captures_of(self, filing_ids: Collection[str]) -> dict[str, list[CaptureRecord]]:
        found = {i: self.captures(i) for i in set(filing_ids)}
        return {i: c for i, c in found.items() if c}
