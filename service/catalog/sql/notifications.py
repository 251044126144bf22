"""The outbox of notifications on SQL: queued once per (event, channel, recipient),
claimed under a lease, settled."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Executable, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.catalog.records import AuditEvent, NotificationRecord
from service.catalog.sql.leases import claim_due
from service.catalog.sql.tables import NotificationRow
from service.catalog.sql.unit import UnitOfWork, audit_row, record
from service.domain.notifications import Channel, Notice, NoticeKind, NotificationStatus

# The table, not the mapped class: an ORM-enabled INSERT reports no row count.
NOTIFICATIONS = cast(Table, NotificationRow.__table__)


def add_notices(session: Session, notices: Sequence[Notice], now: datetime) -> int:
    """Insert the notices not queued before, in the caller's transaction. ON CONFLICT DO
    NOTHING rather than a look first: two processes raising one event at once must not
    fail the state change that raised it."""
    added = 0
    for notice in notices:
        result = session.connection().execute(_insert_ignoring_repeats(session, notice, now))
        # psycopg reports -1 rows for an INSERT … ON CONFLICT: there it RETURNs the id
        added += len(result.all()) if result.returns_rows else result.rowcount
    return added


def _insert_ignoring_repeats(session: Session, notice: Notice, now: datetime) -> Executable:
    values = _values(notice, now)
    unique = ["event_id", "channel", "recipient"]
    if session.get_bind().dialect.name == "postgresql":
        return (
            postgresql.insert(NotificationRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=unique)
            .returning(NOTIFICATIONS.c.id)
        )
    return (
        sqlite.insert(NOTIFICATIONS).values(**values).on_conflict_do_nothing(index_elements=unique)
    )


def _values(notice: Notice, now: datetime) -> dict[str, Any]:
    event = notice.event
    return {
        "id": f"ntf_{uuid.uuid4().hex}",
        "event_id": event.event_id,
        "kind": event.kind.value,
        "subject": event.subject,
        "filing_id": event.filing_id,
        "org_code": event.org_code,
        "occurred_at": event.occurred_at,
        "detail": dict(event.detail),
        "channel": notice.channel.value,
        "recipient": notice.recipient,
        "status": NotificationStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
    }


def notification_record(row: NotificationRow) -> NotificationRecord:
    return record(
        NotificationRecord,
        row,
        kind=NoticeKind(row.kind),
        channel=Channel(row.channel),
        status=NotificationStatus(row.status),
        detail=dict(row.detail or {}),
    )


class SqlNotifications(UnitOfWork):
    def enqueue_notifications(self, notices: Sequence[Notice]) -> int:
        with self._transaction() as session:
            return add_notices(session, notices, self._clock())

    def claim_due_notifications(
        self, worker: str, limit: int, lease: timedelta
    ) -> list[NotificationRecord]:
        now = self._clock()
        with self._transaction() as session:
            rows = claim_due(
                session,
                NotificationRow,
                NotificationStatus.PENDING.value,
                worker=worker,
                limit=limit,
                lease=lease,
                now=now,
            )
            return [notification_record(r) for r in rows]

    def settle_notification(
        self,
        notification_id: str,
        lease_token: str,
        *,
        status: NotificationStatus,
        next_attempt_at: datetime | None,
        last_error: str | None = None,
        event: AuditEvent | None = None,
    ) -> bool:
        now = self._clock()
        with self._transaction() as session:
            result = session.execute(
                update(NotificationRow)
                .where(
                    NotificationRow.id == notification_id,
                    NotificationRow.lease_owner == lease_token,
                )
                .values(
                    status=status.value,
                    attempts=NotificationRow.attempts + 1,
                    next_attempt_at=next_attempt_at or NotificationRow.next_attempt_at,
                    lease_owner=None,
                    lease_expires_at=None,
                    last_error=last_error,
                    sent_at=now if status is NotificationStatus.SENT else None,
                )
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            if event is not None:
                session.add(audit_row(event, now))
            return True

    def notifications(self, event_id: str | None = None) -> list[NotificationRecord]:
        with self._transaction() as session:
            query = select(NotificationRow).order_by(NotificationRow.created_at, NotificationRow.id)
            if event_id is not None:
                query = query.where(NotificationRow.event_id == event_id)
            return [notification_record(r) for r in session.scalars(query)]
