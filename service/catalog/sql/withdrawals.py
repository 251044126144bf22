"""Withdrawals on SQL: the record, the cancelled deliveries, the withdraw jobs, in one
transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.catalog.records import AuditEvent, WithdrawalRecord
from service.catalog.sql.tables import DeliveryRow, FilingRow, VersionRow, WithdrawalRow
from service.catalog.sql.unit import UnitOfWork, audit_row, delivery_record, sync_latest
from service.domain.errors import filing_not_found
from service.domain.filing import (
    PUBLISHING_ACTIONS,
    WITHDRAWABLE_STATUSES,
    DeliveryAction,
    DeliveryStatus,
    VersionStatus,
    withdrawal_key,
)
from service.domain.ids import new_id
from service.domain.outbox import supersedable
from service.domain.withdrawal import may_have_gone_out


class SqlWithdrawals(UnitOfWork):
    def withdraw_filing(
        self, withdrawal: WithdrawalRecord, takedown: Collection[str], event: AuditEvent
    ) -> bool:
        now = self._clock()
        filing_id = withdrawal.filing_id
        with self._transaction() as session:
            filing = session.get(FilingRow, filing_id, with_for_update=True)
            if filing is None:
                raise filing_not_found()
            if session.get(WithdrawalRow, filing_id) is not None:
                return False
            session.add(WithdrawalRow(**dataclasses.asdict(withdrawal)))
            publishing = _cancel_untried(session, filing_id, now)
            session.execute(
                update(VersionRow)
                .where(
                    VersionRow.filing_id == filing_id,
                    VersionRow.status.in_(WITHDRAWABLE_STATUSES),
                )
                .values(status=VersionStatus.WITHDRAWN)
            )
            sync_latest(session, filing_id)  # the list filters on the latest status
            gone = {
                d.destination for d in publishing if may_have_gone_out(DeliveryStatus(d.status))
            }
            session.add_all(
                _job_row(filing_id, filing.latest_version, d, now)
                for d in sorted(gone & set(takedown))
            )
            session.add(audit_row(event, now))
            return True


def _cancel_untried(session: Session, filing_id: str, now: datetime) -> list[DeliveryRow]:
    """Cancel the filing's publish deliveries never claimed (the rule that lets a newer
    version supersede one: service.domain.outbox.supersedable); one a worker has tried or
    holds may have reached its destination, so it finishes and is then taken down."""
    rows = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.filing_id == filing_id, DeliveryRow.action.in_(PUBLISHING_ACTIONS))
        .with_for_update()
    ).all()
    for row in rows:
        if supersedable(delivery_record(row)):
            row.status = DeliveryStatus.CANCELLED
            row.updated_at = now
    session.flush()
    return list(rows)


def _job_row(filing_id: str, version: int, destination: str, now: datetime) -> DeliveryRow:
    return DeliveryRow(
        id=new_id("dlv"),
        filing_id=filing_id,
        version=version,
        destination=destination,
        action=DeliveryAction.WITHDRAW,
        idempotency_key=withdrawal_key(filing_id, destination),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
        state_json={},
        created_at=now,
        updated_at=now,
    )
