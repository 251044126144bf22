"""Scheduled releases: rules for moving or holding a version's release.

    | the version's publish deliveries        | PATCH …/schedule                    |
    |-----------------------------------------|-------------------------------------|
    | all never claimed (pending or held)     | moved to the time, or held (null)   |
    | any claimed, tried or settled           | 409 release_already_attempted       |
    | none (routed nowhere)                   | 409 nothing_to_release              |
    | a time not in the future                | 422 publish_at_in_past              |

Once a delivery was tried, the destination may hold its first body — publish_at
included — and a resend must repeat it exactly: the release can no longer move.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from service.domain.errors import Conflict, Rejected
from service.domain.findings import error
from service.domain.outbox import DeliveryFacts, supersedable

DECISION_KIND = "schedule"  # decisions/schedule-<UTC timestamp>.json beside the package


def check_release_time(publish_at: datetime | None, now: datetime) -> None:
    if publish_at is not None and publish_at <= now:
        refused = Rejected(
            [
                error(
                    "publish_at_in_past",
                    "发布时间须晚于当前时间",
                    "publish_at must be in the future",
                    where="publish_at",
                )
            ],
            code="publish_at_in_past",
        )
        refused.message_zh = "发布时间须晚于当前时间"
        refused.message_en = "publish_at must be in the future"
        raise refused


def check_movable(deliveries: Collection[DeliveryFacts]) -> None:
    """Conflict unless every publish delivery of the version was never claimed."""
    if not deliveries:
        raise Conflict(
            "该版本没有待发布的投递，无需安排发布时间",
            "The version goes nowhere: there is no release to schedule",
            code="nothing_to_release",
        )
    if not all(supersedable(d) for d in deliveries):
        raise Conflict(
            "该版本已开始投递，不能再更改发布时间",
            "A delivery of this version was already attempted; its release can no longer move",
            code="release_already_attempted",
        )
