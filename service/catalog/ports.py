"""The catalog's ports, in the service's words: what each use case asks of the catalog.
One adapter implements them all on SQL (service.catalog.sql: SQLite, PostgreSQL), a fake
in memory for unit tests (tests/fakes/catalog.py); one contract suite runs on the
three (tests/integration/test_catalog.py).

    Reservations   ingest: reserve (filing, version) before the package, complete or
                   abandon it, idempotency keys, duplicate content, last year's metadata
    Outbox         the worker: claim due deliveries under a lease, journal, settle
    Reviews        tick: deliveries the destination still reviews, and the outcomes
    Fixity         verify and audit: checks done, versions to check
    Notifications  the outbox of notifications: queued once per event, channel and
                   recipient (in the transaction of the change that causes it, where the
                   port takes `notices`), claimed under a lease, settled
    AuditLog       every state change: who, when, what, from where; the trail, filtered
    Filings        reading: a filing with its versions and deliveries, search (a page,
                   its total, keyset paging)
    Tokens         bearer tokens issued by `disclosure tokens`, kept by their secret's hash
    Withdrawals    withdraw: the record, cancelled deliveries and withdraw jobs at once
    Schedules      move or hold a version's release before anything was sent
    Deadlines      the deadline board: a year's filings in one query; exemptions (免报)
    Timestamps     the outbox of stamp jobs; Captures (capture_ports.py): published pages
    Restore        disaster recovery: what reconcile and the audit export read, and the
                   bulk writes of a rebuild into an empty catalog

Every method is one transaction; a catalog that cannot be reached raises Unavailable.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol

from service.catalog.capture_ports import Captures as Captures  # re-exported
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
    FixityCheck,
    IngestKey,
    NewToken,
    NewVersion,
    NotificationRecord,
    StampJob,
    StampResult,
    TimestampRecord,
    TokenRecord,
    VersionRecord,
    VersionState,
    WithdrawalRecord,
)
from service.domain.filing import DeliveryStatus, FilingKey, ReviewState
from service.domain.notifications import Notice, NotificationStatus

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
        filed_once: FilingKey | None = None,
    ) -> tuple[str, int]:
        """The next version number (1 and `new_filing_id` for a new filing), held before
        the package is written: two concurrent corrections never get the same number
        (the loser gets Conflict). With `content_sha256`, the same bytes already filed
        for the body, kind and period are refused (duplicate_filing) — serialised, so
        two identical submissions at one moment are not both reserved. With
        `filed_once`, a new filing under a key already filed is refused (already_filed),
        as is one while another is being archived under it (filing_in_progress)."""
        ...

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
        """The package is archived: queue its deliveries (due at `publish_at` when
        scheduled) and its stamp jobs, supersede older ones never claimed, audit — one
        transaction. `not_enabled`: destinations routed to but not enabled for the body
        (未开通), recorded as such and never sent."""
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

    def find_filed(self, key: FilingKey) -> str | None:
        """The filing acknowledged under this key, if any."""
        ...

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
        notices: Sequence[Notice] = (),
    ) -> bool:
        """Record the attempt, settle the delivery and its version, queue `notices`
        (those not queued before); False (the attempt logged, nothing else) when the
        lease was lost."""
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
        notices: Sequence[Notice] = (),
    ) -> None: ...


class Fixity(Protocol):
    def record_fixity(
        self,
        check: FixityCheck,
        event: AuditEvent | None = None,
        notices: Sequence[Notice] = (),
    ) -> None: ...

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

    def count_recent(self, action: str, source: str, since: datetime) -> int:
        """How many events of `action` from `source` (a client address) since `since`."""
        ...


class Notifications(Protocol):
    def enqueue_notifications(self, notices: Sequence[Notice]) -> int:
        """Queue each notice not queued before (same event, channel and recipient), due
        now; how many were new."""
        ...

    def claim_due_notifications(
        self, worker: str, limit: int, lease: timedelta
    ) -> list[NotificationRecord]:
        """Lease up to `limit` due pending notifications, each under a token of its own
        (`lease_owner`) that fences its settlement."""
        ...

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
        """Count the attempt and settle it (sent, pending again at `next_attempt_at`, or
        failed); False, nothing changed, when the lease was lost."""
        ...

    def notifications(self, event_id: str | None = None) -> list[NotificationRecord]:
        """Oldest first; one event's, or all."""
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


class Tokens(Protocol):
    """The catalog's tokens. Names are never reused, revoked tokens' included, so an
    audit event's actor always means one token; creating and revoking are audited in
    the same transaction (the event's actor is recorded as `created_by`/`revoked_by`)."""

    def create_token(self, token: NewToken, event: AuditEvent) -> TokenRecord:
        """Conflict (token_name_taken) when a catalog token of that name exists."""
        ...

    def revoke_token(self, name: str, event: AuditEvent) -> tuple[TokenRecord, bool]:
        """Revoke the token now: the token as it stands, and whether this call revoked it
        (False: it already was; nothing is changed and nothing audited). NotFound
        (token_not_found) when the catalog has no token of that name."""
        ...

    def list_tokens(self) -> list[TokenRecord]:
        """Every catalog token, revoked ones included, oldest first."""
        ...

    def find_token(self, secret_sha256: str) -> TokenRecord | None:
        """The token whose secret hashes to this, revoked or not: one lookup on a unique
        index, asked on every authenticated request."""
        ...

    def note_token_use(self, name: str, at: datetime) -> None:
        """Record that the token was used at `at` (never moving its last use back)."""


class PageSessions(Protocol):
    """The pages' sessions signed out: their cookies end wherever a copy of them is."""

    def end_page_session(self, session_id: str, event: AuditEvent, forget_before: datetime) -> None:
        """Record a page session as signed out, with its audit event; forget those ended
        before `forget_before` (their cookies have expired by then)."""

    def page_session_ended(self, session_id: str) -> bool:
        """Whether this page session was signed out."""
        ...


class Withdrawals(Protocol):
    def withdraw_filing(
        self, withdrawal: WithdrawalRecord, takedown: Collection[str], event: AuditEvent
    ) -> bool:
        """Withdraw a filing, in one transaction: record the withdrawal; cancel its publish
        deliveries never claimed (service.domain.outbox.supersedable); mark its archived
        versions withdrawn; queue a withdraw job (due now, its own idempotency key) to each
        destination in `takedown` that one of its deliveries may have reached; audit.
        False, and nothing changed, when it was withdrawn already (the first reason
        stands); NotFound when there is no such filing. A withdrawn filing holds its key
        no more (find_filed, already_filed, duplicate_filing) and takes no correction."""
        ...


class Schedules(Protocol):
    def reschedule(
        self, filing_id: str, version: int, publish_at: datetime | None, event: AuditEvent
    ) -> None:
        """Move the release of a version, in one transaction: with a time, its publish
        deliveries become pending, due then, and the version's publish_at that time; with
        None, they are held (never claimed) until a later call gives a time. Conflict when
        any of them was claimed or tried (release_already_attempted; the destination may
        hold the first body, its time included), when the version has none
        (nothing_to_release) or its filing was withdrawn; NotFound for no such version."""
        ...


class Replacements(Protocol):
    def replace_existing(self, failed_id: str, state: dict[str, Any], event: AuditEvent) -> bool:
        """Send a version again in place of the report its destination holds, in one
        transaction with `event`: the publish delivery `failed_id`, failed as a conflict,
        superseded; a replace delivery (service.domain.replacement: its own key) added,
        pending and due now, with `state`; the version back to archived. False, changing
        nothing, when that replace delivery exists already. Conflict when the delivery did
        not fail as a conflict (no_conflict) or its filing was withdrawn; NotFound for no
        such delivery."""
        ...


class Deadlines(Protocol):
    def board_filings(self, org_codes: frozenset[str] | None, year: int) -> list[BoardFiling]:
        """The acknowledged filings of the bodies (None: every body) whose period lies in
        `year` ("2023" and "2023-…"), in one query however many bodies."""
        ...

    def add_exemption(self, exemption: Exemption, event: AuditEvent) -> None:
        """Record an exemption and its audit event; Conflict when the body already has
        one for that kind and period."""
        ...

    def exemptions(
        self, org_codes: frozenset[str] | None, period: str | None = None
    ) -> list[Exemption]:
        """By body, kind and period."""
        ...


class Timestamps(Protocol):
    """The outbox of stamp jobs (service.domain.proof): one per archived file stamped."""

    def enqueue_stamps(self, jobs: Sequence[StampJob]) -> int:
        """Queue each job whose file has none yet, due now; how many were new."""
        ...

    def claim_due_stamps(self, worker: str, limit: int, lease: timedelta) -> list[TimestampRecord]:
        """Lease up to `limit` due pending jobs, each under a token of its own."""
        ...

    def settle_stamp(
        self, stamp_id: str, lease_token: str, result: StampResult, event: AuditEvent
    ) -> bool:
        """Count the attempt and settle it; False, nothing changed, when the lease was lost."""
        ...

    def restore_stamp(self, job: StampJob, result: StampResult) -> None:
        """A job as the archive shows it (a rebuild): replaces a pending one."""
        ...

    def timestamps(self, filing_id: str) -> list[TimestampRecord]:
        """A filing's stamp jobs, by version then file."""
        ...


class Catalog(
    Reservations,
    Outbox,
    Reviews,
    Fixity,
    AuditLog,
    Notifications,
    Filings,
    Tokens,
    PageSessions,
    Withdrawals,
    Schedules,
    Replacements,
    Deadlines,
    Timestamps,
    Captures,
    Protocol,
):
    """All the ports: what the composition root builds and hands out in parts."""


class DeliveryCatalog(Outbox, Filings, Protocol):
    """What the delivery worker asks of the catalog."""


class NotificationCatalog(Notifications, Protocol):
    """What the notification sender asks of the catalog."""


class ReviewCatalog(Reviews, Filings, Protocol):
    """What review polling asks of the catalog."""


class FixityCatalog(Fixity, Filings, Timestamps, Captures, Protocol):
    """What verifying and auditing the archive ask of the catalog."""


class RestoreWriter(Protocol):
    def add_filing(self, filing: FilingRecord) -> None: ...

    def add_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Events in the order given, which becomes the order they are listed in."""
        ...

    def add_exemptions(self, exemptions: Iterable[Exemption]) -> None: ...


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
