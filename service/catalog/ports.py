"""The catalog's ports, in the service's words: what each use case asks of the catalog.
One adapter implements them all on SQL (service.catalog.sql: SQLite, PostgreSQL), a fake
in memory for unit tests (tests/fakes/catalog.py); one contract suite runs on the
three (tests/integration/test_catalog.py).

    Reservations   ingest: reserve (filing, version) before the package, complete or
                   abandon it, idempotency keys, duplicate content, last year's metadata
    Outbox         the worker: claim due deliveries under a lease, journal, settle
    Reviews        tick: deliveries the destination still reviews, and the outcomes
    Fixity         verify and audit: checks done, versions to check
    AuditLog       every state change: who, when, what, from where; the trail, filtered
    Filings        reading: a filing with its versions and deliveries, search (a page,
                   its total, keyset paging)
    Restore        disaster recovery: what reconcile and the audit export read, and the
                   bulk writes of a rebuild into an empty catalog

Every method is one transaction; a catalog that cannot be reached raises Unavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from service.catalog.records import (
    AttemptRecord,
    AuditEntry,
    AuditEvent,
    AuditPage,
    AuditQuery,
    DeliveryRecord,
    FilingPage,
    FilingQuery,
    FilingRecord,
    FixityCheck,
    IngestKey,
    NewVersion,
    VersionRecord,
    VersionState,
)
from service.domain.filing import DeliveryStatus, ReviewState

# A reservation this young counts as held whether or not its hold is taken yet: the
# request that made it takes the hold a moment after the reservation commits.
RESERVATION_GRACE = timedelta(seconds=30)


def in_progress(held: bool, reserved_at: datetime, now: datetime) -> bool:
    """Whether a reserved version's request may still be archiving it."""
    return held or now - reserved_at < RESERVATION_GRACE


class Reservations(Protocol):
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
        """The next version number (1 and `new_filing_id` for a new filing), held before
        the package is written: two concurrent corrections never get the same number
        (the loser gets Conflict). With `content_sha256`, the same bytes already filed
        for the body, kind and period are refused (duplicate_filing) — serialised, so
        two identical submissions at one moment are not both reserved."""
        ...

    def complete_version(
        self,
        filing_id: str,
        version: int,
        destinations: Sequence[str],
        event: AuditEvent,
        *,
        manifest_sha256: str | None = None,
    ) -> list[DeliveryRecord]:
        """The package is archived: queue its deliveries (due at `publish_at` when
        scheduled), supersede older ones never claimed, audit — one transaction."""
        ...

    def abandon_version(self, filing_id: str, version: int, event: AuditEvent) -> bool:
        """False, and nothing changed, when the version is no longer reserved."""
        ...

    def hold_reservation(self, filing_id: str, version: int) -> AbstractContextManager[None]:
        """Hold a reservation for as long as the request that made it archives it; the
        hold ends with the block, or with the process, however it dies."""
        ...

    def reservation_held(self, filing_id: str, version: int) -> bool:
        """Whether a living request holds the reservation: False means the request that
        made it is gone, and it may be abandoned."""
        ...

    def find_ingest_key(self, principal: str, key: str) -> IngestKey | None: ...

    def find_same_content(
        self, org_code: str, category: str, period: str, sha256: str
    ) -> tuple[str, int] | None: ...

    def latest_metadata(
        self, org_code: str, category: str, period: str
    ) -> dict[str, Any] | None: ...


class Outbox(Protocol):
    def claim_due_deliveries(
        self, worker: str, limit: int, lease: timedelta, *, exclude: Collection[str] = ()
    ) -> list[DeliveryRecord]:
        """Lease up to `limit` due deliveries, each under a token of its own (in
        `lease_owner`) that fences every later update of the row; never a delivery
        whose filing has an earlier version still pending for the same destination."""
        ...

    def save_delivery_state(
        self, delivery_id: str, lease_token: str, state: dict[str, Any], renew: timedelta
    ) -> bool:
        """False when the lease was lost."""
        ...

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
    ) -> bool:
        """Record the attempt, settle the delivery and its version; False (the attempt
        logged, nothing else) when the lease was lost."""
        ...

    def postpone_delivery(self, delivery_id: str, lease_token: str, until: datetime) -> bool:
        """Give a claimed delivery back untried, due again at `until` (it waits on another
        destination's): no attempt is counted and a never-tried one keeps its give-up clock
        unstarted. False when the lease was lost."""
        ...

    def release_leases(self, worker: str) -> int: ...

    def requeue_failed_delivery(
        self, filing_id: str, destination: str, event: AuditEvent
    ) -> DeliveryRecord: ...

    def delivered_receipt_before(
        self, filing_id: str, version: int, destination: str
    ) -> dict[str, Any] | None: ...

    def count_deliveries(self, status: DeliveryStatus | None = None) -> int: ...

    def oldest_due_delivery(self) -> datetime | None:
        """When the longest-due pending delivery became due (None: none is due now)."""
        ...


class Reviews(Protocol):
    def deliveries_awaiting_review(
        self, destination: str, *, checked_before: datetime, limit: int
    ) -> list[DeliveryRecord]: ...

    def record_review(
        self,
        delivery_id: str,
        *,
        status: ReviewState,
        reason: str | None,
        receipt_key: str | None = None,
        receipt_sha256: str | None = None,
        event: AuditEvent | None = None,
    ) -> None: ...


class Fixity(Protocol):
    def record_fixity(self, check: FixityCheck, event: AuditEvent | None = None) -> None: ...

    def fixity_checks(self, filing_id: str) -> list[FixityCheck]: ...

    def versions_to_verify(
        self, *, not_verified_since: datetime | None, limit: int | None, random_order: bool
    ) -> list[VersionRecord]: ...


class AuditLog(Protocol):
    def audit(self, event: AuditEvent) -> None: ...

    def audit_events(
        self, subject_prefix: str | None = None, limit: int = 1000
    ) -> list[AuditEvent]: ...

    def audit_trail(self, query: AuditQuery) -> AuditPage:
        """Events newest first, filtered, a page at a time (keyset: `query.after`)."""
        ...


class Filings(Protocol):
    def ping(self) -> None: ...

    def get_filing(self, filing_id: str, *, with_attempts: bool = True) -> FilingRecord | None: ...

    def get_version(self, filing_id: str, version: int) -> VersionRecord | None: ...

    def list_filings(self, query: FilingQuery) -> list[FilingRecord]:
        """A page of acknowledged filings (their versions and deliveries, no attempts)."""
        ...

    def count_filings(self, query: FilingQuery) -> int:
        """How many acknowledged filings match, whatever the page."""
        ...

    def search_filings(self, query: FilingQuery) -> FilingPage:
        """A page, the count of all that match, and where the next page begins."""
        ...


class Catalog(Reservations, Outbox, Reviews, Fixity, AuditLog, Filings, Protocol):
    """All the ports: what the composition root builds and hands out in parts."""


class DeliveryCatalog(Outbox, Filings, Protocol):
    """What the delivery worker asks of the catalog."""


class ReviewCatalog(Reviews, Filings, Protocol):
    """What review polling asks of the catalog."""


class FixityCatalog(Fixity, Filings, Protocol):
    """What verifying and auditing the archive ask of the catalog."""


class RestoreWriter(Protocol):
    def add_filing(self, filing: FilingRecord) -> None: ...

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Events in the order given, which becomes the order they are listed in."""
        ...


class Restore(Protocol):
    def version_states(self) -> list[VersionState]:
        """Every version's status and package, no metadata, by package prefix."""
        ...

    def recorded_receipt_keys(self) -> frozenset[str]: ...

    def audit_entries(self, start: datetime, end: datetime) -> list[AuditEntry]:
        """Events recorded in [start, end), in the order recorded."""
        ...

    def first_audit_at(self) -> datetime | None: ...

    def is_empty(self) -> bool: ...

    def restoring(self) -> AbstractContextManager[RestoreWriter]:
        """One transaction for a whole rebuild; Conflict if the catalog holds anything."""
        ...
