"""The catalog side of disaster recovery (DESIGN.md invariant 8): what `reconcile`
reads, what the daily audit export reads, and the bulk inserts with which
`rebuild-catalog` restores filings, versions, deliveries and the audit log.

    restore.version_states()             every version's status and package, no metadata
    restore.recorded_receipt_keys()      every receipt key the deliveries record
    restore.audit_entries(start, end)    audit events recorded in [start, end), in order
    with restore.restoring() as writer:  one transaction into an EMPTY catalog (else Conflict)
        writer.add_filing(FilingRecord(…, versions=…, deliveries=…))
        writer.add_audit([AuditEntry(at, event), …])
        writer.add_exemptions([Exemption(…), …])

A rebuild is one transaction, so one that fails half-way leaves the catalog empty
and can simply be run again. Rows go in batches (executemany), never one by one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, literal, select
from sqlalchemy.orm import Session

from service.catalog.records import (
    AuditEntry,
    AuditEvent,
    DeliveryRecord,
    Exemption,
    FilingRecord,
    VersionRecord,
    VersionState,
)
from service.catalog.sql.tables import (
    AuditRow,
    Base,
    BodyNameRow,
    DeliveryRow,
    ExemptionRow,
    FilingRow,
    VersionRow,
    WithdrawalRow,
)
from service.catalog.sql.unit import UnitOfWork
from service.domain.errors import Conflict
from service.domain.filing import VersionStatus
from service.domain.ids import filing_id_of

BATCH_ROWS = 500  # rows per executemany: bounded memory, few round trips


class CatalogRestore(UnitOfWork):
    """service.catalog.ports.Restore on SQL."""

    # -- reading --------------------------------------------------------------

    def version_states(self) -> list[VersionState]:
        with self._transaction() as session:
            rows = session.execute(
                select(
                    VersionRow.filing_id,
                    VersionRow.version,
                    VersionRow.status,
                    VersionRow.package_prefix,
                    VersionRow.created_at,
                ).order_by(VersionRow.package_prefix)
            )
            return [VersionState(f, v, VersionStatus(status), p, c) for f, v, status, p, c in rows]

    def recorded_receipt_keys(self) -> frozenset[str]:
        """The archive keys of every delivery receipt and review outcome the catalog records."""
        with self._transaction() as session:
            rows = session.execute(select(DeliveryRow.receipt_key, DeliveryRow.review_receipt_key))
            keys = {key for row in rows for key in row if key is not None}
            return frozenset(keys | set(session.scalars(select(WithdrawalRow.record_key))))

    def audit_entries(self, start: datetime, end: datetime) -> list[AuditEntry]:
        """Events recorded at or after `start` and before `end`, in the order recorded."""
        with self._transaction() as session:
            rows = session.scalars(
                select(AuditRow)
                .where(AuditRow.at >= start, AuditRow.at < end)
                .order_by(AuditRow.at, AuditRow.id)
            )
            return [_audit_entry(r) for r in rows]

    def first_audit_at(self) -> datetime | None:
        with self._transaction() as session:
            return session.scalar(select(func.min(AuditRow.at)))

    def is_empty(self) -> bool:
        with self._transaction() as session:
            return _is_empty(session)

    # -- restoring ------------------------------------------------------------

    @contextmanager
    def restoring(self) -> Iterator[Restorer]:
        """One transaction for a whole rebuild; `Conflict` if the catalog holds any row."""
        with self._transaction() as session:
            if not _is_empty(session):
                raise Conflict(
                    "目录数据库不为空，拒绝重建；请换用一个空的数据库",
                    "The catalog is not empty; a rebuild needs an empty database",
                    code="catalog_not_empty",
                )
            writer = Restorer(session)
            yield writer
            writer.flush()


class Restorer:
    """Buffers restored rows and inserts them in batches, parents before children."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._filings: list[dict[str, Any]] = []
        self._versions: list[dict[str, Any]] = []
        self._deliveries: list[dict[str, Any]] = []
        self._withdrawals: list[dict[str, Any]] = []
        self._audit: list[dict[str, Any]] = []
        self._exemptions: list[dict[str, Any]] = []
        self._names: set[tuple[str, str]] = set()
        self._new_names: list[dict[str, Any]] = []

    def add_filing(self, filing: FilingRecord) -> None:
        self._filings.append(_filing_row(filing))
        if (filing.org_code, filing.org_name) not in self._names:
            self._names.add((filing.org_code, filing.org_name))
            self._new_names.append({"org_code": filing.org_code, "org_name": filing.org_name})
        self._versions.extend(_version_row(v) for v in filing.versions)
        self._deliveries.extend(_delivery_row(d) for d in filing.deliveries)
        if filing.withdrawal is not None:
            self._withdrawals.append(_columns(filing.withdrawal))
        if len(self._versions) + len(self._deliveries) >= BATCH_ROWS:
            self.flush()

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Events in the order given, which becomes the order of their ids."""
        for entry in entries:
            subject = entry.event.subject
            self._audit.append(
                {"at": entry.at, "filing_id": filing_id_of(subject), **_columns(entry.event)}
            )
            if len(self._audit) >= BATCH_ROWS:
                self.flush()

    def add_exemptions(self, exemptions: Iterable[Exemption]) -> None:
        self._exemptions.extend(_columns(e) for e in exemptions)
        if len(self._exemptions) >= BATCH_ROWS:
            self.flush()

    def flush(self) -> None:
        for table, rows in (
            (FilingRow, self._filings),
            (BodyNameRow, self._new_names),
            (VersionRow, self._versions),
            (DeliveryRow, self._deliveries),
            (WithdrawalRow, self._withdrawals),
            (AuditRow, self._audit),
            (ExemptionRow, self._exemptions),
        ):
            if rows:
                self._session.execute(insert(table), rows)
                rows.clear()


def _is_empty(session: Session) -> bool:
    return all(
        session.scalar(select(literal(1)).select_from(table).limit(1)) is None
        for table in Base.metadata.sorted_tables
    )


def _audit_entry(row: AuditRow) -> AuditEntry:
    names = [f.name for f in dataclasses.fields(AuditEvent)]
    return AuditEntry(row.at, AuditEvent(**{n: getattr(row, n) for n in names}))


def _columns(record: Any, *, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        f.name: getattr(record, f.name) for f in dataclasses.fields(record) if f.name not in skip
    }


def _filing_row(filing: FilingRecord) -> dict[str, Any]:
    latest = next((v for v in filing.versions if v.version == filing.latest_version), None)
    return {
        **_columns(filing, skip=("versions", "deliveries", "withdrawal")),
        "latest_status": latest.status if latest else None,
        "latest_title": latest.title if latest else None,
    }


def _version_row(version: VersionRecord) -> dict[str, Any]:
    row = _columns(version, skip=("metadata", "findings"))
    return {**row, "metadata_json": version.metadata, "findings_json": version.findings}


def _delivery_row(delivery: DeliveryRecord) -> dict[str, Any]:
    # attempt logs are operational data and are not rebuilt
    row = _columns(delivery, skip=("attempt_log", "state", "receipt"))
    return {**row, "state_json": delivery.state, "receipt_json": delivery.receipt}
