"""Reservations on SQL: a version number held before its package is written."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.catalog.ports import in_progress
from service.catalog.records import AuditEvent, DeliveryRecord, IngestKey, NewVersion, StampJob
from service.catalog.sql.holds import SqlHolds
from service.catalog.sql.outbox import settle_version
from service.catalog.sql.tables import (
    DeliveryRow,
    FilingRow,
    IngestKeyRow,
    VersionRow,
    WithdrawalRow,
)
from service.catalog.sql.timestamps import stamp_row
from service.catalog.sql.unit import (
    audit_row,
    delivery_record,
    record,
    remember_name,
    sync_latest,
)
from service.domain.errors import Conflict, NotFound, already_filed, duplicate_filing
from service.domain.filing import (
    ARCHIVED_STATUSES,
    DeliveryAction,
    DeliveryStatus,
    FilingKey,
    VersionStatus,
    idempotency_key,
)
from service.domain.ids import new_id
from service.domain.outbox import supersedable
from service.domain.withdrawal import filing_withdrawn

_LIVE = (VersionStatus.RESERVED, VersionStatus.ABANDONED)  # not (or not yet) acknowledged


class SqlReservations(SqlHolds):
    def reserve_version(
        self,
        *,
        filing_id: str | None,
        org_code: str,
        org_name: str,
        category: str,
        period: str,
        actor: str,
        make_version: Callable[[str, int], NewVersion],
        ingest_key: tuple[str, str] | None = None,
        content_sha256: str | None = None,
        new_filing_id: str | None = None,
        filed_once: FilingKey | None = None,
    ) -> tuple[str, int]:
        """The (filing, version) primary key makes two concurrent corrections collide:
        one gets n+1, the other a Conflict, never both the same number."""
        now = self._clock()
        key = FilingKey(org_code, category, period)
        try:
            with self._transaction() as session:
                _serialise(session, key)
                if content_sha256 is not None:
                    _refuse_same_content(session, key, content_sha256, self.reservation_held, now)
                if filing_id is None and filed_once is not None:
                    _refuse_second_filing(session, filed_once, self.reservation_held, now)
                if filing_id is not None and session.get(WithdrawalRow, filing_id) is not None:
                    raise filing_withdrawn(filing_id)
                if filing_id is None:
                    filing_id = new_filing_id or new_id("fil")
                    session.add(
                        _filing_row(filing_id, org_code, org_name, key, filed_once, actor, now)
                    )
                    session.flush()
                    remember_name(session, org_code, org_name)
                number = _next_version(session, filing_id)
                session.add(
                    _version_row(filing_id, number, make_version(filing_id, number), actor, now)
                )
                if ingest_key is not None:
                    session.add(_ingest_key_row(actor, ingest_key, filing_id, number, now))
                # latest_version moves on only when the version is archived (complete_version):
                # a correction still being written, or abandoned, is never "the latest".
        except IntegrityError as exc:
            raise Conflict(
                "该报送的版本号或幂等键已被并发提交占用，请稍后重试",
                "That version number or idempotency key was taken by a concurrent request; retry",
                code="version_conflict",
            ) from exc
        return filing_id, number

    def complete_version(
        self,
        filing_id: str,
        version: int,
        destinations: Sequence[str],
        event: AuditEvent,
        *,
        manifest_sha256: str | None = None,
        stamps: Sequence[StampJob] = (),
        not_enabled: Sequence[str] = (),
    ) -> list[DeliveryRecord]:
        now = self._clock()
        with self._transaction() as session:
            row = session.get(VersionRow, (filing_id, version))
            if row is None or row.status != VersionStatus.RESERVED:
                raise NotFound(code="version_not_reserved")
            row.status = VersionStatus.ARCHIVED
            row.manifest_sha256 = manifest_sha256
            session.execute(
                update(FilingRow)
                .where(FilingRow.id == filing_id, FilingRow.latest_version < version)
                .values(latest_version=version)
            )
            due = max(now, row.publish_at) if row.publish_at else now
            created = [_delivery_row(filing_id, version, d, due, now) for d in destinations]
            if session.get(WithdrawalRow, filing_id) is not None:
                _withdrawn_meanwhile(row, created)
            session.add_all(created)
            session.add_all(_not_enabled_row(filing_id, version, d, now) for d in not_enabled)
            session.add_all([stamp_row(job, now) for job in stamps])
            for older in _supersede_untried(session, filing_id, version, destinations, now):
                settle_version(session, filing_id, older)
            if not destinations and row.status == VersionStatus.ARCHIVED:
                row.status = VersionStatus.PUBLISHED
            session.add(audit_row(event, now))
            sync_latest(session, filing_id)
            return [delivery_record(d) for d in created]

    def abandon_version(self, filing_id: str, version: int, event: AuditEvent) -> bool:
        now = self._clock()
        with self._transaction() as session:
            abandoned = session.execute(
                update(VersionRow)
                .where(
                    VersionRow.filing_id == filing_id,
                    VersionRow.version == version,
                    VersionRow.status == VersionStatus.RESERVED,
                )
                .values(status=VersionStatus.ABANDONED)
            )
            if not abandoned.rowcount:  # type: ignore[attr-defined]
                return False
            # The client's retry with the same key must be able to succeed once the store is back.
            session.execute(
                delete(IngestKeyRow).where(
                    IngestKeyRow.filing_id == filing_id, IngestKeyRow.version == version
                )
            )
            session.add(audit_row(event, now))
            return True

    def find_ingest_key(self, principal: str, key: str) -> IngestKey | None:
        with self._transaction() as session:
            row = session.get(IngestKeyRow, (principal, key))
            return None if row is None else record(IngestKey, row)

    def latest_metadata(self, org_code: str, category: str, period: str) -> dict[str, Any] | None:
        with self._transaction() as session:
            found = session.execute(
                select(VersionRow.metadata_json)
                .join(FilingRow, FilingRow.id == VersionRow.filing_id)
                .where(
                    FilingRow.org_code == org_code,
                    FilingRow.category == category,
                    FilingRow.period == period,
                    VersionRow.status.notin_(_LIVE),
                )
                .order_by(VersionRow.created_at.desc(), VersionRow.version.desc())
                .limit(1)
            ).first()
            return None if found is None else dict(found[0])

    def find_same_content(
        self, org_code: str, category: str, period: str, sha256: str
    ) -> tuple[str, int] | None:
        with self._transaction() as session:
            found = session.execute(
                select(VersionRow.filing_id, VersionRow.version)
                .join(FilingRow, FilingRow.id == VersionRow.filing_id)
                .where(
                    FilingRow.org_code == org_code,
                    FilingRow.category == category,
                    FilingRow.period == period,
                    VersionRow.sha256 == sha256,
                    VersionRow.status.notin_(_LIVE),
                    ~_withdrawn(),
                )
                .limit(1)
            ).first()
            return None if found is None else (found[0], found[1])

    def find_filed(self, key: FilingKey) -> str | None:
        with self._transaction() as session:
            filed: str | None = session.scalar(
                _under(key)
                .where(VersionRow.status.in_(ARCHIVED_STATUSES))
                .with_only_columns(FilingRow.id)
                .limit(1)
            )
            return filed


def _serialise(session: Session, key: FilingKey) -> None:
    """Reservations for one body, kind and period one after another, within the
    transaction (an advisory lock on PostgreSQL; SQLite serialises writers already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key.lock_name))))


def _under(key: FilingKey) -> Any:
    """The versions of the filings under a key (the variant compared as NULL-safe)."""
    return (
        select(VersionRow.filing_id, VersionRow.status, VersionRow.version, VersionRow.created_at)
        .join(FilingRow, FilingRow.id == VersionRow.filing_id)
        .where(
            FilingRow.org_code == key.org_code,
            FilingRow.category == key.category,
            FilingRow.period == key.period,
            FilingRow.variant.is_not_distinct_from(key.variant),
            ~_withdrawn(),
        )
    )


def _withdrawn() -> Any:
    """The filing was withdrawn: it no longer holds its key, nor its bytes."""
    return exists().where(WithdrawalRow.filing_id == FilingRow.id)


def _withdrawn_meanwhile(row: VersionRow, created: Sequence[DeliveryRow]) -> None:
    """A correction reserved before its filing was withdrawn, archived after: kept, never sent."""
    row.status = VersionStatus.WITHDRAWN
    for delivery in created:
        delivery.status = DeliveryStatus.CANCELLED


def _refuse_second_filing(
    session: Session, key: FilingKey, held: Callable[[str, int], bool], now: datetime
) -> None:
    """A key already filed refuses a new filing (a correction is a new version of it);
    one being archived under the key by a living request asks the client to wait."""
    for filing_id, status, version, created_at in session.execute(
        _under(key).where(VersionRow.status != VersionStatus.ABANDONED)
    ):
        if status in ARCHIVED_STATUSES:
            raise already_filed(filing_id)
        if in_progress(held(filing_id, version), created_at, now):
            raise Conflict(
                "该单位同一类别、同一期间的另一份报送正在处理中，请稍后重试",
                "Another filing for this body, kind and period is being processed; retry later",
                code="filing_in_progress",
                retry_after=5,
            )


def _refuse_same_content(
    session: Session,
    key: FilingKey,
    sha256: str,
    held: Callable[[str, int], bool],
    now: datetime,
) -> None:
    org_code, category, period = key.org_code, key.category, key.period
    found = session.execute(
        select(VersionRow.filing_id, VersionRow.version, VersionRow.status, VersionRow.created_at)
        .join(FilingRow, FilingRow.id == VersionRow.filing_id)
        .where(
            FilingRow.org_code == org_code,
            FilingRow.category == category,
            FilingRow.period == period,
            VersionRow.sha256 == sha256,
            VersionRow.status != VersionStatus.ABANDONED,
            ~_withdrawn(),
        )
        .order_by(VersionRow.status == VersionStatus.RESERVED)  # an acknowledged one first
        .limit(1)
    ).first()
    if found is None:
        return
    if found[2] == VersionStatus.RESERVED and not in_progress(
        held(found[0], found[1]), found[3], now
    ):
        return  # only one whose request died: it will never be acknowledged
    if found[2] == VersionStatus.RESERVED:
        raise Conflict(
            "相同文件的另一次提交正在处理中，请稍后重试",
            "A submission of the same file is being processed; retry later",
            code="duplicate_in_progress",
            retry_after=5,
        )
    raise duplicate_filing(found[0], found[1])


def _next_version(session: Session, filing_id: str) -> int:
    latest = session.scalar(
        select(func.max(VersionRow.version)).where(VersionRow.filing_id == filing_id)
    )
    return (latest or 0) + 1


def _filing_row(
    filing_id: str,
    org_code: str,
    org_name: str,
    key: FilingKey,
    filed_once: FilingKey | None,
    actor: str,
    now: datetime,
) -> FilingRow:
    return FilingRow(
        id=filing_id,
        org_code=org_code,
        org_name=org_name,
        category=key.category,
        period=key.period,
        variant=filed_once.variant if filed_once is not None else None,
        latest_version=0,
        created_at=now,
        created_by=actor,
    )


def _version_row(
    filing_id: str, number: int, spec: NewVersion, actor: str, now: datetime
) -> VersionRow:
    return VersionRow(
        filing_id=filing_id,
        version=number,
        status=VersionStatus.RESERVED,
        supersedes=number - 1 if number > 1 else None,
        filename=spec.filename,
        kind=spec.kind,
        media_type=spec.media_type,
        size=spec.size,
        sha256=spec.sha256,
        title=spec.title,
        package_prefix=spec.package_prefix,
        metadata_json=spec.metadata,
        findings_json=spec.findings,
        publish_at=spec.publish_at,
        created_at=now,
        created_by=actor,
    )


def _ingest_key_row(
    actor: str, ingest_key: tuple[str, str], filing_id: str, number: int, now: datetime
) -> IngestKeyRow:
    key, fingerprint = ingest_key
    return IngestKeyRow(
        principal=actor,
        key=key,
        fingerprint=fingerprint,
        filing_id=filing_id,
        version=number,
        created_at=now,
    )


def _delivery_row(
    filing_id: str, version: int, destination: str, due: datetime, now: datetime
) -> DeliveryRow:
    return DeliveryRow(
        id=new_id("dlv"),
        filing_id=filing_id,
        version=version,
        destination=destination,
        action=DeliveryAction.PUBLISH,
        idempotency_key=idempotency_key(filing_id, version, destination),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=due,
        state_json={},
        created_at=now,
        updated_at=now,
    )


def _not_enabled_row(filing_id: str, version: int, destination: str, now: datetime) -> DeliveryRow:
    row = _delivery_row(filing_id, version, destination, now, now)
    row.status = DeliveryStatus.NOT_ENABLED
    return row


def _supersede_untried(
    session: Session, filing_id: str, version: int, destinations: Sequence[str], now: datetime
) -> set[int]:
    """Supersede the older deliveries to these destinations that the domain's rule
    allows (service.domain.outbox.supersedable); returns the versions touched."""
    candidates = session.scalars(
        select(DeliveryRow)
        .where(
            DeliveryRow.filing_id == filing_id,
            DeliveryRow.version < version,
            DeliveryRow.destination.in_(destinations),
            DeliveryRow.status.in_([DeliveryStatus.PENDING, DeliveryStatus.HELD]),
            DeliveryRow.action == DeliveryAction.PUBLISH,
        )
        .with_for_update()
    ).all()
    touched: set[int] = set()
    for row in candidates:
        if supersedable(delivery_record(row)):
            row.status = DeliveryStatus.SUPERSEDED
            row.updated_at = now
            touched.add(row.version)
    session.flush()
    return touched
