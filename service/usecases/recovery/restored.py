"""The catalog's records as a rebuild restores them from a package: versions, and
deliveries with their receipts.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from service.archive.fixity import verifying_reader
from service.archive.packages import METADATA, PackageId
from service.archive.port import ArchiveStore
from service.archive.version_metadata import VersionMetadata, aware
from service.catalog.records import (
    DeliveryRecord,
    VersionRecord,
)
from service.domain.errors import ObjectMissing
from service.domain.filing import (
    DeliveryAction,
    DeliveryStatus,
    ReviewState,
    VersionStatus,
    idempotency_key,
    withdrawal_key,
)
from service.domain.ids import new_id
from service.domain.replacement import CONFLICT, ExistingReport, replace_state, replacement_key


@dataclass(frozen=True)
class _Receipt:
    key: str
    sha256: str
    document: dict[str, Any]
    received_at: datetime

    @property
    def is_review(self) -> bool:
        return self.document.get("kind") == "review"


@dataclass
class Receipts:
    deliveries: dict[str, _Receipt] = field(default_factory=dict)
    reviews: dict[str, _Receipt] = field(default_factory=dict)


def read_receipt(store: ArchiveStore, key: str) -> _Receipt:
    """A receipt object, checked against the SHA-256 the store recorded when it was put."""
    stored = store.stat(key)
    if stored is None:
        raise ObjectMissing(key)
    with store.open(key) as raw, verifying_reader(raw, stored.sha256, what=key) as stream:
        document = json.loads(stream.read())
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return _Receipt(key, stored.sha256, document, aware(document["received_at"]))


def version_record(
    package: PackageId, metadata: VersionMetadata, manifest_sha256: str
) -> VersionRecord:
    submitted = metadata.submitted
    names = (metadata.filing_id, metadata.version)
    body = (submitted["org_code"], submitted["category"], submitted["period"])
    if names != (package.filing_id, package.version) or body != (
        package.org_code,
        package.category,
        package.period,
    ):
        raise ValueError(f"{METADATA} names another filing version than its package")
    file = metadata.file
    return VersionRecord(
        filing_id=package.filing_id,
        version=package.version,
        status=VersionStatus.ARCHIVED,
        supersedes=metadata.supersedes,
        filename=file.name,
        kind=file.kind,
        media_type=file.media_type,
        size=file.size,
        sha256=file.sha256,
        title=metadata.title,
        package_prefix=package.prefix,
        metadata=submitted,
        findings=metadata.findings,
        publish_at=metadata.publish_at,
        created_at=metadata.archived_at,
        created_by=metadata.archived_by,
        manifest_sha256=manifest_sha256,
    )


def delivery_record(
    version: VersionRecord, destination: str, receipts: Receipts, due: datetime
) -> DeliveryRecord:
    receipt = receipts.deliveries.get(destination)
    review = receipts.reviews.get(destination) if receipt else None
    outcome = dict(review.document["review"]) if review else {}
    delivery = _restored(
        version.filing_id, version.version, destination, receipt, due, version.created_at
    )
    return dataclasses.replace(
        delivery,
        review_status=ReviewState(outcome["status"]) if outcome.get("status") else None,
        review_reason=outcome.get("return_reason", outcome.get("message")),
        review_checked_at=review.received_at if review else None,
        review_receipt_key=review.key if review else None,
        review_receipt_sha256=review.sha256 if review else None,
    )


def _restored(
    filing_id: str,
    version: int,
    destination: str,
    receipt: _Receipt | None,
    due: datetime,
    created_at: datetime,
) -> DeliveryRecord:
    """A publish delivery as its receipt left it: delivered, or (none archived) pending
    and due; never reviewed."""
    delivered_at = receipt.received_at if receipt else None
    return DeliveryRecord(
        # A delivered one keeps the id its receipt names; one never delivered gets a new id.
        id=str((receipt.document.get("delivery_id") if receipt else None) or new_id("dlv")),
        filing_id=filing_id,
        version=version,
        destination=destination,
        idempotency_key=idempotency_key(filing_id, version, destination),
        status=DeliveryStatus.DELIVERED if receipt else DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=delivered_at or due,
        first_attempt_at=None,
        lease_owner=None,
        lease_expires_at=None,
        state={},
        receipt=dict(receipt.document["receipt"]) if receipt else None,
        receipt_key=receipt.key if receipt else None,
        receipt_sha256=receipt.sha256 if receipt else None,
        last_error=None,
        review_status=None,
        review_reason=None,
        review_checked_at=None,
        review_receipt_key=None,
        review_receipt_sha256=None,
        created_at=created_at,
        updated_at=delivered_at or created_at,
        delivered_at=delivered_at,
    )


def not_enabled_record(version: VersionRecord, destination: str) -> DeliveryRecord:
    """A destination the version was routed to but its body had no account at (未开通)."""
    delivery = _restored(
        version.filing_id, version.version, destination, None, version.created_at,
        version.created_at,
    )  # fmt: skip
    return dataclasses.replace(delivery, status=DeliveryStatus.NOT_ENABLED)


def withdraw_job(
    filing_id: str, version: int, destination: str, receipt: _Receipt | None, due: datetime
) -> DeliveryRecord:
    """A withdraw job as its takedown receipt left it: delivered, or (none archived) pending.
    A publish delivery restored from that receipt, with a withdraw job's key and no review."""
    published = _restored(filing_id, version, destination, receipt, due, due)
    return dataclasses.replace(
        published,
        idempotency_key=withdrawal_key(filing_id, destination),
        action=DeliveryAction.WITHDRAW,
    )


def replaced_pair(
    published: DeliveryRecord, decision: Mapping[str, Any], receipt: _Receipt | None, due: datetime
) -> tuple[DeliveryRecord, DeliveryRecord]:
    """A publish delivery a person decided to send again in place of the report its
    destination held (service.domain.replacement), as the decision left it: superseded,
    showing that report; and the replace delivery, as its receipt left it."""
    existing = ExistingReport.from_dict(decision["existing"])
    if existing is None:
        raise ValueError("the decision names no report the destination held")
    conflict = {**existing.to_dict(), "our_sha256": decision.get("our_sha256")}
    failed = dataclasses.replace(
        published, status=DeliveryStatus.SUPERSEDED, state={CONFLICT: conflict}
    )
    filing_id, version, destination = published.filing_id, published.version, published.destination
    sent = _restored(filing_id, version, destination, receipt, due, published.created_at)
    return failed, dataclasses.replace(
        sent,
        idempotency_key=replacement_key(filing_id, version, destination),
        action=DeliveryAction.REPLACE,
        state=replace_state(existing, str(decision["reason"]), str(decision["by"])),
    )
