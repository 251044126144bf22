"""The durable retry decision, as a table: outcome × history → action and next time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.delivery.policy import Action, RetryPolicy, decide
from service.delivery.port import Delivered, Failed, Outcome, RetryLater

T0 = datetime(2024, 1, 12, 9, 0, tzinfo=UTC)
POLICY = RetryPolicy.of_seconds([0, 5, 300, 1800, 7200], give_up_after=72 * 3600)
S = timedelta(seconds=1)

CASES: list[tuple[str, Outcome, int, timedelta, Action, timedelta | None]] = [
    # id, outcome, attempts (incl. this one), age of first attempt, action, delay from now
    ("delivered is done", Delivered({"article_id": "art_1"}), 1, 0 * S, Action.DONE, None),
    (
        "permanent failure gives up at once",
        Failed("too_large", "413"),
        1,
        0 * S,
        Action.GIVE_UP,
        None,
    ),
    (
        "first transient retries immediately",
        RetryLater("http_503", ""),
        1,
        0 * S,
        Action.RETRY,
        0 * S,
    ),
    ("second transient waits 5 s", RetryLater("http_503", ""), 2, 10 * S, Action.RETRY, 5 * S),
    ("third transient waits 5 min", RetryLater("http_503", ""), 3, 60 * S, Action.RETRY, 300 * S),
    ("the last step repeats", RetryLater("http_503", ""), 9, 3600 * S, Action.RETRY, 7200 * S),
    (
        "Retry-After longer than the step wins",
        RetryLater("rate_limited", "", 429, 120.0),
        2,
        0 * S,
        Action.RETRY,
        120 * S,
    ),
    (
        "Retry-After shorter than the step loses",
        RetryLater("rate_limited", "", 429, 1.0),
        3,
        0 * S,
        Action.RETRY,
        300 * S,
    ),
    (
        "transient past the give-up age gives up",
        RetryLater("http_503", ""),
        30,
        71 * 3600 * S,
        Action.GIVE_UP,
        None,
    ),
]


@pytest.mark.parametrize(
    ("outcome", "attempts", "age", "action", "delay"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_retry_decision(
    outcome: Outcome, attempts: int, age: timedelta, action: Action, delay: timedelta | None
) -> None:
    now = T0 + age
    decision = decide(outcome, attempts=attempts, first_attempt_at=T0, now=now, policy=POLICY)
    assert decision.action is action
    assert decision.next_attempt_at == (None if delay is None else now + delay)
