"""The outbox's rules (DESIGN.md invariant 6), as pure functions every catalog applies.

    settled_status({DELIVERED, SUPERSEDED})   → PUBLISHED: nothing left to send
    settled_status({PENDING, DELIVERED})      → None: the version waits on a delivery
    supersedable(delivery)                    → True only for one never claimed
    prerequisites(["portal"], siblings)       → Ready / Waiting / Unmet (DestinationSpec.after)

A newer version supersedes an older version's delivery to the same destination only if
that delivery was never claimed: once a worker has claimed it, it may have reached the
destination even with no attempt recorded (a crash before the record), so it is left
to finish and the newer version goes as a correction.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.domain.filing import DeliveryStatus, VersionStatus


class DeliveryFacts(Protocol):
    @property
    def status(self) -> DeliveryStatus: ...
    @property
    def attempts(self) -> int: ...
    @property
    def first_attempt_at(self) -> datetime | None: ...
    @property
    def lease_owner(self) -> str | None: ...


def settled_status(statuses: Collection[DeliveryStatus]) -> VersionStatus | None:
    """The status a version's deliveries settle it in, or None while one is still due.

    | its deliveries                        | the version       |
    |---------------------------------------|-------------------|
    | any cancelled (a withdrawal)          | (unchanged: the withdrawal set it) |
    | any failed                            | delivery_failed   |
    | all superseded                        | superseded        |
    | all delivered or superseded           | published         |
    | any pending or held (and none failed) | (unchanged)       |

    Deliveries not enabled (未开通) do not count: a version of nothing else is published.
    """
    found = set(statuses)
    if found and found <= {DeliveryStatus.NOT_ENABLED}:
        return VersionStatus.PUBLISHED
    found.discard(DeliveryStatus.NOT_ENABLED)
    if DeliveryStatus.CANCELLED in found:
        return None
    if DeliveryStatus.FAILED in found:
        return VersionStatus.DELIVERY_FAILED
    if found == {DeliveryStatus.SUPERSEDED}:
        return VersionStatus.SUPERSEDED
    if found and found <= {DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED}:
        return VersionStatus.PUBLISHED
    return None


def supersedable(delivery: DeliveryFacts) -> bool:
    """Pending (or held), never tried, never claimed, and not leased now: what a newer
    version may supersede, a withdrawal cancel and a schedule change move."""
    return (
        delivery.status in (DeliveryStatus.PENDING, DeliveryStatus.HELD)
        and delivery.attempts == 0
        and delivery.first_attempt_at is None
        and delivery.lease_owner is None
    )


@dataclass(frozen=True)
class Ready:
    """Every destination it waits on has delivered: their receipts, by destination."""

    receipts: Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Waiting:
    on: tuple[str, ...]  # the destinations still pending


@dataclass(frozen=True)
class Unmet:
    """A destination it waits on will never deliver this version (not routed there,
    failed, or superseded): this delivery cannot go."""

    destination: str
    reason: str  # "not_routed", "failed", "superseded", "cancelled", "not_enabled"


def prerequisites(
    after: Sequence[str], siblings: Mapping[str, tuple[DeliveryStatus, Mapping[str, Any] | None]]
) -> Ready | Waiting | Unmet:
    """Whether a delivery that needs the receipts of the destinations `after` (an article
    elsewhere that links to the portal's) may go, given the version's other deliveries by
    destination: (status, receipt).

    | a destination it needs        | the delivery        |
    |-------------------------------|---------------------|
    | delivered (all of them)       | Ready(receipts)     |
    | pending (any, none unmet)     | Waiting             |
    | failed, superseded, cancelled, not enabled | Unmet  |
    | not among the version's       | Unmet("not_routed") |
    """
    waiting: list[str] = []
    receipts: dict[str, Mapping[str, Any]] = {}
    for destination in after:
        if destination not in siblings:
            return Unmet(destination, "not_routed")
        status, receipt = siblings[destination]
        if status in (
            DeliveryStatus.FAILED,
            DeliveryStatus.SUPERSEDED,
            DeliveryStatus.CANCELLED,
            DeliveryStatus.NOT_ENABLED,
        ):
            return Unmet(destination, status.value)
        if status in (DeliveryStatus.PENDING, DeliveryStatus.HELD):
            waiting.append(destination)
        else:
            receipts[destination] = receipt or {}
    return Waiting(tuple(waiting)) if waiting else Ready(receipts)
