"""What each destination of a withdrawn filing shows, from its deliveries there
(service.domain.withdrawal's table)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from service.domain.filing import DeliveryAction, DeliveryStatus
from service.domain.withdrawal import TakedownState, takedown_states

PUBLISH, WITHDRAW = DeliveryAction.PUBLISH, DeliveryAction.WITHDRAW
S = DeliveryStatus


@dataclass(frozen=True)
class Delivery:
    destination: str
    action: str
    status: DeliveryStatus
    receipt: Mapping[str, Any] | None = None


@pytest.mark.parametrize(
    ("deliveries", "shown"),
    [
        ([Delivery("portal", PUBLISH, S.CANCELLED)], TakedownState.CANCELLED),
        (
            [Delivery("portal", PUBLISH, S.SUPERSEDED), Delivery("portal", PUBLISH, S.CANCELLED)],
            TakedownState.CANCELLED,
        ),
        ([Delivery("portal", PUBLISH, S.DELIVERED)], TakedownState.MANUAL),  # no withdraw call
        ([Delivery("portal", PUBLISH, S.PENDING)], TakedownState.MANUAL),  # in flight
        (
            [Delivery("portal", PUBLISH, S.DELIVERED), Delivery("portal", WITHDRAW, S.PENDING)],
            TakedownState.WITHDRAWING,
        ),
        (
            [
                Delivery("portal", PUBLISH, S.DELIVERED),
                Delivery("portal", WITHDRAW, S.DELIVERED, {"status": "withdrawn"}),
            ],
            TakedownState.WITHDRAWN,
        ),
        (
            [
                Delivery("portal", PUBLISH, S.FAILED),
                Delivery("portal", WITHDRAW, S.DELIVERED, {"status": "not_published"}),
            ],
            TakedownState.NOT_PUBLISHED,
        ),
        (
            [Delivery("portal", PUBLISH, S.DELIVERED), Delivery("portal", WITHDRAW, S.FAILED)],
            TakedownState.FAILED,
        ),
    ],
)
def test_each_destination_shows_where_its_takedown_stands(
    deliveries: list[Delivery], shown: TakedownState
) -> None:
    assert takedown_states(deliveries) == {"portal": shown}


def test_destinations_are_shown_apart() -> None:
    deliveries = [
        Delivery("portal", PUBLISH, S.DELIVERED),
        Delivery("portal", WITHDRAW, S.PENDING),
        Delivery("legal_platform", PUBLISH, S.DELIVERED),
    ]
    assert takedown_states(deliveries) == {
        "legal_platform": TakedownState.MANUAL,
        "portal": TakedownState.WITHDRAWING,
    }
