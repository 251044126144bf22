"""The outbox on SQL: deliveries claimed under leases, journaled, settled."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, exists, func, select, true, update
from sqlalchemy.orm import Session, aliased

from service.catalog.records import AttemptRecord, AuditEvent, DeliveryRecord
from service.catalog.sql.notifications import add_notices
from service.catalog.sql.tables import AttemptRow, DeliveryRow, VersionRow, WithdrawalRow
from service.catalog.sql.unit import UnitOfWork, audit_row, delivery_record, sync_latest
from service.domain.errors import Conflict, NotFound
from service.domain.filing import PUBLISHING_ACTIONS, DeliveryStatus, VersionStatus
from service.domain.notifications import Notice
from service.domain.outbox import settled_status
from service.domain.withdrawal import filing_withdrawn


class SqlOutbox(UnitOfWork):
    def claim_due_deliveries(
        self,
        worker: str,
        limit: int,
        lease: timedelta,
        *,
        exclude: Collection[str] = (),
    ) -> list[DeliveryRecord]:
        """Due: pending, next_attempt_at reached, no live lease, and no earlier version of
        the same filing still pending for the same destination (one at a time, in order).
        Each claim gets its own lease token (`worker:random`): even two threads of one
        worker never both settle a row. `exclude`: rows this worker still has in flight."""
        now = self._clock()
        with self._transaction() as session:
            rows = session.scalars(_due(now, limit, exclude)).all()
            for row in rows:
                row.lease_owner = f"{worker}:{secrets.token_hex(6)}"
                row.lease_expires_at = now + lease
                row.first_attempt_at = row.first_attempt_at or now
                row.updated_at = now
            session.flush()
            return [delivery_record(r) for r in rows]

    def save_delivery_state(
        self, delivery_id: str, lease_token: str, state: dict[str, Any], renew: timedelta
    ) -> bool:
        now = self._clock()
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.lease_owner == lease_token)
                .values(state_json=state, lease_expires_at=now + renew, updated_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish_attempt(
        self,
        delivery_id: str,
        lease_token: str,
        attempt: AttemptRecord,
        *,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        last_error: str | None = None,
        receipt: dict[str, Any] | None = None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        events: Sequence[AuditEvent] = (),
        notices: Sequence[Notice] = (),
    ) -> bool:
        now = self._clock()
        values = _settled_values(status, next_attempt_at, last_error, now)
        if receipt is not None:
            values.update(
                receipt_json=receipt,
                receipt_key=receipt_key,
                receipt_sha256=receipt_sha256,
                delivered_at=now,
            )
        with self._transaction() as session:
            session.add(AttemptRow(delivery_id=delivery_id, **dataclasses.asdict(attempt)))
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.lease_owner == lease_token)
                .values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            settle_version(session, row.filing_id, row.version)
            session.add_all(audit_row(e, now) for e in events)
            add_notices(session, notices, now)
            return True

    def postpone_delivery(self, delivery_id: str, lease_token: str, until: datetime) -> bool:
        never_tried = DeliveryRow.attempts == 0
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.lease_owner == lease_token)
                .values(
                    next_attempt_at=until,
                    lease_owner=None,
                    lease_expires_at=None,
                    first_attempt_at=case((never_tried, None), else_=DeliveryRow.first_attempt_at),
                    updated_at=self._clock(),
                )
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def release_leases(self, worker: str) -> int:
        """Give back every lease `worker` holds (on a clean shutdown), so others take over at once."""
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.lease_owner.startswith(f"{worker}:", autoescape=True))
                .values(lease_owner=None, lease_expires_at=None, updated_at=self._clock())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def requeue_failed_delivery(
        self, filing_id: str, destination: str, event: AuditEvent
    ) -> DeliveryRecord:
        """The newest failed delivery of a filing to a destination back in the outbox, due
        now, with a fresh give-up clock; earlier attempts stay in the log."""
        now = self._clock()
        with self._transaction() as session:
            row = _newest_failed(session, filing_id, destination)
            publishing = row.action in PUBLISHING_ACTIONS
            if publishing and session.get(WithdrawalRow, filing_id) is not None:
                raise filing_withdrawn(filing_id)
            _refuse_if_newer_went(session, row)
            row.status = DeliveryStatus.PENDING
            row.next_attempt_at = now
            row.first_attempt_at = None
            row.last_error = None
            row.updated_at = now
            version = session.get(VersionRow, (row.filing_id, row.version))
            assert version is not None
            if publishing:  # a withdraw job's retry leaves the (withdrawn) version as it is
                version.status = VersionStatus.ARCHIVED
            session.add(audit_row(event, now))
            sync_latest(session, row.filing_id)
            return delivery_record(row)

    def delivered_receipt_before(
        self, filing_id: str, version: int, destination: str
    ) -> dict[str, Any] | None:
        """The receipt of the newest earlier version delivered to `destination` (for corrections)."""
        with self._transaction() as session:
            return session.scalar(
                select(DeliveryRow.receipt_json)
                .where(
                    DeliveryRow.filing_id == filing_id,
                    DeliveryRow.destination == destination,
                    DeliveryRow.version < version,
                    DeliveryRow.status == DeliveryStatus.DELIVERED,
                    DeliveryRow.action.in_(PUBLISHING_ACTIONS),
                )
                .order_by(DeliveryRow.version.desc())
                .limit(1)
            )

    def oldest_due_delivery(self) -> datetime | None:
        now = self._clock()
        with self._transaction() as session:
            found: datetime | None = session.scalar(
                select(func.min(DeliveryRow.next_attempt_at)).where(
                    DeliveryRow.status == DeliveryStatus.PENDING,
                    DeliveryRow.next_attempt_at <= now,
                )
            )
            return found

    def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        with self._transaction() as session:
            stmt = select(func.count()).select_from(DeliveryRow)
            if status is not None:
                stmt = stmt.where(DeliveryRow.status == status)
            return int(session.scalar(stmt) or 0)


def _due(now: datetime, limit: int, exclude: Collection[str]) -> Any:
    earlier = aliased(DeliveryRow)
    return (
        select(DeliveryRow)
        .where(
            DeliveryRow.status == DeliveryStatus.PENDING,
            DeliveryRow.next_attempt_at <= now,
            (DeliveryRow.lease_expires_at.is_(None)) | (DeliveryRow.lease_expires_at < now),
            DeliveryRow.id.notin_(exclude) if exclude else true(),
            ~exists().where(
                and_(
                    earlier.filing_id == DeliveryRow.filing_id,
                    earlier.destination == DeliveryRow.destination,
                    earlier.version < DeliveryRow.version,
                    earlier.status == DeliveryStatus.PENDING,
                )
            ),
        )
        .order_by(DeliveryRow.next_attempt_at)
        .limit(limit)
        .with_for_update(skip_locked=True, of=DeliveryRow)
    )


def _settled_values(
    status: DeliveryStatus, next_attempt_at: datetime | None, last_error: str | None, now: datetime
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "status": status,
        "attempts": DeliveryRow.attempts + 1,
        "lease_owner": None,
        "lease_expires_at": None,
        "last_error": last_error,
        "updated_at": now,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    return values


def settle_version(session: Session, filing_id: str, version: int) -> None:
    """The version's status from its publish deliveries' (service.domain.outbox.settled_status).
    The version is locked first: two deliveries of one version finishing at once would
    otherwise each read the other's old status (READ COMMITTED) and neither settle it.
    A withdrawn version stays withdrawn, whatever a delivery still in flight then did."""
    current = session.scalar(
        select(VersionRow.status)
        .where(VersionRow.filing_id == filing_id, VersionRow.version == version)
        .with_for_update()
    )
    if current == VersionStatus.WITHDRAWN:
        return
    statuses = session.scalars(
        select(DeliveryRow.status).where(
            DeliveryRow.filing_id == filing_id,
            DeliveryRow.version == version,
            DeliveryRow.action.in_(PUBLISHING_ACTIONS),
        )
    )
    new_status = settled_status({DeliveryStatus(s) for s in statuses})
    if new_status is not None:
        session.execute(
            update(VersionRow)
            .where(VersionRow.filing_id == filing_id, VersionRow.version == version)
            .values(status=new_status)
        )
        sync_latest(session, filing_id)


def _newest_failed(session: Session, filing_id: str, destination: str) -> DeliveryRow:
    row = session.scalars(
        select(DeliveryRow)
        .where(
            DeliveryRow.filing_id == filing_id,
            DeliveryRow.destination == destination,
            DeliveryRow.status == DeliveryStatus.FAILED,
        )
        # a failed withdraw job first: it is the one a withdrawn filing may still retry
        .order_by(DeliveryRow.version.desc(), DeliveryRow.action.desc())
        .limit(1)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound(
            "该报送没有投递失败、可重新投递的记录",
            "No failed delivery to that destination to retry",
            code="no_failed_delivery",
        )
    return row


def _refuse_if_newer_went(session: Session, row: DeliveryRow) -> None:
    newer = session.scalar(
        select(DeliveryRow.version).where(
            DeliveryRow.filing_id == row.filing_id,
            DeliveryRow.destination == row.destination,
            DeliveryRow.version > row.version,
            DeliveryRow.status.in_([DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]),
        )
    )
    if newer is not None:
        raise Conflict(
            f"该报送已有更新的第 {newer} 版投递，不能重新投递旧的第 {row.version} 版",
            f"Version {newer} goes (or went) to that destination; version {row.version} "
            "cannot be sent after it",
            code="newer_version_delivered",
        )
