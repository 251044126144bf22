"""Clients under load: each submits its filings one after another as a real client would —
an Idempotency-Key per filing, the same key again after a lost connection, a 503, a 429
or a 409 that says when to come back — and times each from its first try to its answer.

    with httpx.Client(base_url=url, headers=auth, timeout=60) as http:
        acks = submit_all(http, filings, deadline=time.monotonic() + 90)
    latency = percentile([a.seconds for a in acks], 95)
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

ACKNOWLEDGED = (200, 201)  # 200: the same key and body came before (Idempotent-Replayed)
RETRY_STATUSES = (429, 502, 503, 504)
# A load test's clients wait at most this long, whatever Retry-After says (the service
# answers 503 with Retry-After: 30): a retry here is a figure to report, not to sit out.
MAX_WAIT_S = 2.0
BACKOFF_S = 0.1


@dataclass(frozen=True)
class Filing:
    key: str  # the Idempotency-Key: one per filing, the same on every try
    metadata: dict[str, Any]
    filename: str
    content: bytes


@dataclass(frozen=True)
class Ack:
    key: str
    filing_id: str
    status: int
    seconds: float  # from the first try to the acknowledgement
    retries: tuple[str, ...]  # why each earlier try was retried ("503", "transport", …)


class GaveUp(Exception):
    """A filing that was refused, or not acknowledged before the deadline."""


def submit_all(http: httpx.Client, filings: Iterable[Filing], *, deadline: float) -> list[Ack]:
    return [submit(http, filing, deadline=deadline) for filing in filings]


def submit(http: httpx.Client, filing: Filing, *, deadline: float) -> Ack:
    started = time.monotonic()
    retries: list[str] = []
    while time.monotonic() < deadline:
        reason, wait_s, response = _try(http, filing)
        if response is not None:
            seconds = time.monotonic() - started
            return Ack(
                filing.key, response.json()["id"], response.status_code, seconds, tuple(retries)
            )
        retries.append(reason)
        time.sleep(min(wait_s * len(retries), MAX_WAIT_S))  # linear backoff, bounded
    raise GaveUp(f"{filing.key}: not acknowledged before the deadline; retries {retries}")


def _try(http: httpx.Client, filing: Filing) -> tuple[str, float, httpx.Response | None]:
    """(why to retry, how long to wait first, None) or ("", 0, the acknowledgement)."""
    try:
        response = http.post(
            "/v1/filings",
            headers={"Idempotency-Key": filing.key},
            data={"metadata": json.dumps(filing.metadata, ensure_ascii=False)},
            files={"file": (filing.filename, filing.content)},
        )
    except httpx.TransportError as exc:
        return f"transport:{type(exc).__name__}", BACKOFF_S, None
    if response.status_code in ACKNOWLEDGED:
        return "", 0.0, response
    retry_after = response.headers.get("retry-after")
    if response.status_code in RETRY_STATUSES or (response.status_code == 409 and retry_after):
        return str(response.status_code), float(retry_after or BACKOFF_S), None
    raise GaveUp(f"{filing.key}: HTTP {response.status_code} {response.text[:2000]}")


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0–100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
