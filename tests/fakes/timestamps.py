"""The outbox of stamp jobs in memory (service.catalog.ports.Timestamps), mixed into
MemoryCatalog: its lock, clock and audit log."""

from __future__ import annotations

import dataclasses
import secrets
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta

from service.catalog.records import AuditEvent, StampJob, StampResult, TimestampRecord
from service.domain.proof import StampStatus


def new_stamp(job: StampJob, now: datetime) -> TimestampRecord:
    return TimestampRecord(
        id=f"tsp_{uuid.uuid4().hex}", filing_id=job.filing_id, version=job.version,
        stamped_key=job.stamped_key, status=StampStatus.PENDING.value, attempts=0,
        next_attempt_at=now, first_attempt_at=None, lease_owner=None, lease_expires_at=None,
        last_error=None, tsa=None, token_key=None, token_sha256=None, gen_time=None,
        serial_number=None, created_at=now,
    )  # fmt: skip


def _applied(stamp: TimestampRecord, result: StampResult) -> TimestampRecord:
    changes = {
        name: getattr(result, name)
        for name in (
            "next_attempt_at",
            "tsa",
            "token_key",
            "token_sha256",
            "gen_time",
            "serial_number",
        )
        if getattr(result, name) is not None
    }
    return dataclasses.replace(stamp, status=result.status, last_error=result.last_error, **changes)


class MemoryTimestamps:
    _clock: Callable[[], datetime]
    _transaction: Callable[[], AbstractContextManager[None]]
    _audit: Callable[[AuditEvent, datetime], None]

    def __init__(self) -> None:
        self.stamps: dict[str, TimestampRecord] = {}  # by stamped_key

    def add_stamps(self, jobs: Sequence[StampJob], now: datetime) -> int:
        new = [job for job in jobs if job.stamped_key not in self.stamps]
        self.stamps.update((job.stamped_key, new_stamp(job, now)) for job in new)
        return len(new)

    def enqueue_stamps(self, jobs: Sequence[StampJob]) -> int:
        with self._transaction():
            return self.add_stamps(jobs, self._clock())

    def claim_due_stamps(self, worker: str, limit: int, lease: timedelta) -> list[TimestampRecord]:
        now = self._clock()
        with self._transaction():
            due = sorted(
                (s for s in self.stamps.values() if s.status == StampStatus.PENDING
                 and s.next_attempt_at <= now
                 and (s.lease_expires_at is None or s.lease_expires_at <= now)),
                key=lambda s: (s.next_attempt_at, s.id),
            )[:limit]  # fmt: skip
            claimed = [
                dataclasses.replace(
                    s,
                    lease_owner=f"{worker}:{secrets.token_hex(6)}",
                    lease_expires_at=now + lease,
                    first_attempt_at=s.first_attempt_at or now,
                )
                for s in due
            ]
            self.stamps.update((s.stamped_key, s) for s in claimed)
            return claimed

    def settle_stamp(
        self, stamp_id: str, lease_token: str, result: StampResult, event: AuditEvent
    ) -> bool:
        with self._transaction():
            found = next((s for s in self.stamps.values() if s.id == stamp_id), None)
            if found is None or found.lease_owner != lease_token:
                return False
            settled = dataclasses.replace(
                _applied(found, result), attempts=found.attempts + 1, lease_owner=None,
                lease_expires_at=None,
            )  # fmt: skip
            self.stamps[found.stamped_key] = settled
            self._audit(event, self._clock())
            return True

    def restore_stamp(self, job: StampJob, result: StampResult) -> None:
        with self._transaction():
            found = self.stamps.get(job.stamped_key) or new_stamp(job, self._clock())
            self.stamps[job.stamped_key] = _applied(found, result)

    def timestamps(self, filing_id: str) -> list[TimestampRecord]:
        with self._transaction():
            found = [s for s in self.stamps.values() if s.filing_id == filing_id]
            return sorted(found, key=lambda s: (s.version, s.stamped_key))
