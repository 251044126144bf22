"""The legal-platform adapter: files the annual rule-of-law report with the municipal
legal-adviser platform (天津市法律顾问管理服务平台), speaking `contracts/legal-platform.md`,
and polls the platform's review of it.

    deliver(job) ─▶ request_id + platform version: fixed once, journaled at once
                 ─▶ multipart body: exact bytes, its boundary derived from the request_id
                 ─▶ POST …/openapi/v1/reports, signed per send (fresh timestamp, nonce)
                 ─▶ receipt {receipt_no, received_at, status, platform_version, file_sha256}

    poll_review(receipt_no, org_code) ─▶ ReviewStatus | UnknownReceipt | ReviewUnavailable

Every request is signed with the filing body's app key (HMAC-SHA256 over METHOD, PATH,
X-Timestamp, X-Nonce and the body's SHA-256). The platform answers every business outcome
as HTTP 200 with a code; the envelope's codes, as outcomes:

    0                                      Delivered
    40001, 40003, 40401 (on submit)        Failed (the request is wrong)
    40101, 40301                           Failed (configuration: app key, secret, org)
    40102                                  clock offset corrected from data.server_time,
                                           re-signed and resent at once, `clock_retries`
                                           times; then transient
    40901, same file_sha256                Delivered (the platform holds this very file)
    40901, other file_sha256               Failed ("conflict")
    42901                                  transient, waiting data.retry_after
    50001, 50301                           transient (platform busy)
    HTTP 502/503/504, other 5xx, 408,      transient (the same request_id: a repeat
    transport errors, a 200 that is not    returns the first result)
    the JSON envelope
    HTTP 413                               Failed

Transient failures get `quick_tries` tries in-process (service.delivery.quick_retry), then
the delivery goes back to the outbox as RetryLater. The request_id and platform version
are journaled before the first POST, so every later attempt — on any worker, after any
restart — sends the same content under the same request_id, and the platform replays the
first answer instead of filing a second report.

    protocol.py   answers.py   adapter.py
"""

from __future__ import annotations

from service.delivery.legal_platform.adapter import LegalPlatformAdapter
from service.delivery.legal_platform.protocol import (
    AppCredentials,
    LegalPlatformConfig,
    build_multipart,
    request_id_for,
    signature,
)
from service.delivery.port import (
    ReviewStatus,
    ReviewUnavailable,
    UnknownReceipt,
)

__all__ = [
    "AppCredentials",
    "LegalPlatformAdapter",
    "LegalPlatformConfig",
    "ReviewStatus",
    "ReviewUnavailable",
    "UnknownReceipt",
    "build_multipart",
    "request_id_for",
    "signature",
]
