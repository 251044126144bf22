"""The outbox's rules (DESIGN.md invariant 6), as pure functions every catalog applies.

    settled_status({DELIVERED, SUPERSEDED})   → PUBLISHED: nothing left to send
    settled_status({PENDING, DELIVERED})      → None: the version waits on a delivery
    supersedable(delivery)                    → True only for one never claimed

A newer version supersedes an older version's delivery to the same destination only if
that delivery was never claimed: once a worker has claimed it, it may have reached the
destination even with no attempt recorded (a crash before the record), so it is left
to finish and the newer version goes as a correction.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

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
    | any failed                            | delivery_failed   |
    | all superseded                        | superseded        |
    | all delivered or superseded           | published         |
    | any pending (and none failed)         | (unchanged)       |
    """
    found = set(statuses)
    if DeliveryStatus.FAILED in found:
        return VersionStatus.DELIVERY_FAILED
    if found == {DeliveryStatus.SUPERSEDED}:
        return VersionStatus.SUPERSEDED
    if found and found <= {DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED}:
        return VersionStatus.PUBLISHED
    return None


def supersedable(delivery: DeliveryFacts) -> bool:
    """Pending, never tried, never claimed, and not leased now."""
    return (
        delivery.status is DeliveryStatus.PENDING
        and delivery.attempts == 0
        and delivery.first_attempt_at is None
        and delivery.lease_owner is None
    )
