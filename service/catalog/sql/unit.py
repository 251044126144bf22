"""What every SQL port shares: one transaction per call, rows turned into records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Row, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.catalog.records import AttemptRecord, AuditEvent, DeliveryRecord, VersionRecord
from service.catalog.sql.tables import (
    AttemptRow,
    AuditRow,
    BodyNameRow,
    DeliveryRow,
    FilingRow,
    VersionRow,
)
from service.domain.errors import Unavailable
from service.domain.filing import DeliveryAction, DeliveryStatus, ReviewState, VersionStatus
from service.domain.ids import filing_id_of
from service.domain.time import utcnow

R = TypeVar("R")


class UnitOfWork:
    """One transaction per public method; a database that cannot be reached is `Unavailable`."""

    def __init__(
        self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with self._sessions.begin() as session:
                yield session
        except OperationalError as exc:
            raise Unavailable(
                "目录数据库暂不可用，请稍后重试", "The catalog database is unavailable"
            ) from exc


def record(cls: type[R], row: Any, **extra: Any) -> R:
    """A record from a row: an ORM row, or a Core row's dict (a list's pages are read
    as dicts, past the ORM: no identity map, no attribute lookups per field)."""
    found = values_of(row)
    values = {n: found[n] for n in _field_names(cls) if n in found and n not in extra}
    return cls(**values, **extra)


def values_of(row: Any) -> dict[str, Any]:
    if isinstance(row, dict):
        return row
    if isinstance(row, Row):
        return row._asdict()
    return {c.key: getattr(row, c.key) for c in row.__table__.columns}


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


def _field_names(cls: type[Any]) -> tuple[str, ...]:
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def delivery_record(
    row: DeliveryRow | dict[str, Any], attempts: Sequence[AttemptRow] = ()
) -> DeliveryRecord:
    found = values_of(row)
    return record(
        DeliveryRecord,
        found,
        status=DeliveryStatus(found["status"]),
        action=DeliveryAction(found.get("action") or DeliveryAction.PUBLISH),
        review_status=ReviewState(found["review_status"]) if found["review_status"] else None,
        state=dict(found["state_json"] or {}),
        receipt=found["receipt_json"],
        attempt_log=tuple(record(AttemptRecord, a) for a in attempts),
    )


def version_record(row: VersionRow | dict[str, Any]) -> VersionRecord:
    found = values_of(row)
    return record(
        VersionRecord,
        found,
        status=VersionStatus(found["status"]),
        metadata=found["metadata_json"],
        findings=found["findings_json"],
    )


def audit_row(event: AuditEvent, now: datetime) -> AuditRow:
    return AuditRow(at=now, filing_id=filing_id_of(event.subject), **dataclasses.asdict(event))


def sync_latest(session: Session, filing_id: str) -> None:
    """Copy the filing's latest acknowledged version's status and title onto the filing
    (FilingRow.latest_status, latest_title), where the list filters on them. Call it in
    the transaction that changes a version's status or the filing's latest_version."""
    session.flush()
    latest = select(VersionRow).where(
        VersionRow.filing_id == FilingRow.id, VersionRow.version == FilingRow.latest_version
    )
    session.execute(
        update(FilingRow)
        .where(FilingRow.id == filing_id)
        .values(
            latest_status=latest.with_only_columns(VersionRow.status).scalar_subquery(),
            latest_title=latest.with_only_columns(VersionRow.title).scalar_subquery(),
        )
    )


def remember_name(session: Session, org_code: str, org_name: str) -> None:
    """Record a name the body files under (tables.BodyNameRow), once."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(BodyNameRow).values(org_code=org_code, org_name=org_name).on_conflict_do_nothing()
    )
