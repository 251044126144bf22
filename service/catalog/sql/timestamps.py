"""The outbox of stamp jobs on SQL: queued once per archived file, claimed under a
lease, settled with what the token says."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.catalog.records import AuditEvent, StampJob, StampResult, TimestampRecord
from service.catalog.sql.leases import claim_due
from service.catalog.sql.tables import TimestampRow
from service.catalog.sql.unit import UnitOfWork, audit_row, record
from service.domain.proof import StampStatus


def stamp_row(job: StampJob, now: datetime) -> TimestampRow:
    return TimestampRow(
        id=f"tsp_{uuid.uuid4().hex}",
        filing_id=job.filing_id,
        version=job.version,
        stamped_key=job.stamped_key,
        status=StampStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _result_values(result: StampResult) -> dict[str, object]:
    values: dict[str, object] = {"status": result.status, "last_error": result.last_error}
    if result.next_attempt_at is not None:
        values["next_attempt_at"] = result.next_attempt_at
    for name in ("tsa", "token_key", "token_sha256", "gen_time", "serial_number"):
        if getattr(result, name) is not None:
            values[name] = getattr(result, name)
    return values


def _existing(session: Session, key: str) -> TimestampRow | None:
    return session.scalars(select(TimestampRow).where(TimestampRow.stamped_key == key)).first()


class SqlTimestamps(UnitOfWork):
    def enqueue_stamps(self, jobs: Sequence[StampJob]) -> int:
        now, added = self._clock(), 0
        with self._transaction() as session:
            for job in jobs:
                if _existing(session, job.stamped_key) is None:
                    session.add(stamp_row(job, now))
                    added += 1
        return added

    def claim_due_stamps(self, worker: str, limit: int, lease: timedelta) -> list[TimestampRecord]:
        now = self._clock()
        with self._transaction() as session:
            rows = claim_due(
                session,
                TimestampRow,
                StampStatus.PENDING.value,
                worker=worker,
                limit=limit,
                lease=lease,
                now=now,
            )
            return [record(TimestampRecord, r) for r in rows]

    def settle_stamp(
        self, stamp_id: str, lease_token: str, result: StampResult, event: AuditEvent
    ) -> bool:
        now = self._clock()
        with self._transaction() as session:
            changed = session.execute(
                update(TimestampRow)
                .where(TimestampRow.id == stamp_id, TimestampRow.lease_owner == lease_token)
                .values(
                    attempts=TimestampRow.attempts + 1,
                    lease_owner=None,
                    lease_expires_at=None,
                    **_result_values(result),
                )
            )
            if not changed.rowcount:  # type: ignore[attr-defined]
                return False
            session.add(audit_row(event, now))
            return True

    def restore_stamp(self, job: StampJob, result: StampResult) -> None:
        now = self._clock()
        with self._transaction() as session:
            row = _existing(session, job.stamped_key)
            if row is None:
                row = stamp_row(job, now)
                session.add(row)
            for name, value in _result_values(result).items():
                setattr(row, name, value)

    def timestamps(self, filing_id: str) -> list[TimestampRecord]:
        with self._transaction() as session:
            query = (
                select(TimestampRow)
                .where(TimestampRow.filing_id == filing_id)
                .order_by(TimestampRow.version, TimestampRow.stamped_key)
            )
            return [record(TimestampRecord, r) for r in session.scalars(query)]
