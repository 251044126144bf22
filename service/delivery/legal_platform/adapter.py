"""`LegalPlatformAdapter`: delivering a filing and polling its review (the package
docstring says how).
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from service.delivery.legal_platform.answers import (
    ClockOffset,
    Envelope,
    classified,
    elapsed_ms,
    peek_code,
    read_envelope,
    receipt_of,
    review_status,
)
from service.delivery.legal_platform.protocol import (
    FILE_KINDS,
    MAX_FILE_BYTES,
    REPORTS_PATH,
    AppCredentials,
    LegalPlatformConfig,
    Log,
    Submission,
    boundary_for,
    build_multipart,
    platform_version_for,
    request_id_for,
    signature,
)
from service.delivery.port import (
    Delivered,
    DeliveryJob,
    Failed,
    Journal,
    Outcome,
    ReviewPoll,
    ReviewUnavailable,
    UnknownReceipt,
)
from service.delivery.quick_retry import (
    Permanent,
    Transient,
    quick_retry,
    truncate,
)
from service.domain.destinations import Capability
from service.domain.replacement import CONFLICT, PLATFORM_VERSION, ExistingReport

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
        self._clock = ClockOffset(wall)
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
            if isinstance(outcome, Failed) and outcome.code == CONFLICT and outcome.detail:
                # what the platform holds instead, kept for people to see and decide on
                journal.save({**submission.state, CONFLICT: dict(outcome.detail)})
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
                raise classified(answer)
            return review_status(answer, receipt_no)
        except Transient as exc:
            return ReviewUnavailable(exc.code, exc.message, exc.http_status, exc.retry_after)
        except Permanent as exc:
            return ReviewUnavailable(exc.code, exc.message, exc.http_status, permanent=True)

    # -- one delivery -----------------------------------------------------------------------

    def _submission(self, job: DeliveryJob, journal: Journal) -> Submission:
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
        return Submission(
            state["request_id"], state[PLATFORM_VERSION], job.org_code, file_sha256, body,
            content_type, state,
        )  # fmt: skip

    def _fixed_state(self, job: DeliveryJob, journal: Journal) -> dict[str, Any]:
        """request_id and platform version, fixed by the first attempt and journaled before
        its POST: every later attempt must send the same content under the same request_id,
        whatever the catalog says by then."""
        state = dict(job.state)
        if "request_id" in state and PLATFORM_VERSION in state:
            return state
        state["request_id"] = request_id_for(job.idempotency_key)
        if PLATFORM_VERSION not in state:  # a replace delivery comes with the one to send
            state[PLATFORM_VERSION] = platform_version_for(job.replaces)
        journal.save(state)
        return state

    def _submit(self, submission: Submission, log: Log) -> Outcome:
        answer = self._signed(
            log, "submit", "POST", REPORTS_PATH, self._credentials(submission.org_code),
            body=submission.body, content_type=submission.content_type,
        )  # fmt: skip
        if answer.code == 0:
            return Delivered(receipt_of(answer.data, submission), answer.http_status)
        if answer.code == 40901:
            return self._existing(answer, submission, log)
        raise classified(answer)

    def _existing(self, answer: Envelope, submission: Submission, log: Log) -> Outcome:
        """40901: a report for this body, year and type is there already."""
        theirs = answer.data.get("file_sha256")
        if theirs == submission.file_sha256 and answer.data.get("receipt_no"):
            log.info("legal_platform.already_filed", receipt_no=answer.data["receipt_no"])
            receipt = receipt_of(answer.data, submission)
            version = answer.data.get("version")
            if isinstance(version, int) and not isinstance(version, bool):
                receipt["platform_version"] = version
            return Delivered(receipt, answer.http_status)
        existing = ExistingReport.from_dict(answer.data)
        return Failed(
            CONFLICT,
            truncate(
                f"40901: the platform holds another report for this body, year and type "
                f"(receipt {answer.data.get('receipt_no')}, file sha256 {theirs}, version "
                f"{answer.data.get('version')}); only a person may decide to replace it. "
                f"{answer.message}"
            ),
            answer.http_status,
            {**existing.to_dict(), "our_sha256": submission.file_sha256} if existing else {},
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
    ) -> Envelope:
        """One call, signed anew (timestamp, nonce) for each send; a 40102 corrects the clock
        offset from the platform's server_time and resends the same bytes at once."""
        url = f"{self._base}{path}"
        for _ in range(1 + self._config.clock_retries):
            answer = read_envelope(
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
                error=type(exc).__name__, elapsed_ms=elapsed_ms(started),
            )  # fmt: skip
            raise Transient("transport_error", f"{type(exc).__name__}: {exc}") from exc
        log.info(
            "legal_platform.call", endpoint=endpoint, app_key=credentials.app_key,
            http_status=response.status_code, code=peek_code(response), elapsed_ms=elapsed_ms(started),
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
