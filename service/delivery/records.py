"""What an attempt leaves behind: its record in the attempt log, the audit event of a
delivery settled for good, the notices of one that failed for good, and the name its
receipt is archived under."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from service.catalog.records import AttemptRecord, AuditEvent, DeliveryRecord, VersionRecord
from service.delivery.policy import Action, Decision
from service.delivery.port import Delivered, Outcome, RetryLater
from service.domain.filing import DeliveryAction
from service.domain.notifications import Notice, NoticeEvent, NoticeKind, Recipients
from service.domain.replacement import RECEIPT_SUFFIX as REPLACE_SUFFIX
from service.domain.time import shanghai_date
from service.domain.withdrawal import RECEIPT_SUFFIX

MESSAGE_LIMIT = 500  # attempt logs keep the start of a message: enough to diagnose, bounded in size


def attempt_record(
    number: int, worker: str, started: datetime, duration_ms: int, outcome: Outcome
) -> AttemptRecord:
    if isinstance(outcome, Delivered):
        return AttemptRecord(
            number, worker, started, duration_ms, "delivered", outcome.http_status, None, None
        )
    kind = "retry" if isinstance(outcome, RetryLater) else "failed"
    return AttemptRecord(
        number,
        worker,
        started,
        duration_ms,
        kind,
        outcome.http_status,
        outcome.code,
        outcome.message[:MESSAGE_LIMIT],
    )


def settled_events(
    delivery: DeliveryRecord,
    decision: Decision,
    attempt: AttemptRecord,
    worker_id: str,
    outcome: Outcome | None = None,
) -> list[AuditEvent]:
    """A delivery settled for good is audited, with what its adapter did besides
    publishing (Delivered.audit: a mass message to an account's followers)."""
    if decision.action is Action.RETRY:
        return []
    besides = dict(outcome.audit) if isinstance(outcome, Delivered) else {}
    kind = "withdrawal" if delivery.action is DeliveryAction.WITHDRAW else "delivery"
    action = f"{kind}.delivered" if decision.action is Action.DONE else f"{kind}.failed"
    return [
        AuditEvent(
            actor=f"worker:{worker_id}",
            role="system",
            action=action,
            subject=f"{delivery.filing_id}/v{delivery.version}/{delivery.destination}",
            detail={
                "attempts": attempt.number,
                "code": attempt.code,
                "reason": decision.reason,
                **besides,
            },
        )
    ]


def deferral_notices(
    delivery: DeliveryRecord,
    version: VersionRecord,
    outcome: Outcome,
    decision: Decision,
    clock: Callable[[], datetime],
    recipients: Recipients,
) -> list[Notice]:
    """A delivery the destination refuses until a later day (a daily quota used up:
    RetryLater.notify) is told once per body, destination and day it waits for."""
    if not (isinstance(outcome, RetryLater) and outcome.notify):
        return []
    if decision.action is not Action.RETRY or decision.next_attempt_at is None:
        return []
    org_code = version.metadata.get("org_code")
    day = shanghai_date(decision.next_attempt_at).isoformat()
    event = NoticeEvent(
        NoticeKind.DELIVERY_DEFERRED,
        subject=f"{delivery.destination}/{org_code}/{day}",
        occurred_at=clock(),
        filing_id=delivery.filing_id,
        org_code=org_code,
        detail={
            "version": delivery.version,
            "destination": delivery.destination,
            "code": outcome.code,
            "message": outcome.message,
            "next_attempt_at": decision.next_attempt_at.isoformat(),
        },
    )
    return recipients.notices(event)


def failure_notices(
    delivery: DeliveryRecord,
    version: VersionRecord,
    decision: Decision,
    attempt: AttemptRecord,
    clock: Callable[[], datetime],
    recipients: Recipients,
) -> list[Notice]:
    """A delivery that failed for good is told, once per delivery: failing again after
    a retry requested by hand is the same event (its id is the delivery's)."""
    if decision.action is not Action.GIVE_UP:
        return []
    event = NoticeEvent(
        NoticeKind.DELIVERY_FAILED,
        subject=delivery.id,
        occurred_at=clock(),
        filing_id=delivery.filing_id,
        org_code=version.metadata.get("org_code"),
        detail={
            "version": delivery.version,
            "destination": delivery.destination,
            "attempts": attempt.number,
            "code": attempt.code,
            "message": attempt.message,
            "reason": decision.reason,
        },
    )
    return recipients.notices(event)


def receipt_name(delivery: DeliveryRecord) -> str:
    """What a delivery's receipt is called beside its package: `portal-000001.json` for a
    publication, `portal_withdrawal-000001.json` for a takedown, `legal_platform_replace-
    000001.json` for a report sent in place of the one the destination held."""
    if delivery.action is DeliveryAction.WITHDRAW:
        return f"{delivery.destination}{RECEIPT_SUFFIX}"
    if delivery.action is DeliveryAction.REPLACE:
        return f"{delivery.destination}{REPLACE_SUFFIX}"
    return delivery.destination
