"""What every SQL port shares: one transaction per call, rows turned into records."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service.catalog.records import AttemptRecord, AuditEvent, DeliveryRecord, VersionRecord
from service.catalog.sql.tables import AttemptRow, AuditRow, DeliveryRow, VersionRow
from service.domain.errors import Unavailable
from service.domain.filing import DeliveryAction, DeliveryStatus, ReviewState, VersionStatus
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
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {n: getattr(row, n) for n in names if hasattr(row, n) and n not in extra}
    return cls(**values, **extra)


def delivery_record(row: DeliveryRow, attempts: Sequence[AttemptRow] = ()) -> DeliveryRecord:
    return record(
        DeliveryRecord,
        row,
        status=DeliveryStatus(row.status),
        action=DeliveryAction(row.action or DeliveryAction.PUBLISH),
        review_status=ReviewState(row.review_status) if row.review_status else None,
        state=dict(row.state_json or {}),
        receipt=row.receipt_json,
        attempt_log=tuple(record(AttemptRecord, a) for a in attempts),
    )


def version_record(row: VersionRow) -> VersionRecord:
    return record(
        VersionRecord,
        row,
        status=VersionStatus(row.status),
        metadata=row.metadata_json,
        findings=row.findings_json,
    )


def audit_row(event: AuditEvent, now: datetime) -> AuditRow:
    return AuditRow(at=now, **dataclasses.asdict(event))
