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
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from service.delivery.port import (
    Delivered,
    DeliveryJob,
    Failed,
    Journal,
    Outcome,
    ReviewPoll,
    ReviewStatus,
    ReviewUnavailable,
    UnknownReceipt,
)
from service.delivery.quick_retry import (
    Permanent,
    QuickRetryPolicy,
    Transient,
    parse_retry_after,
    quick_retry,
    truncate,
)
from service.domain.destinations import Capability
from service.domain.time import utcnow

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
_CONFIGURATION_CODES = frozenset({40101, 40301})
_BUSY_CODES = frozenset({50001, 50301})

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
class _Submission:
    """One report as sent: the same bytes for every try of one deliver()."""

    request_id: str
    platform_version: int
    org_code: str
    file_sha256: str
    body: bytes
    content_type: str


# -- the clock --------------------------------------------------------------------------------


class _ClockOffset:
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
class _Envelope:
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


# -- the adapter ------------------------------------------------------------------------------


class LegalPlatformAdapter:
    destination = "legal_platform"
    # the platform takes the file itself, and reviews it; no paragraphs to extract
    capabilities = frozenset({Capability.REVIEWS})

    def __init__(
        self,
        config: LegalPlatformConfig,
        *,
        client: httpx.Client | None = None,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        nonce: Callable[[], str] = lambda: secrets.token_hex(16),
    ) -> None:
        self._config = config
        self._base = config.base_url.rstrip("/")
        self._client = client or httpx.Client(timeout=config.timeout_s)
        self._sleep = sleep
        self._nonce = nonce
        self._clock = _ClockOffset(wall)
        self._log = structlog.get_logger().bind(destination=self.destination)

    # -- the port ---------------------------------------------------------------------------

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        log = self._log.bind(delivery_id=job.delivery_id)
        try:
            submission = self._submission(job, journal)
        except Permanent as exc:
            outcome: Outcome = exc.to_outcome()
        else:
            log = log.bind(
                request_id=submission.request_id, platform_version=submission.platform_version
            )
            outcome = quick_retry(
                lambda: self._submit(submission, log),
                self._config.retry_policy,
                sleep=self._sleep,
                before_sleep=lambda exc, wait: log.info(
                    "legal_platform.retry", code=exc.code, http_status=exc.http_status, wait_s=wait
                ),
            )
        log.info(
            "legal_platform.delivery",
            outcome=type(outcome).__name__,
            code=getattr(outcome, "code", None),
        )
        return outcome

    def poll_review(self, receipt_no: str, org_code: str) -> ReviewPoll:
        """The platform's review of `receipt_no`, asked with `org_code`'s app key. One try:
        the next scheduled poll is the retry."""
        log = self._log.bind(receipt_no=receipt_no)
        path = f"{REPORTS_PATH}/{quote(receipt_no, safe='')}"
        try:
            answer = self._signed(log, "review", "GET", path, self._credentials(org_code))
            if answer.code == 40401:
                return UnknownReceipt(receipt_no, answer.message or "unknown receipt_no")
            if answer.code != 0:
                raise _error(answer)
            return _review_status(answer, receipt_no)
        except Transient as exc:
            return ReviewUnavailable(exc.code, exc.message, exc.http_status, exc.retry_after)
        except Permanent as exc:
            return ReviewUnavailable(exc.code, exc.message, exc.http_status, permanent=True)

    # -- one delivery -----------------------------------------------------------------------

    def _submission(self, job: DeliveryJob, journal: Journal) -> _Submission:
        """The report as the platform receives it; raises Permanent when it cannot be sent."""
        if job.file.kind not in FILE_KINDS:
            raise Permanent(
                "file_type_not_accepted",
                f"the legal platform takes PDF, OFD and DOCX only, not {job.file.kind}",
            )
        if job.file.size > MAX_FILE_BYTES:
            raise Permanent(
                "file_too_large", f"the file is {job.file.size} bytes; at most {MAX_FILE_BYTES}"
            )
        year = job.period[:4]
        if not re.fullmatch(r"\d{4}", year):
            raise Permanent("invalid_period", f"no report year in period {job.period!r}")
        state = self._fixed_state(job, journal)
        with job.file.open() as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
        file_sha256 = hashlib.sha256(data).hexdigest()
        if file_sha256 != job.file.sha256:
            raise Permanent(
                "archive_fixity_mismatch",
                f"the archived file hashes to {file_sha256}, not {job.file.sha256}",
            )
        fields = [
            ("request_id", state["request_id"]),
            ("org_code", job.org_code),
            ("org_name", job.org_name),
            ("report_year", year),
            ("report_type", self._config.report_type),
            ("title", job.title or job.file.filename.rsplit(".", 1)[0]),
            ("file_sha256", file_sha256),
            ("version", str(state["platform_version"])),
        ]
        body, content_type = build_multipart(
            fields,
            (job.file.filename, job.file.media_type, data),
            boundary_for(state["request_id"]),
        )
        return _Submission(
            state["request_id"], state["platform_version"], job.org_code, file_sha256, body,
            content_type,
        )  # fmt: skip

    def _fixed_state(self, job: DeliveryJob, journal: Journal) -> dict[str, Any]:
        """request_id and platform version, fixed by the first attempt and journaled before
        its POST: every later attempt must send the same content under the same request_id,
        whatever the catalog says by then."""
        state = dict(job.state)
        if "request_id" in state and "platform_version" in state:
            return state
        state["request_id"] = request_id_for(job.idempotency_key)
        state["platform_version"] = platform_version_for(job.replaces)
        journal.save(state)
        return state

    def _submit(self, submission: _Submission, log: Log) -> Outcome:
        answer = self._signed(
            log, "submit", "POST", REPORTS_PATH, self._credentials(submission.org_code),
            body=submission.body, content_type=submission.content_type,
        )  # fmt: skip
        if answer.code == 0:
            return Delivered(_receipt(answer.data, submission), answer.http_status)
        if answer.code == 40901:
            return self._existing(answer, submission, log)
        raise _error(answer)

    def _existing(self, answer: _Envelope, submission: _Submission, log: Log) -> Outcome:
        """40901: a report for this body, year and type is there already."""
        theirs = answer.data.get("file_sha256")
        if theirs == submission.file_sha256 and answer.data.get("receipt_no"):
            log.info("legal_platform.already_filed", receipt_no=answer.data["receipt_no"])
            receipt = _receipt(answer.data, submission)
            version = answer.data.get("version")
            if isinstance(version, int) and not isinstance(version, bool):
                receipt["platform_version"] = version
            return Delivered(receipt, answer.http_status)
        return Failed(
            "conflict",
            truncate(
                f"40901: the platform holds another report for this body, year and type "
                f"(receipt {answer.data.get('receipt_no')}, file sha256 {theirs}); "
                f"a correction must go as a new version. {answer.message}"
            ),
            answer.http_status,
        )

    # -- HTTP -------------------------------------------------------------------------------

    def _credentials(self, org_code: str) -> AppCredentials:
        return self._config.credentials_for(org_code)

    def _signed(
        self,
        log: Log,
        endpoint: str,
        method: str,
        path: str,
        credentials: AppCredentials,
        *,
        body: bytes = b"",
        content_type: str | None = None,
    ) -> _Envelope:
        """One call, signed anew (timestamp, nonce) for each send; a 40102 corrects the clock
        offset from the platform's server_time and resends the same bytes at once."""
        url = f"{self._base}{path}"
        for _ in range(1 + self._config.clock_retries):
            answer = _envelope(
                self._send(log, endpoint, method, url, credentials, body, content_type)
            )
            if answer.code != 40102:
                return answer
            server_time = answer.data.get("server_time")
            if isinstance(server_time, int | float) and not isinstance(server_time, bool):
                offset = self._clock.correct(server_time)
                log.info("legal_platform.clock_corrected", offset_s=round(offset, 3))
        raise Transient(
            answer.name,
            f"refused {1 + self._config.clock_retries} times as out of time: {answer.summary}",
            http_status=answer.http_status,
        )

    def _send(
        self,
        log: Log,
        endpoint: str,
        method: str,
        url: str,
        credentials: AppCredentials,
        body: bytes,
        content_type: str | None,
    ) -> httpx.Response:
        headers = {"Content-Type": content_type} if content_type else {}
        started = time.monotonic()
        try:
            request = self._client.build_request(
                method, url, content=body or None, headers=headers, timeout=self._config.timeout_s
            )
            request.headers.update(self._signature_headers(request, credentials, body))
            response = self._client.send(request)
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise Permanent("bad_base_url", f"configuration: {exc}") from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            # Refused, reset, timed out or cut short: unknown whether it was filed. The retry
            # carries the same request_id and content, so the platform sorts it out.
            log.warning(
                "legal_platform.call", endpoint=endpoint, app_key=credentials.app_key,
                error=type(exc).__name__, elapsed_ms=_ms(started),
            )  # fmt: skip
            raise Transient("transport_error", f"{type(exc).__name__}: {exc}") from exc
        log.info(
            "legal_platform.call", endpoint=endpoint, app_key=credentials.app_key,
            http_status=response.status_code, code=_peek_code(response), elapsed_ms=_ms(started),
        )  # fmt: skip
        return response

    def _signature_headers(
        self, request: httpx.Request, credentials: AppCredentials, body: bytes
    ) -> dict[str, str]:
        # The path exactly as it goes on the wire (base-URL prefix and escapes included).
        path = request.url.raw_path.split(b"?", 1)[0].decode("ascii")
        timestamp, nonce = str(self._clock.now_ms()), self._nonce()
        return {
            "X-App-Key": credentials.app_key,
            "X-Timestamp": timestamp,
            "X-Nonce": nonce,
            "X-Signature": signature(
                credentials.app_secret, request.method, path, timestamp, nonce, body
            ),
        }


# -- answers ----------------------------------------------------------------------------------


def _envelope(response: httpx.Response) -> _Envelope:
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
    return _Envelope(
        code, message if isinstance(message, str) else "", data if isinstance(data, dict) else {},
        status,
    )  # fmt: skip


def _error(answer: _Envelope) -> Transient | Permanent:
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
    if answer.code in _BUSY_CODES or answer.code >= 50000:
        return Transient(answer.name, answer.summary, http_status=answer.http_status)
    if answer.code in _CONFIGURATION_CODES:
        return Permanent(
            answer.name, f"configuration: {answer.summary}", http_status=answer.http_status
        )
    return Permanent(answer.name, answer.summary, http_status=answer.http_status)


def _receipt(data: Mapping[str, Any], submission: _Submission) -> dict[str, Any]:
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


def _review_status(answer: _Envelope, receipt_no: str) -> ReviewStatus:
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


def _peek_code(response: httpx.Response) -> int | None:
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


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
