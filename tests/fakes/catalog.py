"""The catalog in memory: every port of service.catalog.ports over dicts, one lock for
a transaction. It passes the same contract suite as the SQL catalog
(tests/integration/test_catalog.py), so use cases can be tested on it with no database.
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from service.catalog.ports import in_progress
from service.catalog.records import (
    AttemptRecord,
    AuditEntry,
    AuditEvent,
    AuditPage,
    AuditQuery,
    BoardFiling,
    DeliveryRecord,
    Exemption,
    FilingPage,
    FilingQuery,
    FilingRecord,
    FilingSort,
    FixityCheck,
    IngestKey,
    ListingKey,
    NewVersion,
    NotificationRecord,
    StampJob,
    VersionRecord,
    VersionState,
    WithdrawalRecord,
)
from service.domain.errors import (
    Conflict,
    NotFound,
    already_filed,
    duplicate_filing,
    exemption_exists,
)
from service.domain.filing import (
    ARCHIVED_STATUSES,
    PUBLISHING_ACTIONS,
    WITHDRAWABLE_STATUSES,
    DeliveryAction,
    DeliveryStatus,
    FilingKey,
    ReviewState,
    VersionStatus,
    idempotency_key,
    withdrawal_key,
)
from service.domain.ids import filing_id_of, new_id
from service.domain.notifications import Notice, NotificationStatus
from service.domain.outbox import settled_status, supersedable
from service.domain.replacement import existing_report, no_conflict, replacement_key
from service.domain.schedule import check_movable
from service.domain.withdrawal import filing_withdrawn, may_have_gone_out
from tests.fakes.captures import MemoryCaptures
from tests.fakes.timestamps import MemoryTimestamps
from tests.fakes.tokens import MemoryTokens

_UNACKNOWLEDGED = (VersionStatus.RESERVED, VersionStatus.ABANDONED)


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryCatalog(MemoryTokens, MemoryTimestamps, MemoryCaptures):
    """`MemoryCatalog(clock=FakeClock())`; `available = False` makes every call
    raise Unavailable, as a database that cannot be reached does."""

    def __init__(self, *, clock: Callable[[], datetime] = _now) -> None:
        MemoryTokens.__init__(self)
        MemoryTimestamps.__init__(self)
        MemoryCaptures.__init__(self)
        self._clock = clock
        self._lock = threading.RLock()
        self.filings: dict[str, FilingRecord] = {}  # without versions and deliveries
        self.versions: dict[tuple[str, int], VersionRecord] = {}
        self.deliveries: dict[str, DeliveryRecord] = {}
        self.attempts: dict[str, list[AttemptRecord]] = {}
        self.ingest_keys: dict[tuple[str, str], IngestKey] = {}
        self.fixity: list[FixityCheck] = []
        self.audit_log: list[AuditEntry] = []
        self.ended_sessions: dict[str, datetime] = {}
        self.available = True
        self.held: set[tuple[str, int]] = set()  # reservations a living request holds
        self.notification_rows: dict[str, NotificationRecord] = {}
        self.withdrawals: dict[str, WithdrawalRecord] = {}
        self.exempted: dict[tuple[str, str, str], Exemption] = {}

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        from service.domain.errors import Unavailable

        if not self.available:
            raise Unavailable(
                "目录数据库暂不可用，请稍后重试", "The catalog database is unavailable"
            )
        with self._lock:
            yield

    # -- Reservations ---------------------------------------------------------

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
        now = self._clock()
        with self._transaction():
            if content_sha256 is not None:
                self._refuse_same_content(org_code, category, period, content_sha256, now)
            if filing_id is None and filed_once is not None:
                self._refuse_second_filing(filed_once, now)
            if ingest_key is not None and (actor, ingest_key[0]) in self.ingest_keys:
                raise _version_conflict()
            if filing_id is None:
                filing_id = new_filing_id or new_id("fil")
                if filing_id in self.filings:
                    raise _version_conflict()
                self.filings[filing_id] = FilingRecord(
                    filing_id,
                    org_code,
                    org_name,
                    category,
                    period,
                    0,
                    now,
                    actor,
                    variant=filed_once.variant if filed_once is not None else None,
                )
            elif filing_id not in self.filings:
                raise _version_conflict()  # SQL: the version's foreign key fails
            elif filing_id in self.withdrawals:
                raise filing_withdrawn(filing_id)
            number = 1 + max((n for f, n in self.versions if f == filing_id), default=0)
            self.versions[(filing_id, number)] = _version(
                filing_id, number, make_version(filing_id, number), actor, now
            )
            if ingest_key is not None:
                key, fingerprint = ingest_key
                self.ingest_keys[(actor, key)] = IngestKey(
                    actor, key, fingerprint, filing_id, number
                )
        return filing_id, number

    def _refuse_same_content(
        self, org_code: str, category: str, period: str, sha256: str, now: datetime
    ) -> None:
        for version in self._versions_of(org_code, category, period):
            if version.sha256 != sha256 or version.status is VersionStatus.ABANDONED:
                continue
            if version.filing_id in self.withdrawals:
                continue
            if version.status is VersionStatus.RESERVED:
                held = self.reservation_held(version.filing_id, version.version)
                if not in_progress(held, version.created_at, now):
                    continue  # its request died: it will never be acknowledged
                raise Conflict(
                    "相同文件的另一次提交正在处理中，请稍后重试",
                    "A submission of the same file is being processed; retry later",
                    code="duplicate_in_progress",
                    retry_after=5,
                )
            raise duplicate_filing(version.filing_id, version.version)

    def _refuse_second_filing(self, key: FilingKey, now: datetime) -> None:
        for version in self._under(key):
            if version.status in ARCHIVED_STATUSES:
                raise already_filed(version.filing_id)
            held = self.reservation_held(version.filing_id, version.version)
            if version.status is VersionStatus.RESERVED and in_progress(
                held, version.created_at, now
            ):
                raise Conflict(code="filing_in_progress", retry_after=5)

    def _under(self, key: FilingKey) -> list[VersionRecord]:
        return [
            v
            for v in self._versions_of(key.org_code, key.category, key.period)
            if self.filings[v.filing_id].variant == key.variant
            and v.filing_id not in self.withdrawals
        ]

    def find_filed(self, key: FilingKey) -> str | None:
        with self._transaction():
            filed = [v for v in self._under(key) if v.status in ARCHIVED_STATUSES]
            return filed[0].filing_id if filed else None

    def _versions_of(self, org_code: str, category: str, period: str) -> list[VersionRecord]:
        ids = {
            f.id
            for f in self.filings.values()
            if (f.org_code, f.category, f.period) == (org_code, category, period)
        }
        return [v for (f, _), v in self.versions.items() if f in ids]

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
        with self._transaction():
            row = self.versions.get((filing_id, version))
            if row is None or row.status is not VersionStatus.RESERVED:
                raise NotFound(code="version_not_reserved")
            status = VersionStatus.ARCHIVED if destinations else VersionStatus.PUBLISHED
            withdrawn = filing_id in self.withdrawals  # meanwhile: kept, never sent
            self.versions[(filing_id, version)] = dataclasses.replace(
                row,
                status=VersionStatus.WITHDRAWN if withdrawn else status,
                manifest_sha256=manifest_sha256,
            )
            filing = self.filings[filing_id]
            if filing.latest_version < version:
                self.filings[filing_id] = dataclasses.replace(filing, latest_version=version)
            due = max(now, row.publish_at) if row.publish_at else now
            created = [_delivery(filing_id, version, d, due, now) for d in destinations]
            if withdrawn:
                created = [dataclasses.replace(d, status=DeliveryStatus.CANCELLED) for d in created]
            self.deliveries.update((d.id, d) for d in created)
            skipped = [_delivery(filing_id, version, d, now, now) for d in not_enabled]
            self.deliveries.update(
                (d.id, dataclasses.replace(d, status=DeliveryStatus.NOT_ENABLED)) for d in skipped
            )
            self.add_stamps(stamps, now)
            for older in self._supersede_untried(filing_id, version, destinations, now):
                self._settle(filing_id, older)
            self._audit(event, now)
            return created

    def _supersede_untried(
        self, filing_id: str, version: int, destinations: Sequence[str], now: datetime
    ) -> set[int]:
        touched: set[int] = set()
        for d in list(self.deliveries.values()):
            older = d.filing_id == filing_id and d.version < version
            publishing = d.action is DeliveryAction.PUBLISH
            if older and publishing and d.destination in destinations and supersedable(d):
                self.deliveries[d.id] = dataclasses.replace(
                    d, status=DeliveryStatus.SUPERSEDED, updated_at=now
                )
                touched.add(d.version)
        return touched

    @contextmanager
    def hold_reservation(self, filing_id: str, version: int) -> Iterator[None]:
        with self._lock:
            self.held.add((filing_id, version))
        try:
            yield
        finally:
            with self._lock:
                self.held.discard((filing_id, version))

    def reservation_held(self, filing_id: str, version: int) -> bool:
        with self._lock:
            return (filing_id, version) in self.held

    def abandon_version(self, filing_id: str, version: int, event: AuditEvent) -> bool:
        with self._transaction():
            row = self.versions.get((filing_id, version))
            if row is None or row.status is not VersionStatus.RESERVED:
                return False
            self.versions[(filing_id, version)] = dataclasses.replace(
                row, status=VersionStatus.ABANDONED
            )
            for key, found in list(self.ingest_keys.items()):
                if (found.filing_id, found.version) == (filing_id, version):
                    del self.ingest_keys[key]
            self._audit(event, self._clock())
            return True

    def find_ingest_key(self, principal: str, key: str) -> IngestKey | None:
        with self._transaction():
            return self.ingest_keys.get((principal, key))

    def find_same_content(
        self, org_code: str, category: str, period: str, sha256: str
    ) -> tuple[str, int] | None:
        with self._transaction():
            for v in self._versions_of(org_code, category, period):
                if v.filing_id in self.withdrawals:
                    continue
                if v.sha256 == sha256 and v.status not in _UNACKNOWLEDGED:
                    return v.filing_id, v.version
            return None

    def latest_metadata(self, org_code: str, category: str, period: str) -> dict[str, Any] | None:
        with self._transaction():
            live = [
                v for v in self._versions_of(org_code, category, period)
                if v.status not in _UNACKNOWLEDGED
            ]  # fmt: skip
            newest = max(live, key=lambda v: (v.created_at, v.version), default=None)
            return None if newest is None else dict(newest.metadata)

    # -- Outbox ---------------------------------------------------------------

    def claim_due_deliveries(
        self, worker: str, limit: int, lease: timedelta, *, exclude: Collection[str] = ()
    ) -> list[DeliveryRecord]:
        now = self._clock()
        with self._transaction():
            due = sorted(
                (d for d in self.deliveries.values() if self._due(d, now, exclude)),
                key=lambda d: d.next_attempt_at,
            )[:limit]
            claimed = [
                dataclasses.replace(
                    d,
                    lease_owner=f"{worker}:{secrets.token_hex(6)}",
                    lease_expires_at=now + lease,
                    first_attempt_at=d.first_attempt_at or now,
                    updated_at=now,
                )
                for d in due
            ]
            self.deliveries.update((d.id, d) for d in claimed)
            return claimed

    def _due(self, d: DeliveryRecord, now: datetime, exclude: Collection[str]) -> bool:
        if d.status is not DeliveryStatus.PENDING or d.next_attempt_at > now or d.id in exclude:
            return False
        if d.lease_expires_at is not None and d.lease_expires_at >= now:
            return False
        return not any(
            e.filing_id == d.filing_id
            and e.destination == d.destination
            and e.version < d.version
            and e.status is DeliveryStatus.PENDING
            for e in self.deliveries.values()
        )

    def save_delivery_state(
        self, delivery_id: str, lease_token: str, state: dict[str, Any], renew: timedelta
    ) -> bool:
        now = self._clock()
        with self._transaction():
            d = self.deliveries.get(delivery_id)
            if d is None or d.lease_owner != lease_token:
                return False
            self.deliveries[delivery_id] = dataclasses.replace(
                d, state=dict(state), lease_expires_at=now + renew, updated_at=now
            )
            return True

    def postpone_delivery(self, delivery_id: str, lease_token: str, until: datetime) -> bool:
        with self._transaction():
            d = self.deliveries.get(delivery_id)
            if d is None or d.lease_owner != lease_token:
                return False
            self.deliveries[delivery_id] = dataclasses.replace(
                d,
                next_attempt_at=until,
                lease_owner=None,
                lease_expires_at=None,
                first_attempt_at=d.first_attempt_at if d.attempts else None,
                updated_at=self._clock(),
            )
            return True

    def finish_attempt(
        self,
        delivery_id: str,
        lease_token: str,
        attempt: AttemptRecord,
        *,
        status: DeliveryStatus,
        next_attempt_at: datetime | None,
        last_error: str | None = None,
        receipt: dict[str, Any] | None = None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        events: Sequence[AuditEvent] = (),
        notices: Sequence[Notice] = (),
    ) -> bool:
        now = self._clock()
        with self._transaction():
            self.attempts.setdefault(delivery_id, []).append(attempt)
            d = self.deliveries.get(delivery_id)
            if d is None or d.lease_owner != lease_token:
                return False
            changes: dict[str, Any] = {
                "status": DeliveryStatus(status),
                "attempts": d.attempts + 1,
                "lease_owner": None,
                "lease_expires_at": None,
                "last_error": last_error,
                "updated_at": now,
                "next_attempt_at": next_attempt_at or d.next_attempt_at,
            }
            if receipt is not None:
                changes.update(
                    receipt=receipt,
                    receipt_key=receipt_key,
                    receipt_sha256=receipt_sha256,
                    delivered_at=now,
                )
            self.deliveries[delivery_id] = dataclasses.replace(d, **changes)
            self._settle(d.filing_id, d.version)
            for event in events:
                self._audit(event, now)
            self._add_notices(notices, now)
            return True

    def _settle(self, filing_id: str, version: int) -> None:
        if self.versions[(filing_id, version)].status is VersionStatus.WITHDRAWN:
            return
        statuses = {
            d.status
            for d in self.deliveries.values()
            if (d.filing_id, d.version) == (filing_id, version) and d.action in PUBLISHING_ACTIONS
        }
        new_status = settled_status(statuses)
        if new_status is not None:
            row = self.versions[(filing_id, version)]
            self.versions[(filing_id, version)] = dataclasses.replace(row, status=new_status)

    def release_leases(self, worker: str) -> int:
        now = self._clock()
        with self._transaction():
            held = [
                d for d in self.deliveries.values()
                if d.lease_owner and d.lease_owner.startswith(f"{worker}:")
            ]  # fmt: skip
            for d in held:
                self.deliveries[d.id] = dataclasses.replace(
                    d, lease_owner=None, lease_expires_at=None, updated_at=now
                )
            return len(held)

    def requeue_failed_delivery(
        self, filing_id: str, destination: str, event: AuditEvent
    ) -> DeliveryRecord:
        now = self._clock()
        with self._transaction():
            failed = [
                d for d in self.deliveries.values()
                if (d.filing_id, d.destination, d.status) == (filing_id, destination, DeliveryStatus.FAILED)
            ]  # fmt: skip
            if not failed:
                raise NotFound(
                    "该报送没有投递失败、可重新投递的记录",
                    "No failed delivery to that destination to retry",
                    code="no_failed_delivery",
                )
            row = max(failed, key=lambda d: (d.version, d.action))
            publishing = row.action in PUBLISHING_ACTIONS
            if publishing and filing_id in self.withdrawals:
                raise filing_withdrawn(filing_id)
            self._refuse_if_newer_went(row)
            requeued = dataclasses.replace(
                row,
                status=DeliveryStatus.PENDING,
                next_attempt_at=now,
                first_attempt_at=None,
                last_error=None,
                updated_at=now,
            )
            self.deliveries[row.id] = requeued
            version = self.versions[(row.filing_id, row.version)]
            if publishing:
                self.versions[(row.filing_id, row.version)] = dataclasses.replace(
                    version, status=VersionStatus.ARCHIVED
                )
            self._audit(event, now)
            return requeued

    def _refuse_if_newer_went(self, row: DeliveryRecord) -> None:
        for d in self.deliveries.values():
            newer = (d.filing_id, d.destination) == (row.filing_id, row.destination)
            if (
                newer
                and d.version > row.version
                and d.status
                in (
                    DeliveryStatus.PENDING,
                    DeliveryStatus.DELIVERED,
                )
            ):
                raise Conflict(
                    f"该报送已有更新的第 {d.version} 版投递，不能重新投递旧的第 {row.version} 版",
                    f"Version {d.version} goes (or went) to that destination; version "
                    f"{row.version} cannot be sent after it",
                    code="newer_version_delivered",
                )

    def delivered_receipt_before(
        self, filing_id: str, version: int, destination: str
    ) -> dict[str, Any] | None:
        with self._transaction():
            earlier = [
                d for d in self.deliveries.values()
                if (d.filing_id, d.destination, d.status) == (filing_id, destination, DeliveryStatus.DELIVERED)
                and d.version < version and d.action in PUBLISHING_ACTIONS
            ]  # fmt: skip
            newest = max(earlier, key=lambda d: d.version, default=None)
            return None if newest is None else newest.receipt

    def oldest_due_delivery(self) -> datetime | None:
        now = self._clock()
        with self._transaction():
            due = [
                d.next_attempt_at
                for d in self.deliveries.values()
                if d.status is DeliveryStatus.PENDING and d.next_attempt_at <= now
            ]
            return min(due, default=None)

    def count_deliveries(self, status: DeliveryStatus | None = None) -> int:
        with self._transaction():
            return sum(1 for d in self.deliveries.values() if status is None or d.status == status)

    # -- Reviews --------------------------------------------------------------

    def deliveries_awaiting_review(
        self, destination: str, *, checked_before: datetime, limit: int
    ) -> list[DeliveryRecord]:
        with self._transaction():
            waiting = [
                d for d in self.deliveries.values()
                if d.destination == destination
                and d.status is DeliveryStatus.DELIVERED
                and d.review_status in (None, ReviewState.RECEIVED)
                and (d.review_checked_at is None or d.review_checked_at < checked_before)
            ]  # fmt: skip
            never = datetime.min.replace(tzinfo=UTC)
            waiting.sort(key=lambda d: (d.review_checked_at or never, d.id))
            return waiting[:limit]

    def record_review(
        self,
        delivery_id: str,
        *,
        status: ReviewState,
        reason: str | None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        event: AuditEvent | None = None,
        notices: Sequence[Notice] = (),
    ) -> None:
        now = self._clock()
        with self._transaction():
            d = self.deliveries[delivery_id]
            changes: dict[str, Any] = {
                "review_status": ReviewState(status),
                "review_reason": reason,
                "review_checked_at": now,
                "updated_at": now,
            }
            if receipt_key is not None:
                changes.update(review_receipt_key=receipt_key, review_receipt_sha256=receipt_sha256)
            self.deliveries[delivery_id] = dataclasses.replace(d, **changes)
            if event is not None:
                self._audit(event, now)
            self._add_notices(notices, now)

    # -- Fixity ---------------------------------------------------------------

    def record_fixity(
        self,
        check: FixityCheck,
        event: AuditEvent | None = None,
        notices: Sequence[Notice] = (),
    ) -> None:
        with self._transaction():
            self._add_notices(notices, self._clock())
            self.fixity.append(check)
            key = (check.filing_id, check.version)
            if key in self.versions:
                self.versions[key] = dataclasses.replace(
                    self.versions[key], last_verified_at=check.checked_at, last_verified_ok=check.ok
                )
            if event is not None:
                self._audit(event, self._clock())

    def fixity_checks(self, filing_id: str) -> list[FixityCheck]:
        with self._transaction():
            return [c for c in self.fixity if c.filing_id == filing_id]

    def versions_to_verify(
        self, *, not_verified_since: datetime | None, limit: int | None, random_order: bool
    ) -> list[VersionRecord]:
        with self._transaction():
            found = [
                v for v in self.versions.values()
                if v.status not in _UNACKNOWLEDGED
                and (not_verified_since is None or v.last_verified_at is None
                     or v.last_verified_at < not_verified_since)
            ]  # fmt: skip
            never = datetime.min.replace(tzinfo=UTC)
            found.sort(key=lambda v: (v.last_verified_at or never, v.filing_id, v.version))
            if random_order:
                secrets.SystemRandom().shuffle(found)
            return found[:limit] if limit is not None else found

    # -- Notifications --------------------------------------------------------

    def enqueue_notifications(self, notices: Sequence[Notice]) -> int:
        with self._transaction():
            return self._add_notices(notices, self._clock())

    def _add_notices(self, notices: Sequence[Notice], now: datetime) -> int:
        queued = {(n.event_id, n.channel, n.recipient) for n in self.notification_rows.values()}
        added = 0
        for notice in notices:
            event = notice.event
            if (event.event_id, notice.channel, notice.recipient) in queued:
                continue
            queued.add((event.event_id, notice.channel, notice.recipient))
            row = NotificationRecord(
                id=f"ntf_{secrets.token_hex(16)}",
                event_id=event.event_id,
                kind=event.kind,
                subject=event.subject,
                filing_id=event.filing_id,
                org_code=event.org_code,
                occurred_at=event.occurred_at,
                detail=dict(event.detail),
                channel=notice.channel,
                recipient=notice.recipient,
                status=NotificationStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                first_attempt_at=None,
                lease_owner=None,
                lease_expires_at=None,
                last_error=None,
                created_at=now,
                sent_at=None,
            )
            self.notification_rows[row.id] = row
            added += 1
        return added

    def claim_due_notifications(
        self, worker: str, limit: int, lease: timedelta
    ) -> list[NotificationRecord]:
        now = self._clock()
        with self._transaction():
            due = sorted(
                (
                    n for n in self.notification_rows.values()
                    if n.status is NotificationStatus.PENDING
                    and n.next_attempt_at <= now
                    and (n.lease_expires_at is None or n.lease_expires_at <= now)
                ),
                key=lambda n: (n.next_attempt_at, n.id),
            )[:limit]  # fmt: skip
            claimed = [
                dataclasses.replace(
                    n,
                    lease_owner=f"{worker}:{secrets.token_hex(6)}",
                    lease_expires_at=now + lease,
                    first_attempt_at=n.first_attempt_at or now,
                )
                for n in due
            ]
            self.notification_rows.update((n.id, n) for n in claimed)
            return claimed

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
        with self._transaction():
            n = self.notification_rows.get(notification_id)
            if n is None or n.lease_owner != lease_token:
                return False
            self.notification_rows[notification_id] = dataclasses.replace(
                n,
                status=NotificationStatus(status),
                attempts=n.attempts + 1,
                next_attempt_at=next_attempt_at or n.next_attempt_at,
                lease_owner=None,
                lease_expires_at=None,
                last_error=last_error,
                sent_at=now if status is NotificationStatus.SENT else None,
            )
            if event is not None:
                self._audit(event, now)
            return True

    def notifications(self, event_id: str | None = None) -> list[NotificationRecord]:
        with self._transaction():
            rows = sorted(self.notification_rows.values(), key=lambda n: (n.created_at, n.id))
            return [n for n in rows if event_id is None or n.event_id == event_id]

    # -- AuditLog -------------------------------------------------------------

    def audit(self, event: AuditEvent) -> None:
        with self._transaction():
            self._audit(event, self._clock())

    def _audit(self, event: AuditEvent, now: datetime) -> None:
        self.audit_log.append(AuditEntry(now, event))

    def audit_events(
        self, subject_prefix: str | None = None, limit: int = 1000
    ) -> list[AuditEvent]:
        with self._transaction():
            return [
                e.event for e in self.audit_log
                if not subject_prefix or e.event.subject.startswith(subject_prefix)
            ][:limit]  # fmt: skip

    def audit_trail(self, query: AuditQuery) -> AuditPage:
        with self._transaction():
            found = [
                ((e.at, n), e) for n, e in enumerate(self.audit_log, start=1)
                if _in_trail(e, query) and (query.after is None or (e.at, n) < query.after)
            ]  # fmt: skip
            found.sort(key=lambda pair: pair[0], reverse=True)
            page = found[: query.limit]
            more = len(found) > query.limit
            return AuditPage(tuple(e for _, e in page), page[-1][0] if more else None)

    def count_recent(self, action: str, source: str, since: datetime) -> int:
        with self._transaction():
            return sum(
                1 for e in self.audit_log
                if e.event.action == action and e.event.source == source and e.at >= since
            )  # fmt: skip

    # -- Page sessions ----------------------------------------------------------

    def end_page_session(self, session_id: str, event: AuditEvent, forget_before: datetime) -> None:
        with self._transaction():
            now = self._clock()
            self.ended_sessions = {
                sid: at for sid, at in self.ended_sessions.items() if at >= forget_before
            }
            self.ended_sessions.setdefault(session_id, now)
            self._audit(event, now)

    def page_session_ended(self, session_id: str) -> bool:
        with self._transaction():
            return session_id in self.ended_sessions

    # -- Filings --------------------------------------------------------------

    def ping(self) -> None:
        with self._transaction():
            return

    def get_filing(self, filing_id: str, *, with_attempts: bool = True) -> FilingRecord | None:
        with self._transaction():
            filing = self.filings.get(filing_id)
            return None if filing is None else self._whole(filing, with_attempts=with_attempts)

    def _whole(self, filing: FilingRecord, *, with_attempts: bool) -> FilingRecord:
        versions = sorted(
            (v for (f, _), v in self.versions.items() if f == filing.id), key=lambda v: v.version
        )
        deliveries = sorted(
            (d for d in self.deliveries.values() if d.filing_id == filing.id),
            key=lambda d: (d.version, d.destination, d.action),
        )
        if with_attempts:
            deliveries = [
                dataclasses.replace(d, attempt_log=tuple(self.attempts.get(d.id, ())))
                for d in deliveries
            ]
        return dataclasses.replace(
            filing,
            versions=tuple(versions),
            deliveries=tuple(deliveries),
            withdrawal=self.withdrawals.get(filing.id),
        )

    def get_version(self, filing_id: str, version: int) -> VersionRecord | None:
        with self._transaction():
            return self.versions.get((filing_id, version))

    def list_filings(self, query: FilingQuery) -> list[FilingRecord]:
        return list(self.search_filings(query).filings)

    def count_filings(self, query: FilingQuery) -> int:
        return self.search_filings(query).total

    def search_filings(self, query: FilingQuery) -> FilingPage:
        with self._transaction():
            whole = [self._whole(f, with_attempts=False) for f in self.filings.values()]
            if query.org_name is not None:  # a body is found by any name it filed under
                named = {f.org_code for f in self.filings.values() if query.org_name in f.org_name}
                whole = [f for f in whole if f.org_code in named]
            found = sorted(
                (f for f in whole if _matches(f, query)),
                key=lambda f: _sort_key(f, query),
                reverse=query.descending,
            )
            beyond = [f for f in found if _beyond(f, query)]
            page = beyond[query.offset : query.offset + query.limit + 1]
            more = len(page) > query.limit
            page = page[: query.limit]
            after = _sort_key(page[-1], query) if more else None
            total, exact = min(len(found), query.count_up_to), len(found) <= query.count_up_to
            return FilingPage(tuple(page), total, after, total_exact=exact)

    # -- Withdrawals ----------------------------------------------------------

    def withdraw_filing(
        self, withdrawal: WithdrawalRecord, takedown: Collection[str], event: AuditEvent
    ) -> bool:
        now = self._clock()
        filing_id = withdrawal.filing_id
        with self._transaction():
            filing = self.filings.get(filing_id)
            if filing is None:
                raise NotFound("未找到该报送", "No such filing", code="filing_not_found")
            if filing_id in self.withdrawals:
                return False
            self.withdrawals[filing_id] = withdrawal
            publishing = self._cancel_untried(filing_id, now)
            for key, v in list(self.versions.items()):
                if v.filing_id == filing_id and v.status in WITHDRAWABLE_STATUSES:
                    self.versions[key] = dataclasses.replace(v, status=VersionStatus.WITHDRAWN)
            gone = {d.destination for d in publishing if may_have_gone_out(d.status)}
            for destination in sorted(gone & set(takedown)):
                job = _delivery(filing_id, filing.latest_version, destination, now, now)
                self.deliveries[job.id] = dataclasses.replace(
                    job,
                    action=DeliveryAction.WITHDRAW,
                    idempotency_key=withdrawal_key(filing_id, destination),
                )
            self._audit(event, now)
            return True

    def _cancel_untried(self, filing_id: str, now: datetime) -> list[DeliveryRecord]:
        publishing = [
            d for d in self.deliveries.values()
            if d.filing_id == filing_id and d.action in PUBLISHING_ACTIONS
        ]  # fmt: skip
        for d in publishing:
            if supersedable(d):
                self.deliveries[d.id] = dataclasses.replace(
                    d, status=DeliveryStatus.CANCELLED, updated_at=now
                )
        return [self.deliveries[d.id] for d in publishing]

    # -- Schedules ------------------------------------------------------------

    def reschedule(
        self, filing_id: str, version: int, publish_at: datetime | None, event: AuditEvent
    ) -> None:
        now = self._clock()
        with self._transaction():
            row = self.versions.get((filing_id, version))
            if row is None or row.status not in ARCHIVED_STATUSES:
                raise NotFound("未找到该报送", "No such filing", code="filing_not_found")
            if filing_id in self.withdrawals:
                raise filing_withdrawn(filing_id)
            deliveries = [
                d for d in self.deliveries.values()
                if (d.filing_id, d.version) == (filing_id, version)
                and d.action is DeliveryAction.PUBLISH
            ]  # fmt: skip
            check_movable(deliveries)
            self.versions[(filing_id, version)] = dataclasses.replace(row, publish_at=publish_at)
            status = DeliveryStatus.HELD if publish_at is None else DeliveryStatus.PENDING
            for d in deliveries:
                self.deliveries[d.id] = dataclasses.replace(
                    d,
                    status=status,
                    next_attempt_at=publish_at or d.next_attempt_at,
                    updated_at=now,
                )
            self._audit(event, now)

    # -- Replacements ---------------------------------------------------------

    def replace_existing(self, failed_id: str, state: dict[str, Any], event: AuditEvent) -> bool:
        now = self._clock()
        with self._transaction():
            failed = self.deliveries.get(failed_id)
            if failed is None:
                raise NotFound("未找到该投递", "No such delivery", code="delivery_not_found")
            key = replacement_key(failed.filing_id, failed.version, failed.destination)
            if any(d.idempotency_key == key for d in self.deliveries.values()):
                return False
            if failed.filing_id in self.withdrawals:
                raise filing_withdrawn(failed.filing_id)
            if failed.status is not DeliveryStatus.FAILED or existing_report(failed) is None:
                raise no_conflict()
            self.deliveries[failed_id] = dataclasses.replace(
                failed, status=DeliveryStatus.SUPERSEDED, updated_at=now
            )
            added = _delivery(failed.filing_id, failed.version, failed.destination, now, now)
            self.deliveries[added.id] = dataclasses.replace(
                added, action=DeliveryAction.REPLACE, idempotency_key=key, state=dict(state)
            )
            version = self.versions[(failed.filing_id, failed.version)]
            self.versions[(failed.filing_id, failed.version)] = dataclasses.replace(
                version, status=VersionStatus.ARCHIVED
            )
            self._audit(event, now)
            return True

    # -- Deadlines ------------------------------------------------------------

    def board_filings(self, org_codes: frozenset[str] | None, year: int) -> list[BoardFiling]:
        with self._transaction():
            found = [
                _board_filing(self._whole(f, with_attempts=False), f.id in self.withdrawals)
                for f in self.filings.values()
                if (org_codes is None or f.org_code in org_codes)
                and str(year) <= f.period < str(year + 1)
            ]
            return sorted(
                (f for f in found if f is not None),
                key=lambda f: (f.org_code, f.category, f.period, f.filing_id),
            )

    def add_exemption(self, exemption: Exemption, event: AuditEvent) -> None:
        with self._transaction():
            key = (exemption.org_code, exemption.category, exemption.period)
            if key in self.exempted:
                raise exemption_exists(*key)
            self.exempted[key] = exemption
            self._audit(event, self._clock())

    def exemptions(
        self, org_codes: frozenset[str] | None, period: str | None = None
    ) -> list[Exemption]:
        with self._transaction():
            return [
                e
                for key, e in sorted(self.exempted.items())
                if (org_codes is None or e.org_code in org_codes)
                and (period is None or e.period == period)
            ]

    # -- Restore --------------------------------------------------------------

    def version_states(self) -> list[VersionState]:
        with self._transaction():
            states = [
                VersionState(v.filing_id, v.version, v.status, v.package_prefix, v.created_at)
                for v in self.versions.values()
            ]
            return sorted(states, key=lambda s: s.package_prefix)

    def recorded_receipt_keys(self) -> frozenset[str]:
        with self._transaction():
            keys = (
                k for d in self.deliveries.values() for k in (d.receipt_key, d.review_receipt_key)
            )
            records = {w.record_key for w in self.withdrawals.values()}
            return frozenset({k for k in keys if k is not None} | records)

    def audit_entries(self, start: datetime, end: datetime) -> list[AuditEntry]:
        with self._transaction():
            return sorted((e for e in self.audit_log if start <= e.at < end), key=lambda e: e.at)

    def first_audit_at(self) -> datetime | None:
        with self._transaction():
            return min((e.at for e in self.audit_log), default=None)

    def is_empty(self) -> bool:
        with self._transaction():
            return not (
                self.filings or self.versions or self.deliveries or self.audit_log
                or self.tokens or self.withdrawals or self.exempted
            )  # fmt: skip

    @contextmanager
    def restoring(self) -> Iterator[_MemoryRestorer]:
        with self._transaction():
            if not self.is_empty():
                raise Conflict(
                    "目录数据库不为空，拒绝重建；请换用一个空的数据库",
                    "The catalog is not empty; a rebuild needs an empty database",
                    code="catalog_not_empty",
                )
            yield _MemoryRestorer(self)


class _MemoryRestorer:
    def __init__(self, catalog: MemoryCatalog) -> None:
        self._catalog = catalog

    def add_filing(self, filing: FilingRecord) -> None:
        c = self._catalog
        c.filings[filing.id] = dataclasses.replace(
            filing, versions=(), deliveries=(), withdrawal=None
        )
        if filing.withdrawal is not None:
            c.withdrawals[filing.id] = filing.withdrawal
        c.versions.update(((v.filing_id, v.version), v) for v in filing.versions)
        c.deliveries.update(
            (d.id, dataclasses.replace(d, attempt_log=())) for d in filing.deliveries
        )

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        self._catalog.audit_log.extend(entries)

    def add_exemptions(self, exemptions: Iterable[Exemption]) -> None:
        self._catalog.exempted.update(((e.org_code, e.category, e.period), e) for e in exemptions)


def _board_filing(filing: FilingRecord, withdrawn: bool) -> BoardFiling | None:
    acknowledged = [v for v in filing.versions if v.status not in _UNACKNOWLEDGED]
    if not acknowledged:
        return None
    latest = [v for v in acknowledged if v.version == filing.latest_version]
    budget = latest[0].metadata.get("budget") if latest else None
    approved = budget.get("approved_on") if isinstance(budget, dict) else None
    published = [
        d.delivered_at
        for d in filing.deliveries
        if d.destination == "portal" and d.delivered_at is not None
    ]
    return BoardFiling(
        filing_id=filing.id,
        org_code=filing.org_code,
        category=filing.category,
        period=filing.period,
        variant=filing.variant,
        filed_at=min(v.created_at for v in acknowledged),
        published_at=min(published, default=None),
        approved_on=approved
        if isinstance(approved, str) and filing.category == "budget_final_accounts"
        else None,
        withdrawn=withdrawn,
    )


def _sort_key(filing: FilingRecord, query: FilingQuery) -> ListingKey:
    if query.sort is FilingSort.CREATED_AT:
        return (filing.created_at, filing.id)
    return (getattr(filing, query.sort.value), filing.created_at, filing.id)


def _beyond(filing: FilingRecord, query: FilingQuery) -> bool:
    if query.after is None:
        return True
    key: Any = _sort_key(filing, query)
    return bool(key < query.after if query.descending else key > query.after)


def _matches(filing: FilingRecord, query: FilingQuery) -> bool:
    if not any(v.status not in _UNACKNOWLEDGED for v in filing.versions):
        return False  # never acknowledged: not listed
    if query.org_codes is not None and filing.org_code not in query.org_codes:
        return False
    for field_name in ("org_code", "category", "period"):
        wanted = getattr(query, field_name)
        if wanted is not None and getattr(filing, field_name) != wanted:
            return False
    latest = [v for v in filing.versions if v.version == filing.latest_version]
    if query.status is not None and not any(v.status == query.status for v in latest):
        return False
    if not _words_match(latest, query) or not _submitted_within(filing, query):
        return False
    if query.delivery_status is not None and not any(
        d.status == query.delivery_status for d in filing.deliveries
    ):
        return False
    return query.review_status is None or any(
        d.version == filing.latest_version and d.review_status == query.review_status
        for d in filing.deliveries
    )


def _in_trail(entry: AuditEntry, query: AuditQuery) -> bool:
    event = entry.event
    if query.org_codes is not None and event.org_code not in query.org_codes:
        return False
    wanted = {
        "org_code": query.org_code, "actor": query.actor, "action": query.action,
    }  # fmt: skip
    if any(v is not None and getattr(event, k) != v for k, v in wanted.items()):
        return False
    if query.filing_id is not None and filing_id_of(event.subject) != query.filing_id:
        return False
    return (query.since is None or entry.at >= query.since) and (
        query.until is None or entry.at < query.until
    )


def _words_match(latest: list[VersionRecord], query: FilingQuery) -> bool:
    words = query.title
    return words is None or any(v.title is not None and words in v.title for v in latest)


def _submitted_within(filing: FilingRecord, query: FilingQuery) -> bool:
    since, until = query.submitted_since, query.submitted_until
    return (since is None or filing.created_at >= since) and (
        until is None or filing.created_at < until
    )


def _version_conflict() -> Conflict:
    return Conflict(
        "该报送的版本号或幂等键已被并发提交占用，请稍后重试",
        "That version number or idempotency key was taken by a concurrent request; retry",
        code="version_conflict",
    )


def _version(
    filing_id: str, number: int, spec: NewVersion, actor: str, now: datetime
) -> VersionRecord:
    return VersionRecord(
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
        metadata=dict(spec.metadata),
        findings=list(spec.findings),
        publish_at=spec.publish_at,
        created_at=now,
        created_by=actor,
    )


def _delivery(
    filing_id: str, version: int, destination: str, due: datetime, now: datetime
) -> DeliveryRecord:
    return DeliveryRecord(
        id=new_id("dlv"),
        filing_id=filing_id,
        version=version,
        destination=destination,
        idempotency_key=idempotency_key(filing_id, version, destination),
        status=DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=due,
        first_attempt_at=None,
        lease_owner=None,
        lease_expires_at=None,
        state={},
        receipt=None,
        receipt_key=None,
        receipt_sha256=None,
        last_error=None,
        review_status=None,
        review_reason=None,
        review_checked_at=None,
        review_receipt_key=None,
        review_receipt_sha256=None,
        created_at=now,
        updated_at=now,
        delivered_at=None,
    )
