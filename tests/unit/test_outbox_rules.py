"""The outbox's rules as the domain states them: when a version is settled by its
deliveries, and which older delivery a newer version supersedes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from service.domain.filing import DeliveryStatus, VersionStatus
from service.domain.outbox import Ready, Unmet, Waiting, prerequisites, settled_status, supersedable

PENDING, DELIVERED = DeliveryStatus.PENDING, DeliveryStatus.DELIVERED
FAILED, SUPERSEDED = DeliveryStatus.FAILED, DeliveryStatus.SUPERSEDED
CANCELLED, HELD = DeliveryStatus.CANCELLED, DeliveryStatus.HELD
NOW = datetime(2024, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("deliveries", "version"),
    [
        ({DELIVERED}, VersionStatus.PUBLISHED),
        ({DELIVERED, SUPERSEDED}, VersionStatus.PUBLISHED),
        ({SUPERSEDED}, VersionStatus.SUPERSEDED),
        ({FAILED}, VersionStatus.DELIVERY_FAILED),
        ({FAILED, DELIVERED}, VersionStatus.DELIVERY_FAILED),
        ({FAILED, PENDING}, VersionStatus.DELIVERY_FAILED),
        ({PENDING}, None),
        ({PENDING, DELIVERED}, None),
        ({PENDING, SUPERSEDED}, None),
        ({HELD}, None),
        ({HELD, DELIVERED}, None),
        ({CANCELLED}, None),  # the withdrawal set the version's status itself
        ({CANCELLED, DELIVERED}, None),
        (set(), None),
    ],
)
def test_a_version_settles_by_its_deliveries(
    deliveries: set[DeliveryStatus], version: VersionStatus | None
) -> None:
    assert settled_status(deliveries) is version


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus = PENDING
    attempts: int = 0
    first_attempt_at: datetime | None = None
    lease_owner: str | None = None


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        (Delivery(), True),
        (Delivery(attempts=1), False),
        (Delivery(first_attempt_at=NOW), False),  # claimed, perhaps delivered, no record yet
        (Delivery(lease_owner="w1:abc"), False),
        (Delivery(status=DELIVERED), False),
        (Delivery(status=FAILED), False),
        (Delivery(status=SUPERSEDED), False),
        (Delivery(status=HELD), True),
        (Delivery(status=CANCELLED), False),
    ],
    ids=[
        "never-tried",
        "tried",
        "claimed",
        "leased",
        "delivered",
        "failed",
        "superseded",
        "held",
        "cancelled",
    ],
)
def test_only_a_delivery_never_claimed_is_superseded(delivery: Delivery, expected: bool) -> None:
    assert supersedable(delivery) is expected


PORTAL_RECEIPT = {"article_id": "a-1", "url": "https://portal.example/a-1"}


@pytest.mark.parametrize(
    ("after", "siblings", "expected"),
    [
        ([], {}, Ready({})),
        (["portal"], {"portal": (DELIVERED, PORTAL_RECEIPT)}, Ready({"portal": PORTAL_RECEIPT})),
        (["portal"], {"portal": (PENDING, None)}, Waiting(("portal",))),
        (["portal"], {"portal": (FAILED, None)}, Unmet("portal", "failed")),
        (["portal"], {"portal": (SUPERSEDED, None)}, Unmet("portal", "superseded")),
        (["portal"], {"portal": (CANCELLED, None)}, Unmet("portal", "cancelled")),
        (["portal"], {"portal": (HELD, None)}, Waiting(("portal",))),
        (["portal"], {"legal_platform": (DELIVERED, {})}, Unmet("portal", "not_routed")),
        (
            ["portal", "legal_platform"],
            {"portal": (DELIVERED, PORTAL_RECEIPT), "legal_platform": (PENDING, None)},
            Waiting(("legal_platform",)),
        ),
        (
            ["portal", "legal_platform"],
            {"portal": (PENDING, None), "legal_platform": (FAILED, None)},
            Unmet("legal_platform", "failed"),
        ),
    ],
)
def test_a_delivery_goes_only_once_the_destinations_it_needs_have_delivered(
    after: list[str],
    siblings: dict[str, tuple[DeliveryStatus, dict[str, str] | None]],
    expected: Ready | Waiting | Unmet,
) -> None:
    assert prerequisites(after, siblings) == expected
