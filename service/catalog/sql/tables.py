"""Catalog tables. Times are stored as UTC and come back timezone-aware."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as naive UTC (SQLite keeps no zone) and returns them aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the catalog")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


def _listing_index(name: str, *columns: str) -> Index:
    """An index the list reads in order: its sort (column, created_at, id) and
    latest_version, which tells a listed filing (one with an acknowledged version) from
    one never acknowledged, so that finding a page's keys never reads the table."""
    return Index(name, *columns, "latest_version")


class FilingRow(Base):
    """A filing. `latest_status` and `latest_title` copy its latest acknowledged version's
    status and title (service.catalog.sql.unit.sync_latest, after every change of either),
    so that the list filters on them along an index of this table alone."""

    __tablename__ = "filings"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    org_code: Mapped[str] = mapped_column(String(18))
    org_name: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(10))
    # budget | final_accounts for budget_final_accounts: with the above, what is filed once
    variant: Mapped[str | None] = mapped_column(String(20))
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    latest_status: Mapped[str | None] = mapped_column(String(20))
    latest_title: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (
        Index("ix_filings_org_category_period", "org_code", "category", "period"),
        # the deadline board: a year's filings of each visible body, whatever their kind
        Index("ix_filings_org_period", "org_code", "period"),
        # Every sort of the list is (column, created_at, id): one index each, read in order.
        _listing_index("ix_filings_listed_created", "created_at", "id"),
        _listing_index("ix_filings_listed_org_code", "org_code", "created_at", "id"),
        _listing_index("ix_filings_listed_org_name", "org_name", "created_at", "id"),
        _listing_index("ix_filings_listed_category", "category", "created_at", "id"),
        _listing_index("ix_filings_listed_period", "period", "created_at", "id"),
        _listing_index("ix_filings_listed_status", "latest_status", "created_at", "id"),
    )


class BodyNameRow(Base):
    """Every name a body has filed under. A search by words in a body's name reads these
    few thousand rows, then the filings of the bodies found along an index, never the
    name of every filing."""

    __tablename__ = "body_names"

    org_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    org_name: Mapped[str] = mapped_column(String(200), primary_key=True)


class VersionRow(Base):
    __tablename__ = "filing_versions"

    filing_id: Mapped[str] = mapped_column(ForeignKey("filings.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    supersedes: Mapped[int | None] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(10))
    media_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(300))
    package_prefix: Mapped[str] = mapped_column(String(400))
    manifest_sha256: Mapped[str | None] = mapped_column(String(64))
    last_verified_at: Mapped[datetime | None]
    last_verified_ok: Mapped[bool | None]
    metadata_json: Mapped[dict[str, Any]]
    findings_json: Mapped[list[Any]]
    publish_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class DeliveryRow(Base):
    """The outbox: one row per filing version × destination, claimed under a lease."""

    __tablename__ = "deliveries"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    filing_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(40))
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    state_json: Mapped[dict[str, Any]]
    receipt_json: Mapped[dict[str, Any] | None]
    receipt_key: Mapped[str | None] = mapped_column(String(500))
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    review_status: Mapped[str | None] = mapped_column(String(20))
    review_reason: Mapped[str | None] = mapped_column(Text)
    review_checked_at: Mapped[datetime | None]
    review_receipt_key: Mapped[str | None] = mapped_column(String(500))
    review_receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    # publish | withdraw (service.domain.filing.DeliveryAction)
    action: Mapped[str] = mapped_column(String(10), default="publish", server_default="publish")

    __table_args__ = (
        ForeignKeyConstraint(
            ["filing_id", "version"], ["filing_versions.filing_id", "filing_versions.version"]
        ),
        UniqueConstraint(
            "filing_id", "version", "destination", "action", name="uq_delivery_per_action"
        ),
        Index("ix_deliveries_due", "status", "next_attempt_at"),
        # The list's filters on deliveries: filings with a delivery in a status, or whose
        # latest version a destination reviewed so.
        Index("ix_deliveries_status_filing", "status", "filing_id"),
        # New captures: the publications delivered since the last scan (sql/captures.py).
        Index("ix_deliveries_delivered", "status", "delivered_at"),
        Index(
            "ix_deliveries_review",
            "review_status",
            "filing_id",
            "version",
            sqlite_where=text("review_status IS NOT NULL"),
            postgresql_where=text("review_status IS NOT NULL"),
        ),
    )


class WithdrawalRow(Base):
    """A filing's withdrawal: one at most (the first reason stands)."""

    __tablename__ = "withdrawals"

    filing_id: Mapped[str] = mapped_column(ForeignKey("filings.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(200))
    by: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    request_id: Mapped[str | None] = mapped_column(String(64))
    record_key: Mapped[str] = mapped_column(String(500))
    record_sha256: Mapped[str] = mapped_column(String(64))


class AttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(ForeignKey("deliveries.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(100))
    started_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int | None] = mapped_column(Integer)
    code: Mapped[str | None] = mapped_column(String(100))
    message: Mapped[str | None] = mapped_column(Text)


class AuditRow(Base):
    """One audit event. `filing_id` is derived from `subject` (service.domain.ids.filing_id_of)
    so that a filing's trail is one index range; the trail is read newest first by
    (at, id), whatever it is filtered on."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(60))
    subject: Mapped[str] = mapped_column(String(200))
    filing_id: Mapped[str | None] = mapped_column(String(40))
    org_code: Mapped[str | None] = mapped_column(String(18))
    source: Mapped[str | None] = mapped_column(String(100))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]]

    __table_args__ = (
        Index("ix_audit_events_filing", "filing_id", "at", "id"),
        Index("ix_audit_events_org", "org_code", "at", "id"),
        Index("ix_audit_events_actor", "actor", "at", "id"),
        Index("ix_audit_events_action", "action", "at", "id"),
    )


class IngestKeyRow(Base):
    """A client's Idempotency-Key on a submission: the same key and body give the same filing."""

    __tablename__ = "ingest_keys"

    principal: Mapped[str] = mapped_column(String(100), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    filing_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]


class FixityCheckRow(Base):
    """One fixity check of one package: when, by whom, and what it found."""

    __tablename__ = "fixity_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    filing_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    checked_at: Mapped[datetime] = mapped_column(index=True)
    checked_by: Mapped[str] = mapped_column(String(100))
    ok: Mapped[bool]
    detail: Mapped[dict[str, Any]]


class TokenRow(Base):
    """A bearer token issued by `disclosure tokens create`: the SHA-256 of its secret,
    never the secret. Found by that hash on every request (a unique index)."""

    __tablename__ = "tokens"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    orgs: Mapped[list[Any]]
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))

    __table_args__ = (Index("ix_tokens_secret_sha256", "secret_sha256", unique=True),)


class EndedPageSessionRow(Base):
    """A page session signed out: its cookie, wherever a copy of it is, no longer signs
    anyone in. Kept for the idle time only: after that the cookie has expired anyway."""

    __tablename__ = "ended_page_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    ended_at: Mapped[datetime]


class NotificationRow(Base):
    """The outbox of notifications: one row per event, channel and recipient, so a
    trigger seen twice adds nothing (uq_notification) and each recipient is retried alone."""

    __tablename__ = "notifications"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(500))
    filing_id: Mapped[str | None] = mapped_column(String(40), index=True)
    org_code: Mapped[str | None] = mapped_column(String(18))
    occurred_at: Mapped[datetime]
    detail: Mapped[dict[str, Any]]
    channel: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("event_id", "channel", "recipient", name="uq_notification"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
    )


class ExemptionRow(Base):
    """免报: a body excused from one kind of filing for one period, with the reason."""

    __tablename__ = "exemptions"

    org_code: Mapped[str] = mapped_column(String(18), primary_key=True)
    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(100))


class TimestampRow(Base):
    """The outbox of stamp jobs: one per archived file stamped (a package's tag manifest;
    a capture's WARC later), claimed under a lease like a delivery; once stamped, what the
    token says. Never blocks a filing: nothing else waits on it."""

    __tablename__ = "timestamps"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    filing_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    stamped_key: Mapped[str] = mapped_column(String(500), unique=True)
    status: Mapped[str] = mapped_column(String(20))  # service.domain.proof.StampStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    tsa: Mapped[str | None] = mapped_column(String(500))
    token_key: Mapped[str | None] = mapped_column(String(510))
    token_sha256: Mapped[str | None] = mapped_column(String(64))
    gen_time: Mapped[datetime | None]
    serial_number: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime]

    __table_args__ = (
        ForeignKeyConstraint(
            ["filing_id", "version"], ["filing_versions.filing_id", "filing_versions.version"]
        ),
        Index("ix_timestamps_due", "status", "next_attempt_at"),
    )


class CaptureRow(Base):
    """Captures of published pages: one per delivery that reported a public URL,
    captured (a WARC archived beside the package) and then re-checked on a schedule,
    claimed under a lease like a delivery. `objects`: every archived object it wrote
    (WARCs, verdict records), key → sha256, for verify."""

    __tablename__ = "captures"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    filing_id: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer)
    destination: Mapped[str] = mapped_column(String(40))
    delivery_id: Mapped[str] = mapped_column(String(40), unique=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))  # service.domain.capture.CaptureStatus
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    captured_at: Mapped[datetime | None]
    http_status: Mapped[int | None] = mapped_column(Integer)
    text_matches: Mapped[bool | None] = mapped_column(Boolean)
    attachments_match: Mapped[bool | None] = mapped_column(Boolean)
    warc_key: Mapped[str | None] = mapped_column(String(500))
    warc_sha256: Mapped[str | None] = mapped_column(String(64))
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    last_checked_at: Mapped[datetime | None]
    checks: Mapped[int] = mapped_column(Integer, default=0)
    verdict: Mapped[str | None] = mapped_column(String(20))  # service.domain.capture.Verdict
    objects: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    rot_kind: Mapped[str | None] = mapped_column(String(30))  # service.domain.capture.RotKind

    __table_args__ = (
        ForeignKeyConstraint(
            ["filing_id", "version"], ["filing_versions.filing_id", "filing_versions.version"]
        ),
        Index("ix_captures_due", "status", "next_attempt_at"),
    )
