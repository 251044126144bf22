"""Quick retries: the few tries a delivery gets in-process before it goes back to the outbox.

An adapter's attempt either returns an outcome or raises one of two exceptions:

    return Delivered / Failed / RetryLater    done, passed through as is
    raise Transient(code, message, …)         wait, then try again; after the last try → RetryLater
    raise Permanent(code, message, …)         → Failed at once

Waits are exponential backoff with full jitter, never shorter than a `Retry-After` the
destination sent. A `Retry-After` longer than the policy's cap ends the quick tries at once:
a worker thread should not sleep for minutes while the outbox can reschedule the delivery.

    policy = QuickRetryPolicy(tries=3, backoff_initial_s=0.5, backoff_max_s=8, retry_after_cap_s=60)
    outcome = quick_retry(attempt, policy, sleep=time.sleep)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)
from tenacity.stop import stop_base

from service.delivery.port import Failed, Outcome, RetryLater

# Messages are stored in the attempt log and shown to people; a remote's error page can be
# megabytes of HTML, of which the first few hundred characters say all there is to say.
MAX_MESSAGE_CHARS = 500


def truncate(message: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


class Transient(Exception):
    """This try failed in a way a later try may not: retry (the same request, the same key)."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = truncate(message)
        self.http_status = http_status
        self.retry_after = retry_after

    def to_outcome(self) -> RetryLater:
        return RetryLater(self.code, self.message, self.http_status, self.retry_after)


class Permanent(Exception):
    """No retry can fix this (a wrong request, a configuration error)."""

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = truncate(message)
        self.http_status = http_status

    def to_outcome(self) -> Failed:
        return Failed(self.code, self.message, self.http_status)


@dataclass(frozen=True)
class QuickRetryPolicy:
    tries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 60.0


def quick_retry(
    attempt: Callable[[], Outcome],
    policy: QuickRetryPolicy,
    *,
    sleep: Callable[[float], None],
    before_sleep: Callable[[Transient, float], None] | None = None,
) -> Outcome:
    """Run `attempt` up to `policy.tries` times; translate the last failure into an outcome."""
    retrying = Retrying(
        sleep=sleep,
        stop=_stop(policy),
        wait=_wait(policy),
        retry=retry_if_exception_type(Transient),
        before_sleep=_notify(before_sleep),
        reraise=True,
    )
    try:
        return retrying(attempt)
    except Transient as exc:
        return exc.to_outcome()
    except Permanent as exc:
        return exc.to_outcome()


def parse_retry_after(value: str | None, now: Callable[[], datetime]) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date (RFC 9110 §10.2.3).

    None when absent or unreadable: the caller then falls back to its own backoff.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC without saying where the sender is
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


def _last_transient(state: RetryCallState) -> Transient | None:
    exc = state.outcome.exception() if state.outcome is not None else None
    return exc if isinstance(exc, Transient) else None


class _stop_on_long_retry_after(stop_base):  # lower case, like tenacity's own stops
    def __init__(self, cap_s: float) -> None:
        self.cap_s = cap_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        last = _last_transient(retry_state)
        return bool(last and last.retry_after and last.retry_after > self.cap_s)


def _stop(policy: QuickRetryPolicy) -> stop_base:
    return stop_after_attempt(policy.tries) | _stop_on_long_retry_after(policy.retry_after_cap_s)


def _wait(policy: QuickRetryPolicy) -> Callable[[RetryCallState], float]:
    backoff = wait_random_exponential(multiplier=policy.backoff_initial_s, max=policy.backoff_max_s)

    def wait(state: RetryCallState) -> float:
        last = _last_transient(state)
        return max(backoff(state), (last.retry_after or 0.0) if last else 0.0)

    return wait


def _notify(
    before_sleep: Callable[[Transient, float], None] | None,
) -> Callable[[RetryCallState], None] | None:
    if before_sleep is None:
        return None

    def hook(state: RetryCallState) -> None:
        last = _last_transient(state)
        if last is not None:
            before_sleep(last, state.upcoming_sleep)

    return hook
