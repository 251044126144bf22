"""The webhook channel: a signed JSON POST per event (Standard Webhooks headers; see
signing.py). The body is the same on every retry; `webhook-id` is the event's id, so a
receiver drops a repeat.

    answer                                   outcome
    2xx                                      Delivered
    408, 429, 5xx, no answer (timeout, …)    RetryLater (Retry-After honoured)
    any other status (4xx, 3xx)              Failed: the receiver refuses it; recorded
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from service.catalog.records import NotificationRecord
from service.delivery.port import Delivered, Outcome
from service.delivery.quick_retry import (
    Permanent,
    QuickRetryPolicy,
    Transient,
    parse_retry_after,
    quick_retry,
    truncate,
)
from service.domain.notifications import Channel
from service.notifications.signing import sign

RETRYABLE = frozenset({408, 425, 429})


def payload(notification: NotificationRecord) -> dict[str, Any]:
    event = notification.event
    return {
        "id": notification.event_id,
        "type": event.kind.value,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "subject": event.subject,
            "filing_id": event.filing_id,
            "org_code": event.org_code,
            "title_zh": event.title_zh,
            "title_en": event.title_en,
            "detail": dict(event.detail),
        },
    }


class WebhookChannel:
    channel = Channel.WEBHOOK

    def __init__(
        self,
        url: str,
        secret: str,
        quick: QuickRetryPolicy,
        *,
        clock: Callable[[], datetime],
        timeout_s: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._url = url
        self._secret = secret
        self._quick = quick
        self._clock = clock
        self._sleep = sleep
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def send(self, notification: NotificationRecord) -> Outcome:
        body = json.dumps(payload(notification), ensure_ascii=False, sort_keys=True).encode()
        return quick_retry(
            lambda: self._post(notification.event_id, body), self._quick, sleep=self._sleep
        )

    def _post(self, event_id: str, body: bytes) -> Outcome:
        timestamp = int(self._clock().timestamp())
        headers = {
            "content-type": "application/json; charset=utf-8",
            "webhook-id": event_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(self._secret, event_id, timestamp, body),
        }
        try:
            response = self._client.post(self._url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise Transient("webhook_unreachable", f"{type(exc).__name__}: {exc}") from exc
        return self._outcome(response)

    def _outcome(self, response: httpx.Response) -> Outcome:
        status = response.status_code
        if 200 <= status < 300:
            return Delivered({"http_status": status}, http_status=status)
        message = f"HTTP {status}: {truncate(response.text)}"
        if status >= 500 or status in RETRYABLE:
            retry_after = parse_retry_after(response.headers.get("retry-after"), self._clock)
            raise Transient(
                "webhook_unavailable", message, http_status=status, retry_after=retry_after
            )
        raise Permanent("webhook_refused", message, http_status=status)

    def close(self) -> None:
        self._client.close()
