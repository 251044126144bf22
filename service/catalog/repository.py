"""All SQL of the service: filings and versions, the delivery outbox, attempts, the audit log.

Each public method is one transaction. Claiming uses `FOR UPDATE SKIP LOCKED` (on
PostgreSQL; SQLite serialises writers with BEGIN IMMEDIATE instead) and a lease, so
any number of workers can drain the outbox and a dead worker's rows come back when
its lease runs out. Every update made on behalf of a claim is fenced by the lease
owner: a worker that lost its lease cannot overwrite the row's new owner.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import and_, delete, exists, func, select, text, true, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased, sessionmaker

from service.catalog.records import (
    AttemptRecord,
    AuditEvent,
    DeliveryRecord,
    FilingQuery,
    FilingRecord,
    FixityCheck,
    IngestKey,
    NewVersion,
    VersionRecord,
)
from service.catalog.tables import (
    AttemptRow,
    AuditRow,
    DeliveryRow,
    FilingRow,
    FixityCheckRow,
    IngestKeyRow,
    VersionRow,
)
from service.domain.errors import Conflict, NotFound, Unavailable, duplicate_filing
from service.domain.filing import DeliveryStatus, VersionStatus, idempotency_key

R = TypeVar("R")
# A reservation older than this was left by a request that died mid-ingest.
STALE_RESERVATION = timedelta(minutes=15)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """Sortable-enough, unguessable ids: time prefix for humans, random suffix for uniqueness."""
    return f"{prefix}_{datetime.now(UTC):%Y%m%d}{secrets.token_hex(6)}"


def _record(cls: type[R], row: Any, **extra: Any) -> R:
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values = {n: getattr(row, n) for n in names if hasattr(row, n) and n not in extra}
    return cls(**values, **extra)


def _delivery(row: DeliveryRow, attempts: Sequence[AttemptRow] = ()) -> DeliveryRecord:
    return _record(
        DeliveryRecord,
        row,
        state=dict(row.state_json or {}),
        receipt=row.receipt_json,
        attempt_log=tuple(_record(AttemptRecord, a) for a in attempts),
    )


def _version(row: VersionRow) -> VersionRecord:
    return _record(VersionRecord, row, metadata=row.metadata_json, findings=row.findings_json)


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


class Catalog(UnitOfWork):
    def ping(self) -> None:
        with self._transaction() as session:
            session.execute(text("SELECT 1"))

    # -- ingest ---------------------------------------------------------------

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
    ) -> tuple[str, int]:
        """Reserve the next version number (1 for a new filing) before its package is written.
        A new filing (`filing_id` None) gets `new_filing_id` when given (see `new_id`).

        The (filing, version) primary key makes two concurrent corrections collide:
        one gets n+1, the other a Conflict, never both the same number.
        """
        now = self._clock()
        try:
            with self._transaction() as session:
                if content_sha256 is not None:
                    self._refuse_same_content(
                        session, (org_code, category, period), content_sha256, now
                    )
                if filing_id is None:
                    filing_id = new_filing_id or new_id("fil")
                    session.add(
                        FilingRow(
                            id=filing_id,
                            org_code=org_code,
                            org_name=org_name,
                            category=category,
                            period=period,
                            latest_version=0,
                            created_at=now,
                            created_by=actor,
                        )
                    )
                    session.flush()
                number = self._next_version(session, filing_id)
                spec = make_version(filing_id, number)
                session.add(self._version_row(filing_id, number, spec, actor, now))
                if ingest_key is not None:
                    key, fingerprint = ingest_key
                    session.add(
                        IngestKeyRow(
                            principal=actor,
                            key=key,
                            fingerprint=fingerprint,
                            filing_id=filing_id,
                            version=number,
                            created_at=now,
                        )
                    )
                # latest_version moves on only when the version is archived (complete_version):
                # a correction still being written, or abandoned, is never "the latest".
        except IntegrityError as exc:
            raise Conflict(
                "该报送的版本号或幂等键已被并发提交占用，请稍后重试",
                "That version number or idempotency key was taken by a concurrent request; retry",
                code="version_conflict",
            ) from exc
        return filing_id, number

    @staticmethod
    def _refuse_same_content(
        session: Session, body_kind_period: tuple[str, str, str], sha256: str, now: datetime
    ) -> None:
        """Within the reservation's transaction, serialised per body, kind and period (an
        advisory lock on PostgreSQL; SQLite serialises writers already): two identical
        submissions at the same moment cannot both be reserved."""
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext("|".join(body_kind_period))))
            )
        org_code, category, period = body_kind_period
        found = session.execute(
            select(VersionRow.filing_id, VersionRow.version, VersionRow.status)
            .join(FilingRow, FilingRow.id == VersionRow.filing_id)
            .where(
                FilingRow.org_code == org_code,
                FilingRow.category == category,
                FilingRow.period == period,
                VersionRow.sha256 == sha256,
                VersionRow.status != VersionStatus.ABANDONED,
                (VersionRow.status != VersionStatus.RESERVED)
                | (VersionRow.created_at > now - STALE_RESERVATION),
            )
            .limit(1)
        ).first()
        if found is None:
            return
        if found[2] == VersionStatus.RESERVED:
            raise Conflict(
                "相同文件的另一次提交正在处理中，请稍后重试",
                "A submission of the same file is being processed; retry later",
                code="duplicate_in_progress",
            )
        raise duplicate_filing(found[0], found[1])

    @staticmethod
    def _next_version(session: Session, filing_id: str) -> int:
        latest = session.scalar(
            select(func.max(VersionRow.version)).where(VersionRow.filing_id == filing_id)
        )
        return (latest or 0) + 1

    @staticmethod
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

    def complete_version(
        self,
        filing_id: str,
        version: int,
        destinations: Sequence[str],
        event: AuditEvent,
        *,
        manifest_sha256: str | None = None,
    ) -> list[DeliveryRecord]:
        """Mark the package archived and queue its deliveries, in one transaction.

        A delivery is due at `publish_at` when the filing is scheduled: the service holds
        it, never the destination. An older version's delivery to the same destination
        that has never been tried is superseded; one that has been tried is left to finish
        (it may already be at the destination) and the new one then goes as a correction.
        """
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
            created = [self._new_delivery(filing_id, version, d, due, now) for d in destinations]
            session.add_all(created)
            for older in self._supersede_untried(session, filing_id, version, destinations, now):
                self._settle_version(session, filing_id, older)
            if not destinations:
                row.status = VersionStatus.PUBLISHED
            session.add(self._audit_row(event, now))
            session.flush()
            return [_delivery(d) for d in created]

    @staticmethod
    def _new_delivery(
        filing_id: str, version: int, destination: str, due: datetime, now: datetime
    ) -> DeliveryRow:
        return DeliveryRow(
            id=new_id("dlv"),
            filing_id=filing_id,
            version=version,
            destination=destination,
            idempotency_key=idempotency_key(filing_id, version, destination),
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=due,
            state_json={},
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def _supersede_untried(
        session: Session, filing_id: str, version: int, destinations: Sequence[str], now: datetime
    ) -> set[int]:
        """Supersede older deliveries never claimed; returns the versions touched. A delivery
        once claimed (first_attempt_at set) may have reached its destination even when no
        attempt was recorded (a crash before the record), so it is left to finish."""
        superseded = session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.filing_id == filing_id,
                DeliveryRow.version < version,
                DeliveryRow.destination.in_(destinations),
                DeliveryRow.status == DeliveryStatus.PENDING,
                DeliveryRow.attempts == 0,
                DeliveryRow.first_attempt_at.is_(None),
                DeliveryRow.lease_owner.is_(None),
            )
            .values(status=DeliveryStatus.SUPERSEDED, updated_at=now)
            .returning(DeliveryRow.version)
        )
        return {v for (v,) in superseded}

    def abandon_version(self, filing_id: str, version: int, event: AuditEvent) -> bool:
        """Abandon a reservation; False (and nothing changed) when the version is no longer
        reserved — its request completed after all, and it is acknowledged."""
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
            session.add(self._audit_row(event, now))
            return True

    def find_ingest_key(self, principal: str, key: str) -> IngestKey | None:
        with self._transaction() as session:
            row = session.get(IngestKeyRow, (principal, key))
            return None if row is None else _record(IngestKey, row)

    def latest_metadata(self, org_code: str, category: str, period: str) -> dict[str, Any] | None:
        """The submitted metadata of the newest live version of this body's filing of this
        kind and period (for the 年报's cross-year check against last year's report)."""
        with self._transaction() as session:
            found = session.execute(
                select(VersionRow.metadata_json)
                .join(FilingRow, FilingRow.id == VersionRow.filing_id)
                .where(
                    FilingRow.org_code == org_code,
                    FilingRow.category == category,
                    FilingRow.period == period,
                    VersionRow.status.notin_([VersionStatus.RESERVED, VersionStatus.ABANDONED]),
                )
                .order_by(VersionRow.created_at.desc(), VersionRow.version.desc())
                .limit(1)
            ).first()
            return None if found is None else dict(found[0])

    def find_same_content(
        self, org_code: str, category: str, period: str, sha256: str
    ) -> tuple[str, int] | None:
        """A live version of this body, kind and period with exactly these bytes."""
        with self._transaction() as session:
            found = session.execute(
                select(VersionRow.filing_id, VersionRow.version)
                .join(FilingRow, FilingRow.id == VersionRow.filing_id)
                .where(
                    FilingRow.org_code == org_code,
                    FilingRow.category == category,
                    FilingRow.period == period,
                    VersionRow.sha256 == sha256,
                    VersionRow.status.notin_([VersionStatus.RESERVED, VersionStatus.ABANDONED]),
                )
                .limit(1)
            ).first()
            return None if found is None else (found[0], found[1])

    # -- fixity ---------------------------------------------------------------

    def record_fixity(self, check: FixityCheck, event: AuditEvent | None = None) -> None:
        with self._transaction() as session:
            session.add(FixityCheckRow(**dataclasses.asdict(check)))
            session.execute(
                update(VersionRow)
                .where(VersionRow.filing_id == check.filing_id, VersionRow.version == check.version)
                .values(last_verified_at=check.checked_at, last_verified_ok=check.ok)
            )
            if event is not None:
                session.add(self._audit_row(event, self._clock()))

    def fixity_checks(self, filing_id: str) -> list[FixityCheck]:
        with self._transaction() as session:
            rows = session.scalars(
                select(FixityCheckRow)
                .where(FixityCheckRow.filing_id == filing_id)
                .order_by(FixityCheckRow.id)
            )
            return [_record(FixityCheck, r) for r in rows]

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
            return [_version(r) for r in session.scalars(stmt)]

    # -- reading --------------------------------------------------------------

    def get_filing(self, filing_id: str, *, with_attempts: bool = True) -> FilingRecord | None:
        with self._transaction() as session:
            row = session.get(FilingRow, filing_id)
            if row is None:
                return None
            return self._filing(session, row, with_attempts=with_attempts)

    def _filing(self, session: Session, row: FilingRow, *, with_attempts: bool) -> FilingRecord:
        versions = session.scalars(
            select(VersionRow).where(VersionRow.filing_id == row.id).order_by(VersionRow.version)
        ).all()
        deliveries = session.scalars(
            select(DeliveryRow)
            .where(DeliveryRow.filing_id == row.id)
            .order_by(DeliveryRow.version, DeliveryRow.destination)
        ).all()
        return _record(
            FilingRecord,
            row,
            versions=tuple(_version(v) for v in versions),
            deliveries=tuple(
                _delivery(d, self._attempts(session, d.id) if with_attempts else ())
                for d in deliveries
            ),
        )

    @staticmethod
    def _attempts(session: Session, delivery_id: str) -> Sequence[AttemptRow]:
        return session.scalars(
            select(AttemptRow).where(AttemptRow.delivery_id == delivery_id).order_by(AttemptRow.id)
        ).all()

    def get_version(self, filing_id: str, version: int) -> VersionRecord | None:
        with self._transaction() as session:
            row = session.get(VersionRow, (filing_id, version))
            return None if row is None else _version(row)

    def list_filings(self, query: FilingQuery) -> list[FilingRecord]:
        with self._transaction() as session:
            stmt = select(FilingRow).order_by(FilingRow.created_at.desc(), FilingRow.id)
            for condition in self._conditions(query):
                stmt = stmt.where(condition)
            rows = session.scalars(stmt.limit(query.limit).offset(query.offset)).all()
            return [self._filing(session, r, with_attempts=False) for r in rows]

    @staticmethod
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

    def delivered_receipt_before(
        self, filing_id: str, version: int, destination: str
    ) -> dict[str, Any] | None:
        """The receipt of the newest earlier version delivered to `destination` (for corrections)."""
        with self._transaction() as session:
            return session.scalar(
                select(DeliveryRow.receipt_json)
                .where(
                    DeliveryRow.filing_id == filing_id,
                    DeliveryRow.destination == destination,
                    DeliveryRow.version < version,
                    DeliveryRow.status == DeliveryStatus.DELIVERED,
                )
                .order_by(DeliveryRow.version.desc())
                .limit(1)
            )

    # -- the outbox -----------------------------------------------------------

    def claim_due_deliveries(
        self,
        worker: str,
        limit: int,
        lease: timedelta,
        *,
        exclude: Collection[str] = (),
    ) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries to `worker`.

        Due: pending, next_attempt_at reached, no live lease, and no earlier version of the
        same filing still pending for the same destination (one at a time, in order).
        Each claim gets its own lease token (`worker:random`, in `lease_owner`): every later
        update is fenced on that token, so even two threads of one worker never both settle
        a row. `exclude`: rows this worker still has in flight.
        """
        now = self._clock()
        earlier = aliased(DeliveryRow)
        with self._transaction() as session:
            rows = session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.status == DeliveryStatus.PENDING,
                    DeliveryRow.next_attempt_at <= now,
                    (DeliveryRow.lease_expires_at.is_(None)) | (DeliveryRow.lease_expires_at < now),
                    DeliveryRow.id.notin_(exclude) if exclude else true(),
                    ~exists().where(
                        and_(
                            earlier.filing_id == DeliveryRow.filing_id,
                            earlier.destination == DeliveryRow.destination,
                            earlier.version < DeliveryRow.version,
                            earlier.status == DeliveryStatus.PENDING,
                        )
                    ),
                )
                .order_by(DeliveryRow.next_attempt_at)
                .limit(limit)
                .with_for_update(skip_locked=True, of=DeliveryRow)
            ).all()
            for row in rows:
                row.lease_owner = f"{worker}:{secrets.token_hex(6)}"
                row.lease_expires_at = now + lease
                row.first_attempt_at = row.first_attempt_at or now
                row.updated_at = now
            session.flush()
            return [_delivery(r) for r in rows]

    def save_delivery_state(
        self, delivery_id: str, lease_token: str, state: dict[str, Any], renew: timedelta
    ) -> bool:
        """Save an adapter's state under the claim's lease, renewing the lease; False when
        the lease was lost (another claim owns the row now)."""
        now = self._clock()
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.lease_owner == lease_token)
                .values(state_json=state, lease_expires_at=now + renew, updated_at=now)
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]

    def finish_attempt(
        self,
        delivery_id: str,
        lease_token: str,
        attempt: AttemptRecord,
        *,
        status: str,
        next_attempt_at: datetime | None,
        last_error: str | None = None,
        receipt: dict[str, Any] | None = None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        events: Sequence[AuditEvent] = (),
    ) -> bool:
        """Record an attempt and the delivery's new state, releasing the lease.

        Returns False (and changes only the attempt log) when `lease_token` no longer holds
        the lease: another claim owns the row now and its outcome wins.
        """
        now = self._clock()
        with self._transaction() as session:
            session.add(AttemptRow(delivery_id=delivery_id, **dataclasses.asdict(attempt)))
            values: dict[str, Any] = {
                "status": status,
                "attempts": DeliveryRow.attempts + 1,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_error": last_error,
                "updated_at": now,
            }
            if next_attempt_at is not None:
                values["next_attempt_at"] = next_attempt_at
            if receipt is not None:
                values.update(
                    receipt_json=receipt,
                    receipt_key=receipt_key,
                    receipt_sha256=receipt_sha256,
                    delivered_at=now,
                )
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.lease_owner == lease_token)
                .values(**values)
            )
            if not result.rowcount:  # type: ignore[attr-defined]
                return False
            row = session.get(DeliveryRow, delivery_id)
            assert row is not None
            self._settle_version(session, row.filing_id, row.version)
            session.add_all(self._audit_row(e, now) for e in events)
            return True

    @staticmethod
    def _settle_version(session: Session, filing_id: str, version: int) -> None:
        # Lock the version first: two deliveries of one version finishing at once would
        # otherwise each read the other's old status (READ COMMITTED) and neither settle it.
        session.execute(
            select(VersionRow.version)
            .where(VersionRow.filing_id == filing_id, VersionRow.version == version)
            .with_for_update()
        )
        statuses = set(
            session.scalars(
                select(DeliveryRow.status).where(
                    DeliveryRow.filing_id == filing_id, DeliveryRow.version == version
                )
            )
        )
        new_status = None
        if DeliveryStatus.FAILED in statuses:
            new_status = VersionStatus.DELIVERY_FAILED
        elif statuses == {DeliveryStatus.SUPERSEDED}:
            new_status = VersionStatus.SUPERSEDED  # a newer version went out instead
        elif statuses and statuses <= {DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED}:
            new_status = VersionStatus.PUBLISHED
        if new_status is not None:
            session.execute(
                update(VersionRow)
                .where(VersionRow.filing_id == filing_id, VersionRow.version == version)
                .values(status=new_status)
            )

    def release_leases(self, worker: str) -> int:
        """Give back every lease `worker` holds (on a clean shutdown), so others take over at once."""
        with self._transaction() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.lease_owner.startswith(f"{worker}:", autoescape=True))
                .values(lease_owner=None, lease_expires_at=None, updated_at=self._clock())
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def count_deliveries(self, status: str | None = None) -> int:
        with self._transaction() as session:
            stmt = select(func.count()).select_from(DeliveryRow)
            if status is not None:
                stmt = stmt.where(DeliveryRow.status == status)
            return int(session.scalar(stmt) or 0)

    # -- reviews at the destination ----------------------------------------------

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
                    DeliveryRow.review_status.is_(None) | (DeliveryRow.review_status == "RECEIVED"),
                    DeliveryRow.review_checked_at.is_(None)
                    | (DeliveryRow.review_checked_at < checked_before),
                )
                .order_by(DeliveryRow.review_checked_at.asc().nulls_first(), DeliveryRow.id)
                .limit(limit)
            ).all()
            return [_delivery(r) for r in rows]

    def record_review(
        self,
        delivery_id: str,
        *,
        status: str,
        reason: str | None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        event: AuditEvent | None = None,
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
                session.add(self._audit_row(event, now))

    # -- operator controls ------------------------------------------------------

    def requeue_failed_delivery(
        self, filing_id: str, destination: str, event: AuditEvent
    ) -> DeliveryRecord:
        """Put the newest failed delivery of a filing to a destination back in the outbox, due now,
        with a fresh give-up clock; earlier attempts stay in the log."""
        now = self._clock()
        with self._transaction() as session:
            row = session.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.filing_id == filing_id,
                    DeliveryRow.destination == destination,
                    DeliveryRow.status == DeliveryStatus.FAILED,
                )
                .order_by(DeliveryRow.version.desc())
                .limit(1)
                .with_for_update()
            ).first()
            if row is None:
                raise NotFound(
                    "该报送没有投递失败、可重新投递的记录",
                    "No failed delivery to that destination to retry",
                    code="no_failed_delivery",
                )
            newer = session.scalar(
                select(DeliveryRow.version).where(
                    DeliveryRow.filing_id == row.filing_id,
                    DeliveryRow.destination == row.destination,
                    DeliveryRow.version > row.version,
                    DeliveryRow.status.in_([DeliveryStatus.PENDING, DeliveryStatus.DELIVERED]),
                )
            )
            if newer is not None:
                raise Conflict(
                    f"该报送已有更新的第 {newer} 版投递，不能重新投递旧的第 {row.version} 版",
                    f"Version {newer} goes (or went) to that destination; version {row.version} "
                    "cannot be sent after it",
                    code="newer_version_delivered",
                )
            row.status = DeliveryStatus.PENDING
            row.next_attempt_at = now
            row.first_attempt_at = None
            row.last_error = None
            row.updated_at = now
            version = session.get(VersionRow, (row.filing_id, row.version))
            assert version is not None
            version.status = VersionStatus.ARCHIVED
            session.add(self._audit_row(event, now))
            session.flush()
            return _delivery(row)

    # -- audit ----------------------------------------------------------------

    def audit(self, event: AuditEvent) -> None:
        with self._transaction() as session:
            session.add(self._audit_row(event, self._clock()))

    def audit_events(
        self, subject_prefix: str | None = None, limit: int = 1000
    ) -> list[AuditEvent]:
        with self._transaction() as session:
            stmt = select(AuditRow).order_by(AuditRow.id).limit(limit)
            if subject_prefix:
                stmt = stmt.where(AuditRow.subject.startswith(subject_prefix))
            return [_record(AuditEvent, r) for r in session.scalars(stmt)]

    @staticmethod
    def _audit_row(event: AuditEvent, now: datetime) -> AuditRow:
        return AuditRow(at=now, **dataclasses.asdict(event))
