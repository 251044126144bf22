"""Replacing the report a destination holds, on SQL (service.domain.replacement): the
failed publish delivery superseded and a replace delivery added, in one transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.catalog.records import AuditEvent
from service.catalog.sql.tables import DeliveryRow, VersionRow, WithdrawalRow
from service.catalog.sql.unit import UnitOfWork, audit_row, delivery_record, sync_latest
from service.domain.errors import NotFound
from service.domain.filing import DeliveryAction, DeliveryStatus, VersionStatus
from service.domain.ids import new_id
from service.domain.replacement import existing_report, no_conflict, replacement_key
from service.domain.withdrawal import filing_withdrawn


class SqlReplacements(UnitOfWork):
    def replace_existing(self, failed_id: str, state: dict[str, Any], event: AuditEvent) -> bool:
        now = self._clock()
        with self._transaction() as session:
            failed = session.get(DeliveryRow, failed_id, with_for_update=True)
            if failed is None:
                raise NotFound("未找到该投递", "No such delivery", code="delivery_not_found")
            key = replacement_key(failed.filing_id, failed.version, failed.destination)
            if session.scalar(select(DeliveryRow.id).where(DeliveryRow.idempotency_key == key)):
                return False
            if session.get(WithdrawalRow, failed.filing_id) is not None:
                raise filing_withdrawn(failed.filing_id)
            found = delivery_record(failed)
            if found.status is not DeliveryStatus.FAILED or existing_report(found) is None:
                raise no_conflict()
            failed.status = DeliveryStatus.SUPERSEDED
            failed.updated_at = now
            session.add(_replace_row(failed, key, state, now))
            _reopen(session, failed.filing_id, failed.version)
            session.add(audit_row(event, now))
            return True


def _replace_row(
    failed: DeliveryRow, key: str, state: dict[str, Any], now: datetime
) -> DeliveryRow:
    return DeliveryRow(
        id=new_id("dlv"),
        filing_id=failed.filing_id,
        version=failed.version,
        destination=failed.destination,
        action=DeliveryAction.REPLACE,
        idempotency_key=key,
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        state_json=state,
        created_at=now,
        updated_at=now,
    )


def _reopen(session: Session, filing_id: str, version: int) -> None:
    """The version goes out again: archived (not delivery_failed) until it settles."""
    row = session.get(VersionRow, (filing_id, version), with_for_update=True)
    assert row is not None  # a delivery row exists only for a version
    row.status = VersionStatus.ARCHIVED
    session.flush()
    sync_latest(session, filing_id)
