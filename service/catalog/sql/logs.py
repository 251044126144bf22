"""Fixity checks and the audit log on SQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select, tuple_, update

from service.catalog.records import (
    AuditEntry,
    AuditEvent,
    AuditPage,
    AuditQuery,
    FixityCheck,
    VersionRecord,
)
from service.catalog.sql.notifications import add_notices
from service.catalog.sql.tables import AuditRow, FixityCheckRow, VersionRow
from service.catalog.sql.unit import UnitOfWork, audit_row, record, version_record
from service.domain.filing import VersionStatus
from service.domain.notifications import Notice


class SqlFixity(UnitOfWork):
    def record_fixity(
        self,
        check: FixityCheck,
        event: AuditEvent | None = None,
        notices: Sequence[Notice] = (),
    ) -> None:
        with self._transaction() as session:
            add_notices(session, notices, self._clock())
            session.add(FixityCheckRow(**dataclasses.asdict(check)))
            session.execute(
                update(VersionRow)
                .where(VersionRow.filing_id == check.filing_id, VersionRow.version == check.version)
                .values(last_verified_at=check.checked_at, last_verified_ok=check.ok)
            )
            if event is not None:
                session.add(audit_row(event, self._clock()))

    def fixity_checks(self, filing_id: str) -> list[FixityCheck]:
        with self._transaction() as session:
            rows = session.scalars(
                select(FixityCheckRow)
                .where(FixityCheckRow.filing_id == filing_id)
                .order_by(FixityCheckRow.id)
            )
            return [record(FixityCheck, r) for r in rows]

    def versions_to_verify(
        self, *, not_verified_since: datetime | None, limit: int | None, random_order: bool
    ) -> list[VersionRecord]:
        """Archived versions, oldest check first; those checked since a time are left out
        (which makes an interrupted audit resumable)."""
        with self._transaction() as session:
            stmt = select(VersionRow).where(
                VersionRow.status.notin_([VersionStatus.RESERVED, VersionStatus.ABANDONED])
            )
            if not_verified_since is not None:
                stmt = stmt.where(
                    (VersionRow.last_verified_at.is_(None))
                    | (VersionRow.last_verified_at < not_verified_since)
                )
            order = (
                func.random() if random_order else VersionRow.last_verified_at.asc().nulls_first()
            )
            stmt = stmt.order_by(order, VersionRow.filing_id, VersionRow.version)
            if limit is not None:
                stmt = stmt.limit(limit)
            return [version_record(r) for r in session.scalars(stmt)]


class SqlAuditLog(UnitOfWork):
    def audit(self, event: AuditEvent) -> None:
        with self._transaction() as session:
            session.add(audit_row(event, self._clock()))

    def audit_trail(self, query: AuditQuery) -> AuditPage:
        """Newest first by (at, id); each filter has an index that ends in (at, id)."""
        with self._transaction() as session:
            stmt = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc())
            stmt = stmt.where(*_audit_conditions(query)).limit(query.limit + 1)
            rows = session.scalars(stmt).all()
            more = len(rows) > query.limit
            page = rows[: query.limit]
            return AuditPage(
                tuple(_audit_entry(r) for r in page),
                (page[-1].at, page[-1].id) if more else None,
            )

    def count_recent(self, action: str, source: str, since: datetime) -> int:
        """On the (action, at) index: a minute of one action is a short range of it."""
        with self._transaction() as session:
            stmt = select(func.count()).where(
                AuditRow.action == action, AuditRow.at >= since, AuditRow.source == source
            )
            return int(session.scalar(stmt) or 0)

    def audit_events(
        self, subject_prefix: str | None = None, limit: int = 1000
    ) -> list[AuditEvent]:
        with self._transaction() as session:
            stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
            if subject_prefix:
                stmt = stmt.where(AuditRow.subject.startswith(subject_prefix))
            return [record(AuditEvent, r) for r in session.scalars(stmt)]


def _audit_conditions(query: AuditQuery) -> Iterator[ColumnElement[bool]]:
    if query.org_codes is not None:  # events of no body are for those who see every body
        yield AuditRow.org_code.in_(query.org_codes)
    for column, value in (
        (AuditRow.filing_id, query.filing_id),
        (AuditRow.org_code, query.org_code),
        (AuditRow.actor, query.actor),
        (AuditRow.action, query.action),
    ):
        if value is not None:
            yield column == value
    if query.since is not None:
        yield AuditRow.at >= query.since
    if query.until is not None:
        yield AuditRow.at < query.until
    if query.after is not None:
        yield tuple_(AuditRow.at, AuditRow.id) < query.after


def _audit_entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.at, record(AuditEvent, row))
