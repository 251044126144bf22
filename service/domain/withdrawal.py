"""Withdrawals (撤回): taking a filing's published items down again. The archive keeps
everything; the destinations are asked, through the outbox, to take the items down.

What each destination of a withdrawn filing shows, from the filing's deliveries there:

    | its deliveries to the destination                  | shown                    |
    |----------------------------------------------------|--------------------------|
    | a withdraw job, pending                            | withdrawing              |
    | a withdraw job, done: articles taken down          | withdrawn                |
    | a withdraw job, done: nothing had been published   | not_published            |
    | a withdraw job, failed for good                    | failed                   |
    | no withdraw call there, and something went out     | manual (须人工撤回)       |
    | every publish delivery cancelled or superseded     | cancelled                |
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Any, Protocol

from service.domain.errors import Conflict
from service.domain.filing import DeliveryAction, DeliveryStatus

REASON_MAX_CHARS = 200  # the portal shows the reason to the public, at most 200 characters
NOT_PUBLISHED = "not_published"  # a withdraw job's receipt status: nothing was there to take down
# Beside the latest package: the withdrawal's record, receipts/withdrawal-000001.json, and
# each takedown's receipt, receipts/{destination}_withdrawal-000001.json.
RECORD_NAME = "withdrawal"
RECEIPT_SUFFIX = "_withdrawal"


class TakedownState(StrEnum):
    WITHDRAWING = "withdrawing"
    WITHDRAWN = "withdrawn"
    NOT_PUBLISHED = NOT_PUBLISHED
    FAILED = "failed"
    MANUAL = "manual"
    CANCELLED = "cancelled"


class DeliveryFacts(Protocol):
    @property
    def destination(self) -> str: ...
    @property
    def action(self) -> str: ...
    @property
    def status(self) -> DeliveryStatus: ...
    @property
    def receipt(self) -> Mapping[str, Any] | None: ...


def may_have_gone_out(status: DeliveryStatus) -> bool:
    """A publish delivery that may have reached its destination (or still may): one the
    withdrawal did not cancel and no newer version superseded."""
    return status not in (
        DeliveryStatus.CANCELLED,
        DeliveryStatus.SUPERSEDED,
        DeliveryStatus.NOT_ENABLED,
    )


def takedown_states(deliveries: Iterable[DeliveryFacts]) -> dict[str, TakedownState]:
    """By destination, what became of a withdrawn filing there (the module's table)."""
    listed = list(deliveries)
    states: dict[str, TakedownState] = {}
    for destination in sorted({d.destination for d in listed}):
        there = [d for d in listed if d.destination == destination]
        jobs = [d for d in there if d.action == DeliveryAction.WITHDRAW]
        if jobs:
            states[destination] = _job_state(jobs[-1])
        elif any(may_have_gone_out(d.status) for d in there):
            states[destination] = TakedownState.MANUAL
        else:
            states[destination] = TakedownState.CANCELLED
    return states


def _job_state(job: DeliveryFacts) -> TakedownState:
    if job.status is DeliveryStatus.PENDING:
        return TakedownState.WITHDRAWING
    if job.status is DeliveryStatus.DELIVERED:
        found = (job.receipt or {}).get("status")
        return TakedownState.NOT_PUBLISHED if found == NOT_PUBLISHED else TakedownState.WITHDRAWN
    return TakedownState.FAILED


def filing_withdrawn(filing_id: str) -> Conflict:
    return Conflict(
        f"该报送（{filing_id}）已撤回，不能更正或重新投递；如需重新公开，请提交新的报送",
        f"The filing {filing_id} was withdrawn: it cannot be corrected or delivered again; "
        "submit a new filing instead",
        code="filing_withdrawn",
        detail={"filing_id": filing_id},
    )
