"""Scheduled releases on SQL: a version's publish deliveries moved or held, in one
transaction, only while none was claimed (service.domain.schedule)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from service.catalog.records import AuditEvent
from service.catalog.sql.tables import DeliveryRow, VersionRow, WithdrawalRow
from service.catalog.sql.unit import UnitOfWork, audit_row, delivery_record
from service.domain.errors import filing_not_found
from service.domain.filing import ARCHIVED_STATUSES, DeliveryAction, DeliveryStatus
from service.domain.schedule import check_movable
from service.domain.withdrawal import filing_withdrawn


class SqlSchedules(UnitOfWork):
    def reschedule(
        self, filing_id: str, version: int, publish_at: datetime | None, event: AuditEvent
    ) -> None:
        now = self._clock()
        with self._transaction() as session:
            row = session.get(VersionRow, (filing_id, version), with_for_update=True)
            if row is None or row.status not in ARCHIVED_STATUSES:
                raise filing_not_found()
            if session.get(WithdrawalRow, filing_id) is not None:
                raise filing_withdrawn(filing_id)
            deliveries = session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.filing_id == filing_id,
                    DeliveryRow.version == version,
                    DeliveryRow.action == DeliveryAction.PUBLISH,
                )
                .with_for_update()
            ).all()
            check_movable([delivery_record(d) for d in deliveries])
            row.publish_at = publish_at
            for d in deliveries:
                d.status = DeliveryStatus.HELD if publish_at is None else DeliveryStatus.PENDING
                d.next_attempt_at = publish_at or d.next_attempt_at
                d.updated_at = now
            session.add(audit_row(event, now))
