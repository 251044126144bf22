"""Following a destination's review of what it received (the legal platform reviews each
report): RECEIVED → ACCEPTED or RETURNED. A final outcome is archived as its own
write-once receipt beside the package, recorded in the catalog and audited; a RETURNED
report shows as needing correction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass
from datetime import datetime, timedelta

import structlog

from service.archive.packages import Packages
from service.archive.retention import filing_period
from service.catalog.ports import ReviewCatalog
from service.catalog.records import AuditEvent, DeliveryRecord
from service.delivery.port import (
    ReviewingAdapter,
    ReviewPoll,
    ReviewStatus,
    ReviewUnavailable,
    UnknownReceipt,
)
from service.domain.errors import AlreadyExists
from service.domain.filing import ReviewState
from service.domain.notifications import Notice, NoticeEvent, NoticeKind, Recipients

log = structlog.get_logger()
REVIEW_RECEIPT_SEQ = 2  # seq 1 is the delivery receipt (service.delivery.worker)


@dataclass
class ReviewRound:
    polled: int = 0
    accepted: int = 0
    returned: int = 0
    unknown: int = 0
    unavailable: int = 0

    def __add__(self, other: ReviewRound) -> ReviewRound:
        return ReviewRound(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))


def poll_reviews(
    catalog: ReviewCatalog,
    packages: Packages,
    platform: ReviewingAdapter,
    *,
    clock: Callable[[], datetime],
    interval: timedelta,
    limit: int = 100,
    recipients: Recipients | None = None,
) -> ReviewRound:
    """Poll each delivered report not polled within `interval`; record what changed, and
    queue a notification to `recipients` of a RETURNED report in the same transaction."""
    round_ = ReviewRound()
    told = recipients or Recipients()
    due = catalog.deliveries_awaiting_review(
        platform.destination, checked_before=clock() - interval, limit=limit
    )
    for delivery in due:
        receipt_no = (delivery.receipt or {}).get("receipt_no")
        if not receipt_no:
            continue
        round_.polled += 1
        _settle(
            catalog,
            packages,
            delivery,
            platform.poll_review(receipt_no, _org(catalog, delivery)),
            round_,
            clock,
            told,
        )
    return round_


def _org(catalog: ReviewCatalog, delivery: DeliveryRecord) -> str:
    version = catalog.get_version(delivery.filing_id, delivery.version)
    assert version is not None
    return str(version.metadata["org_code"])


def _settle(
    catalog: ReviewCatalog,
    packages: Packages,
    delivery: DeliveryRecord,
    poll: ReviewPoll,
    round_: ReviewRound,
    clock: Callable[[], datetime],
    recipients: Recipients,
) -> None:
    bound = log.bind(
        delivery_id=delivery.id, filing_id=delivery.filing_id, version=delivery.version
    )
    if isinstance(poll, ReviewUnavailable):
        round_.unavailable += 1
        bound.warning("review_poll_unavailable", code=poll.code, permanent=poll.permanent)
        return
    if isinstance(poll, ReviewStatus) and not poll.is_final:
        catalog.record_review(delivery.id, status=ReviewState(poll.status), reason=None)
        return
    status, reason = (
        (ReviewState.UNKNOWN_RECEIPT, poll.message)
        if isinstance(poll, UnknownReceipt)
        else (ReviewState(poll.status), poll.return_reason)
    )
    key, sha256 = _archive(packages, catalog, delivery, poll, clock)
    catalog.record_review(
        delivery.id,
        status=status,
        reason=reason,
        receipt_key=key,
        receipt_sha256=sha256,
        event=AuditEvent(
            actor="tick",
            role="system",
            action=f"review.{status.lower()}",
            subject=f"{delivery.filing_id}/v{delivery.version}/{delivery.destination}",
            detail={"receipt_no": poll.receipt_no, "reason": reason},
        ),
        notices=_returned(catalog, delivery, status, reason, clock, recipients),
    )
    round_.accepted += status is ReviewState.ACCEPTED
    round_.returned += status is ReviewState.RETURNED
    round_.unknown += status is ReviewState.UNKNOWN_RECEIPT
    bound.info("review_recorded", status=status)


def _returned(
    catalog: ReviewCatalog,
    delivery: DeliveryRecord,
    status: ReviewState,
    reason: str | None,
    clock: Callable[[], datetime],
    recipients: Recipients,
) -> list[Notice]:
    """A RETURNED report is told once per delivery, however often it is polled."""
    if status is not ReviewState.RETURNED:
        return []
    event = NoticeEvent(
        NoticeKind.REVIEW_RETURNED,
        subject=delivery.id,
        occurred_at=clock(),
        filing_id=delivery.filing_id,
        org_code=_org(catalog, delivery),
        detail={
            "version": delivery.version,
            "destination": delivery.destination,
            "receipt_no": (delivery.receipt or {}).get("receipt_no"),
            "return_reason": reason,
        },
    )
    return recipients.notices(event)


def _archive(
    packages: Packages,
    catalog: ReviewCatalog,
    delivery: DeliveryRecord,
    poll: ReviewStatus | UnknownReceipt,
    clock: Callable[[], datetime],
) -> tuple[str, str]:
    version = catalog.get_version(delivery.filing_id, delivery.version)
    assert version is not None
    document = {
        "destination": delivery.destination,
        "filing_id": delivery.filing_id,
        "version": delivery.version,
        "kind": "review",
        "received_at": clock().isoformat(),
        "review": (
            {
                "receipt_no": poll.receipt_no,
                "status": ReviewState.UNKNOWN_RECEIPT.value,
                "message": poll.message,
            }
            if isinstance(poll, UnknownReceipt)
            else {
                "receipt_no": poll.receipt_no,
                "status": poll.status,
                "return_reason": poll.return_reason,
                "updated_at": poll.updated_at,
            }
        ),
    }
    try:
        stored = packages.put_receipt(
            version.package_prefix,
            delivery.destination,
            document,
            seq=REVIEW_RECEIPT_SEQ,
            retention=filing_period(version.metadata),
        )
    except AlreadyExists:
        stored = packages.existing_receipt(
            version.package_prefix, delivery.destination, seq=REVIEW_RECEIPT_SEQ
        )
    return stored.key, stored.sha256
