"""Reviews on SQL: what a destination still reviews, and what it decided."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from service.catalog.records import AuditEvent, DeliveryRecord
from service.catalog.sql.notifications import add_notices
from service.catalog.sql.tables import DeliveryRow
from service.catalog.sql.unit import UnitOfWork, audit_row, delivery_record
from service.domain.filing import DeliveryStatus, ReviewState
from service.domain.notifications import Notice


class SqlReviews(UnitOfWork):
    def deliveries_awaiting_review(
        self, destination: str, *, checked_before: datetime, limit: int
    ) -> list[DeliveryRecord]:
        """Delivered, not yet accepted or returned, and not polled since `checked_before`."""
        with self._transaction() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.destination == destination,
                    DeliveryRow.status == DeliveryStatus.DELIVERED,
                    DeliveryRow.review_status.is_(None)
                    | (DeliveryRow.review_status == ReviewState.RECEIVED),
                    DeliveryRow.review_checked_at.is_(None)
                    | (DeliveryRow.review_checked_at < checked_before),
                )
                .order_by(DeliveryRow.review_checked_at.asc().nulls_first(), DeliveryRow.id)
                .limit(limit)
            ).all()
            return [delivery_record(r) for r in rows]

    def record_review(
        self,
        delivery_id: str,
        *,
        status: ReviewState,
        reason: str | None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        event: AuditEvent | None = None,
        notices: Sequence[Notice] = (),
    ) -> None:
        now = self._clock()
        values: dict[str, Any] = {
            "review_status": status,
            "review_reason": reason,
            "review_checked_at": now,
            "updated_at": now,
        }
        if receipt_key is not None:
            values.update(review_receipt_key=receipt_key, review_receipt_sha256=receipt_sha256)
        with self._transaction() as session:
            session.execute(
                update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(**values)
            )
            if event is not None:
                session.add(audit_row(event, now))
            add_notices(session, notices, now)
