"""Reading filings on SQL: one with its versions and deliveries, or a search."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import exists, select, text
from sqlalchemy.orm import Session

from service.catalog.records import FilingQuery, FilingRecord, VersionRecord, WithdrawalRecord
from service.catalog.sql.tables import AttemptRow, DeliveryRow, FilingRow, VersionRow, WithdrawalRow
from service.catalog.sql.unit import UnitOfWork, delivery_record, record, version_record
from service.domain.filing import VersionStatus


class SqlFilings(UnitOfWork):
    def ping(self) -> None:
        with self._transaction() as session:
            session.execute(text("SELECT 1"))

    def get_filing(self, filing_id: str, *, with_attempts: bool = True) -> FilingRecord | None:
        with self._transaction() as session:
            row = session.get(FilingRow, filing_id)
            return None if row is None else _filing(session, row, with_attempts=with_attempts)

    def get_version(self, filing_id: str, version: int) -> VersionRecord | None:
        with self._transaction() as session:
            row = session.get(VersionRow, (filing_id, version))
            return None if row is None else version_record(row)

    def list_filings(self, query: FilingQuery) -> list[FilingRecord]:
        with self._transaction() as session:
            stmt = select(FilingRow).order_by(FilingRow.created_at.desc(), FilingRow.id)
            for condition in _conditions(query):
                stmt = stmt.where(condition)
            rows = session.scalars(stmt.limit(query.limit).offset(query.offset)).all()
            return [_filing(session, r, with_attempts=False) for r in rows]


def _filing(session: Session, row: FilingRow, *, with_attempts: bool) -> FilingRecord:
    versions = session.scalars(
        select(VersionRow).where(VersionRow.filing_id == row.id).order_by(VersionRow.version)
    ).all()
    deliveries = session.scalars(
        select(DeliveryRow)
        .where(DeliveryRow.filing_id == row.id)
        .order_by(DeliveryRow.version, DeliveryRow.destination, DeliveryRow.action)
    ).all()
    withdrawal = session.get(WithdrawalRow, row.id)
    return record(
        FilingRecord,
        row,
        withdrawal=None if withdrawal is None else record(WithdrawalRecord, withdrawal),
        versions=tuple(version_record(v) for v in versions),
        deliveries=tuple(
            delivery_record(d, _attempts(session, d.id) if with_attempts else ())
            for d in deliveries
        ),
    )


def _attempts(session: Session, delivery_id: str) -> Sequence[AttemptRow]:
    return session.scalars(
        select(AttemptRow).where(AttemptRow.delivery_id == delivery_id).order_by(AttemptRow.id)
    ).all()


def _conditions(query: FilingQuery) -> Iterator[Any]:
    # A filing never acknowledged (only reserved or abandoned versions) is not listed.
    yield exists().where(
        VersionRow.filing_id == FilingRow.id,
        VersionRow.status.notin_([VersionStatus.RESERVED, VersionStatus.ABANDONED]),
    )
    if query.org_codes is not None:
        yield FilingRow.org_code.in_(query.org_codes)
    for column, value in (
        (FilingRow.org_code, query.org_code),
        (FilingRow.category, query.category),
        (FilingRow.period, query.period),
    ):
        if value is not None:
            yield column == value
    if query.status is not None:
        yield exists().where(
            VersionRow.filing_id == FilingRow.id,
            VersionRow.version == FilingRow.latest_version,
            VersionRow.status == query.status,
        )
    if query.delivery_status is not None:
        yield exists().where(
            DeliveryRow.filing_id == FilingRow.id, DeliveryRow.status == query.delivery_status
        )
    if query.review_status is not None:
        yield exists().where(
            DeliveryRow.filing_id == FilingRow.id,
            DeliveryRow.version == FilingRow.latest_version,
            DeliveryRow.review_status == query.review_status,
        )
