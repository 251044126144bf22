"""The durable retry decision: done, retry later, or give up. A pure function, table-tested.

In-process quick retries happen inside an adapter (see quick_retry); what reaches
this function is the outcome of one whole attempt. A transient outcome is
rescheduled along a published schedule that grows to hours (Svix-like by default:
immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h …), never sooner than the
destination asked, until the delivery is older than the give-up age.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from service.delivery.port import Delivered, Failed, Outcome, RetryLater


class Action(StrEnum):
    DONE = "done"
    RETRY = "retry"
    GIVE_UP = "give_up"


@dataclass(frozen=True)
class RetryPolicy:
    schedule: tuple[timedelta, ...]
    give_up_after: timedelta

    @classmethod
    def of_seconds(cls, schedule: Sequence[float], give_up_after: float) -> RetryPolicy:
        return cls(tuple(timedelta(seconds=s) for s in schedule), timedelta(seconds=give_up_after))

    def delay_after(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failed attempt (1-based); the last step repeats."""
        return self.schedule[min(max(attempts, 1), len(self.schedule)) - 1]


@dataclass(frozen=True)
class Decision:
    action: Action
    next_attempt_at: datetime | None = None
    reason: str = ""


def decide(
    outcome: Outcome,
    *,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    policy: RetryPolicy,
) -> Decision:
    """`attempts` counts the attempt that produced `outcome`."""
    if isinstance(outcome, Delivered):
        return Decision(Action.DONE)
    if isinstance(outcome, Failed):
        return Decision(Action.GIVE_UP, reason=f"permanent: {outcome.code}")
    return _reschedule(outcome, attempts, first_attempt_at, now, policy)


def _reschedule(
    outcome: RetryLater,
    attempts: int,
    first_attempt_at: datetime,
    now: datetime,
    policy: RetryPolicy,
) -> Decision:
    delay = policy.delay_after(attempts)
    if outcome.retry_after is not None:
        delay = max(delay, timedelta(seconds=outcome.retry_after))
    next_at = now + delay
    if next_at - first_attempt_at > policy.give_up_after:
        return Decision(
            Action.GIVE_UP, reason=f"gave up after {policy.give_up_after}: {outcome.code}"
        )
    return Decision(Action.RETRY, next_at, reason=outcome.code)
