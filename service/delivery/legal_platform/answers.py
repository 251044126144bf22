"""Reading the platform's answers: the envelope and its codes as outcomes, receipts,
review statuses; and the clock offset learnt from them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from service.delivery.legal_platform.protocol import (
    BUSY_CODES,
    CODE_NAMES,
    CONFIGURATION_CODES,
    REVIEW_STATUSES,
    Submission,
)
from service.delivery.port import (
    ReviewStatus,
)
from service.delivery.quick_retry import (
    Permanent,
    Transient,
    parse_retry_after,
    truncate,
)
from service.domain.time import utcnow

# -- the clock --------------------------------------------------------------------------------


class ClockOffset:
    """How far the platform's clock is from ours, learnt from 40102's server_time and used
    for every later request too; shared by every thread using the adapter."""

    def __init__(self, wall: Callable[[], float]) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset_s = 0.0

    def now_ms(self) -> int:
        with self._lock:
            return round((self._wall() + self._offset_s) * 1000)

    def correct(self, server_time_ms: float) -> float:
        with self._lock:
            self._offset_s = server_time_ms / 1000 - self._wall()
            return self._offset_s


@dataclass(frozen=True)
class Envelope:
    code: int
    message: str
    data: Mapping[str, Any]
    http_status: int

    @property
    def name(self) -> str:
        return CODE_NAMES.get(self.code, f"code_{self.code}")

    @property
    def summary(self) -> str:
        return f"{self.code}: {self.message}" if self.message else str(self.code)


# -- answers ----------------------------------------------------------------------------------


def read_envelope(response: httpx.Response) -> Envelope:
    """The JSON envelope of an HTTP 200; every other answer raises by the contract's rows."""
    status = response.status_code
    if status == 413:
        raise Permanent("too_large", _text(response), http_status=status)
    if status == 429:  # not in the contract, but a gateway may say it
        retry_after = parse_retry_after(response.headers.get("Retry-After"), utcnow)
        raise Transient("http_429", _text(response), http_status=status, retry_after=retry_after)
    if status >= 500 or status == 408:
        raise Transient(f"http_{status}", _text(response), http_status=status)
    if status != 200:
        raise Permanent(f"http_{status}", f"configuration? {_text(response)}", http_status=status)
    try:
        value = response.json()
    except ValueError:
        value = None
    code = value.get("code") if isinstance(value, dict) else None
    if not isinstance(code, int) or isinstance(code, bool):
        raise Transient(
            "bad_response", f"not the JSON envelope: {_text(response)}", http_status=status
        )
    assert isinstance(value, dict)
    data = value.get("data")
    message = value.get("message")
    return Envelope(
        code, message if isinstance(message, str) else "", data if isinstance(data, dict) else {},
        status,
    )  # fmt: skip


def classified(answer: Envelope) -> Transient | Permanent:
    """What an error code the endpoints share means: to be raised by the caller."""
    if answer.code == 42901:
        wait = answer.data.get("retry_after")
        retry_after = (
            float(wait)
            if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0
            else None
        )
        return Transient(
            answer.name, answer.summary, http_status=answer.http_status, retry_after=retry_after
        )
    # 50001, 50301 and any other 5xxxx: the platform's trouble, not the request's.
    if answer.code in BUSY_CODES or answer.code >= 50000:
        return Transient(answer.name, answer.summary, http_status=answer.http_status)
    if answer.code in CONFIGURATION_CODES:
        return Permanent(
            answer.name, f"configuration: {answer.summary}", http_status=answer.http_status
        )
    return Permanent(answer.name, answer.summary, http_status=answer.http_status)


def receipt_of(data: Mapping[str, Any], submission: Submission) -> dict[str, Any]:
    receipt_no = data.get("receipt_no")
    if not isinstance(receipt_no, str) or not receipt_no:
        raise Transient("bad_response", "the answer has no receipt_no", http_status=200)
    return {
        "receipt_no": receipt_no,
        "received_at": data.get("received_at"),
        "status": data.get("status") or "RECEIVED",
        "platform_version": submission.platform_version,
        "file_sha256": submission.file_sha256,
        "request_id": submission.request_id,
    }


def review_status(answer: Envelope, receipt_no: str) -> ReviewStatus:
    status = answer.data.get("status")
    if status not in REVIEW_STATUSES:
        raise Transient("bad_response", f"unknown review status {status!r}", http_status=200)
    reason, updated = answer.data.get("return_reason"), answer.data.get("updated_at")
    return ReviewStatus(
        str(answer.data.get("receipt_no") or receipt_no),
        str(status),
        truncate(reason) if isinstance(reason, str) and reason else None,
        updated if isinstance(updated, str) else None,
    )


def peek_code(response: httpx.Response) -> int | None:
    """The envelope's code, for the log line (None when there is none)."""
    if response.status_code != 200:
        return None
    try:
        code = response.json().get("code")
    except (ValueError, AttributeError):
        return None
    return code if isinstance(code, int) else None


def _text(response: httpx.Response) -> str:
    # A gateway's error page can be kilobytes of HTML: its start says all there is to say.
    return truncate(response.text.strip()) or response.reason_phrase


def elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
