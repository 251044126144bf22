"""What the platform's contract fixes: its codes, the adapter's configuration, the
request id and platform version of a filing, the exact multipart body, the signature.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from service.delivery.quick_retry import (
    Permanent,
    QuickRetryPolicy,
)

MiB = 1024 * 1024
MAX_FILE_BYTES = 20 * MiB
MAX_REQUEST_ID_CHARS = 64
REPORTS_PATH = "/openapi/v1/reports"
# What the platform takes (contract: PDF, OFD, DOCX); ingest refuses others for it already.
FILE_KINDS = frozenset({"pdf", "ofd", "docx"})
REVIEW_STATUSES = frozenset({"RECEIVED", "ACCEPTED", "RETURNED"})

# The envelope's error codes, by the name outcomes and logs carry.
CODE_NAMES: Mapping[int, str] = MappingProxyType(
    {
        40001: "invalid_parameter",
        40003: "file_not_accepted",
        40101: "unauthorized",
        40102: "clock_or_nonce_rejected",
        40301: "org_not_allowed",
        40401: "unknown_receipt",
        40901: "conflict",
        42901: "rate_limited",
        50001: "platform_busy",
        50301: "platform_busy",
    }
)
CONFIGURATION_CODES = frozenset({40101, 40301})
BUSY_CODES = frozenset({50001, 50301})

Log = Any  # a structlog bound logger (structlog.get_logger() is typed Any)


@dataclass(frozen=True)
class AppCredentials:
    """An app key the platform issued and its secret (the secret never appears in a repr)."""

    app_key: str
    app_secret: str = field(repr=False)


@dataclass(frozen=True)
class LegalPlatformConfig:
    """`app_key`/`app_secret` sign for every body without its own entry in `body_credentials`
    (org_code → AppCredentials): one district key filing for several bodies, or one each."""

    base_url: str
    app_key: str
    app_secret: str = field(repr=False)
    body_credentials: Mapping[str, AppCredentials] = field(default_factory=dict)
    timeout_s: float = 30.0
    quick_tries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 60.0
    clock_retries: int = 3  # re-signed sends after a 40102, within one try
    report_type: str = "FZZFJS_ANNUAL"

    @property
    def retry_policy(self) -> QuickRetryPolicy:
        return QuickRetryPolicy(
            self.quick_tries, self.backoff_initial_s, self.backoff_max_s, self.retry_after_cap_s
        )

    def credentials_for(self, org_code: str) -> AppCredentials:
        return self.body_credentials.get(org_code) or AppCredentials(self.app_key, self.app_secret)


# -- request id, version, body ----------------------------------------------------------------


def request_id_for(idempotency_key: str) -> str:
    """The platform's request_id (at most 64 chars) for a delivery's idempotency key.

    Keys are `{filing_id}-v{n}-legal_platform` (fil_ + 20 chars: 41 + the version's digits),
    so they go as they are; a longer key would go as its SHA-256 in hex — 64 chars, stable,
    and never equal to a key as-is, which always ends in "-legal_platform".
    """
    if len(idempotency_key) <= MAX_REQUEST_ID_CHARS:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


def platform_version_for(replaces: Mapping[str, Any] | None) -> int:
    """1 for a body's first report to the platform; the replaced receipt's version + 1 after.

    The service's own version numbers do not count: a version superseded before it went out
    never reached the platform, whose chain must have no gaps.
    """
    if replaces is None:
        return 1
    previous = replaces.get("platform_version")
    if isinstance(previous, bool) or not isinstance(previous, int) or previous < 1:
        raise Permanent(
            "replaces_without_platform_version",
            "the corrected version's receipt has no platform_version",
        )
    return previous + 1


def build_multipart(
    fields: Sequence[tuple[str, str]],
    file: tuple[str, str, bytes],
    boundary: str | None = None,
) -> tuple[bytes, str]:
    """The multipart/form-data body as exact bytes, and its Content-Type.

    Built in memory because the signature covers the body's hash, boundary included: the
    body must exist as bytes before it is signed. That is acceptable here because the
    platform caps files at 20 MiB (MAX_FILE_BYTES) and the adapter refuses larger ones.
    `file` is (filename, media type, data); the filename goes as UTF-8, quotes and line
    breaks percent-escaped (as browsers and httpx send it). A boundary found in the data
    (or none given) is replaced by a random one.
    """
    filename, media_type, data = file
    while boundary is None or boundary.encode() in data:
        boundary = f"disclosure-{secrets.token_hex(16)}"
    chunks: list[bytes] = []
    for name, value in fields:
        chunks += [_part_head(boundary, f'name="{name}"'), value.encode(), b"\r\n"]
    disposition = f'name="file"; filename="{_escape_filename(filename)}"'
    chunks += [_part_head(boundary, disposition, media_type), data, b"\r\n"]
    chunks.append(f"--{boundary}--\r\n".encode())
    return b"".join(chunks), f"multipart/form-data; boundary={boundary}"


def boundary_for(request_id: str) -> str:
    """The multipart boundary of a request_id's body. Derived, not random, so a later attempt
    (any worker, after any restart) rebuilds the very same bytes without journaling them:
    the platform sees the same content under the request_id however it compares it."""
    return f"disclosure-{hashlib.sha256(request_id.encode()).hexdigest()[:32]}"


def _part_head(boundary: str, disposition: str, media_type: str | None = None) -> bytes:
    head = f"--{boundary}\r\nContent-Disposition: form-data; {disposition}\r\n"
    if media_type:
        head += f"Content-Type: {media_type}\r\n"
    return (head + "\r\n").encode()


def _escape_filename(filename: str) -> str:
    return filename.replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")


def string_to_sign(method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    body_hash = hashlib.sha256(body).hexdigest()
    return "\n".join((method.upper(), path, timestamp, nonce, body_hash))


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = string_to_sign(method, path, timestamp, nonce, body)
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Submission:
    """One report as sent: the same bytes for every try of one deliver()."""

    request_id: str
    platform_version: int
    org_code: str
    file_sha256: str
    body: bytes
    content_type: str
    state: Mapping[str, Any] = field(default_factory=dict)  # as journaled for the delivery
