"""What the catalog hands out: plain records, never ORM rows or sessions. Statuses are
the domain's enums; categories and destinations are the codes their registries know."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from service.domain.access import Role
from service.domain.filing import DeliveryAction, DeliveryStatus, ReviewState, VersionStatus
from service.domain.notifications import (
    Channel,
    NoticeEvent,
    NoticeKind,
    NotificationStatus,
)


@dataclass(frozen=True)
class AuditEvent:
    """Who did what to which subject, from where. `actor` is a token name or a worker id."""

    actor: str
    role: str
    action: str
    subject: str
    org_code: str | None = None
    source: str | None = None
    request_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AttemptRecord:
    number: int
    worker: str
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    code: str | None
    message: str | None


@dataclass(frozen=True)
class DeliveryRecord:
    id: str
    filing_id: str
    version: int
    destination: str
    idempotency_key: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    state: dict[str, Any]
    receipt: dict[str, Any] | None
    receipt_key: str | None
    receipt_sha256: str | None
    last_error: str | None
    review_status: ReviewState | None
    review_reason: str | None
    review_checked_at: datetime | None
    review_receipt_key: str | None
    review_receipt_sha256: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    attempt_log: tuple[AttemptRecord, ...] = ()
    action: DeliveryAction = DeliveryAction.PUBLISH  # publish the version, or withdraw the filing


@dataclass(frozen=True)
class VersionRecord:
    filing_id: str
    version: int
    status: VersionStatus
    supersedes: int | None
    filename: str
    kind: str
    media_type: str
    size: int
    sha256: str
    title: str | None
    package_prefix: str
    metadata: dict[str, Any]
    findings: list[dict[str, Any]]
    publish_at: datetime | None
    created_at: datetime
    created_by: str
    manifest_sha256: str | None = None
    last_verified_at: datetime | None = None
    last_verified_ok: bool | None = None


@dataclass(frozen=True)
class WithdrawalRecord:
    """A filing's withdrawal (撤回): why, by whom, when, and the write-once record of it
    archived beside the latest package (`record_key`, its SHA-256)."""

    filing_id: str
    reason: str
    by: str
    role: str
    at: datetime
    request_id: str | None
    record_key: str
    record_sha256: str


@dataclass(frozen=True)
class FilingRecord:
    id: str
    org_code: str
    org_name: str
    category: str
    period: str
    latest_version: int
    created_at: datetime
    created_by: str
    versions: tuple[VersionRecord, ...] = ()
    deliveries: tuple[DeliveryRecord, ...] = ()
    variant: str | None = None  # budget | final_accounts: see domain.filing.FilingKey
    withdrawal: WithdrawalRecord | None = None


@dataclass(frozen=True)
class NewVersion:
    """What ingest knows about a version before its package is written."""

    filename: str
    kind: str
    media_type: str
    size: int
    sha256: str
    title: str | None
    package_prefix: str
    metadata: dict[str, Any]
    findings: list[dict[str, Any]]
    publish_at: datetime | None


class FilingSort(StrEnum):
    """What a list of filings may be sorted on; ties are broken by the filing's id."""

    CREATED_AT = "created_at"
    PERIOD = "period"
    ORG_CODE = "org_code"
    ORG_NAME = "org_name"
    CATEGORY = "category"


# Where a page ends in its sort order: the last filing's sort value and its id. The
# next page begins after it (keyset paging), however many filings come and go meanwhile.
ListingKey = tuple[str | datetime, ...]  # a filing's place in a sorted list


# A search's total is counted up to this many: each more costs an index entry read, and
# at a million filings counting them all takes 100 ms and more (bench/query.py).
TOTAL_LIMIT = 1_000


@dataclass(frozen=True)
class FilingQuery:
    """Which filings, in what order. Text filters (`org_name`, `title`: the latest
    version's) match a part of the text, taken literally (% and _ are no wildcards);
    `submitted_since` is inclusive and `submitted_until` exclusive."""

    org_codes: frozenset[str] | None = None  # None: any body (for tokens acting for all)
    org_code: str | None = None
    org_name: str | None = None
    category: str | None = None
    period: str | None = None
    status: VersionStatus | None = None
    delivery_status: DeliveryStatus | None = None
    review_status: ReviewState | None = None
    title: str | None = None
    submitted_since: datetime | None = None
    submitted_until: datetime | None = None
    sort: FilingSort = FilingSort.CREATED_AT
    descending: bool = True
    after: ListingKey | None = None
    limit: int = 100
    offset: int = 0
    count_up_to: int = TOTAL_LIMIT  # a search's total: exact up to this many


@dataclass(frozen=True)
class FilingPage:
    """One page of a search, how many filings match in all, and where the next page
    begins (None: this is the last)."""

    filings: tuple[FilingRecord, ...]
    total: int  # at most the query's count_up_to: beyond, `total_exact` is False ("1,000+")
    next_after: ListingKey | None
    total_exact: bool = True


@dataclass(frozen=True)
class IngestKey:
    """A client's Idempotency-Key on a submission, and what it produced."""

    principal: str
    key: str
    fingerprint: str
    filing_id: str
    version: int


@dataclass(frozen=True)
class FixityCheck:
    filing_id: str
    version: int
    checked_at: datetime
    checked_by: str
    ok: bool
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry:
    """An audit event as the log holds it: the event and when it was recorded."""

    at: datetime
    event: AuditEvent


# Where a page of the audit trail ends: the last event's time and its place in the log.
AuditKey = tuple[datetime, int]


@dataclass(frozen=True)
class AuditQuery:
    """Which events, newest first. `org_codes` None: every body's and those of none;
    `since` is inclusive and `until` exclusive."""

    org_codes: frozenset[str] | None = None
    filing_id: str | None = None
    org_code: str | None = None
    actor: str | None = None
    action: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: AuditKey | None = None
    limit: int = 100


@dataclass(frozen=True)
class AuditPage:
    entries: tuple[AuditEntry, ...]
    next_after: AuditKey | None


@dataclass(frozen=True)
class VersionState:
    """Where a version stands, without its metadata: what `reconcile` holds against the archive."""

    filing_id: str
    version: int
    status: VersionStatus
    package_prefix: str
    created_at: datetime


@dataclass(frozen=True)
class NewToken:
    """A bearer token the catalog is to keep: its name and grants, and the SHA-256 of its
    secret (service.usecases.tokens says why a plain SHA-256); never the secret."""

    name: str
    role: Role
    orgs: frozenset[str]
    secret_sha256: str


@dataclass(frozen=True)
class TokenRecord:
    """A catalog token as it may be shown: never its secret nor the secret's hash.
    `last_used_at` is written at most once a minute, so it may be up to a minute behind
    (service.usecases.tokens.LAST_USED_RESOLUTION)."""

    name: str
    role: Role
    orgs: frozenset[str]
    created_at: datetime
    created_by: str
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None


@dataclass(frozen=True)
class NotificationRecord:
    """One event for one recipient on one channel, as the notifications outbox holds it."""

    id: str
    event_id: str
    kind: NoticeKind
    subject: str
    filing_id: str | None
    org_code: str | None
    occurred_at: datetime
    detail: dict[str, Any]
    channel: Channel
    recipient: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None

    @property
    def event(self) -> NoticeEvent:
        return NoticeEvent(
            self.kind, self.subject, self.occurred_at, self.filing_id, self.org_code, self.detail
        )


@dataclass(frozen=True)
class BoardFiling:
    """What the deadline board needs of one acknowledged filing of a year, no more."""

    filing_id: str
    org_code: str
    category: str
    period: str
    variant: str | None  # budget | final_accounts
    filed_at: datetime  # when its first acknowledged version was reserved
    published_at: datetime | None  # when the portal first took it
    approved_on: str | None  # budget_final_accounts: the latest version's budget.approved_on
    withdrawn: bool = False  # withdrawn, with no later version: counts as missing


@dataclass(frozen=True)
class Exemption:
    """免报: a body excused, with a reason, from one kind of filing for one period."""

    org_code: str
    category: str
    period: str
    reason: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True)
class StampJob:
    """One archived file to timestamp: a package's tag manifest, or (later) a capture."""

    filing_id: str
    version: int
    stamped_key: str


@dataclass(frozen=True)
class StampResult:
    """How one stamp attempt settles its job (StampStatus: pending again, stamped, failed)."""

    status: str
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    tsa: str | None = None
    token_key: str | None = None
    token_sha256: str | None = None
    gen_time: datetime | None = None
    serial_number: str | None = None


@dataclass(frozen=True)
class TimestampRecord:
    """The stamp job of one archived file and, once stamped, what its token says."""

    id: str
    filing_id: str
    version: int
    stamped_key: str
    status: str  # service.domain.proof.StampStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    tsa: str | None
    token_key: str | None
    token_sha256: str | None
    gen_time: datetime | None
    serial_number: str | None
    created_at: datetime


@dataclass(frozen=True)
class CaptureJob:
    """One published page to capture: the URL a destination reported for a delivery."""

    filing_id: str
    version: int
    destination: str
    delivery_id: str
    url: str


@dataclass(frozen=True)
class CaptureResult:
    """How one capture or re-check settles its row (service.domain.capture); `objects`:
    what it archived (key → sha256), added to the row's."""

    status: str
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    captured_at: datetime | None = None
    http_status: int | None = None
    text_matches: bool | None = None
    attachments_match: bool | None = None
    warc_key: str | None = None
    warc_sha256: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_checked_at: datetime | None = None
    checks: int | None = None
    verdict: str | None = None
    rot_kind: str | None = None  # service.domain.capture.RotKind, with a link_rot verdict
    objects: dict[str, str] = field(default_factory=dict)

    # A visit's own findings: each replaces the last visit's, None included (a page gone
    # has no status and no comparison); the other fields change only when given.
    PER_VISIT = ("http_status", "text_matches", "attachments_match", "rot_kind")

    @property
    def visited(self) -> bool:
        """A visit that was made and judged (not a retry, nor a page not yet published)."""
        return self.last_checked_at is not None


@dataclass(frozen=True)
class CaptureRecord:
    """A published page's capture and its latest re-check."""

    id: str
    filing_id: str
    version: int
    destination: str
    delivery_id: str
    url: str
    status: str  # service.domain.capture.CaptureStatus
    attempts: int
    next_attempt_at: datetime
    first_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    captured_at: datetime | None
    http_status: int | None
    text_matches: bool | None
    attachments_match: bool | None
    warc_key: str | None
    warc_sha256: str | None
    etag: str | None
    last_modified: str | None
    last_checked_at: datetime | None
    checks: int
    verdict: str | None
    objects: dict[str, str]
    created_at: datetime
    rot_kind: str | None = None  # service.domain.capture.RotKind, with a link_rot verdict
