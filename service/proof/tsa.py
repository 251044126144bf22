"""The TSA adapter: POSTs a TimeStampReq (application/timestamp-query, RFC 3161 §3.4) with
httpx and checks the reply before anyone archives it.

    | the TSA answers                          | outcome                              |
    |------------------------------------------|--------------------------------------|
    | 200 + a token that verifies              | Stamped(response, facts)             |
    | 200 + a token that does not (see tokens) | Failed(code)                         |
    | 200 + not granted / unparseable          | RetryLater(code)                     |
    | 408, 429, 5xx, no connection, timeout    | RetryLater (Retry-After honoured)    |
    | other 4xx (401: wrong credentials …)     | Failed("tsa_http_<status>")          |

Basic auth when a username is set (the password never reaches a log).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
import structlog
from cryptography import x509
from pydantic import SecretStr

from service.delivery.port import Failed, RetryLater
from service.delivery.quick_retry import truncate
from service.proof.port import Stamped, StampOutcome
from service.proof.tokens import check_token, new_request

log = structlog.get_logger()
QUERY = "application/timestamp-query"
# A TSA answering badly, or roots not configured yet, may be fixed: retried, not failed.
_RETRYABLE_PROBLEMS = ("timestamp_not_granted", "timestamp_malformed", "timestamp_no_roots")


@dataclass(frozen=True)
class TsaConfig:
    url: str
    roots: Sequence[x509.Certificate]
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = 30.0


class HttpTsa:
    def __init__(self, config: TsaConfig, client: httpx.Client | None = None) -> None:
        self._config = config
        auth = None
        if config.username:
            secret = config.password.get_secret_value() if config.password else ""
            auth = httpx.BasicAuth(config.username, secret)
        self._client = client or httpx.Client(timeout=config.timeout_s, auth=auth)

    def close(self) -> None:
        self._client.close()

    def describe(self) -> str:
        return httpx.URL(self._config.url).copy_with(username=None, password=None).__str__()

    def stamp(self, message: bytes) -> StampOutcome:
        request = new_request(message)
        try:
            response = self._client.post(
                self._config.url, content=request.der, headers={"Content-Type": QUERY}
            )
        except httpx.HTTPError as exc:
            return RetryLater("tsa_unreachable", truncate(f"{type(exc).__name__}: {exc}"))
        if response.status_code != 200:
            return _http_outcome(response)
        check = check_token(
            response.content, hashlib.sha256(message).digest(), self._config.roots,
            nonce=request.nonce,
        )  # fmt: skip
        if check.problem is not None:
            cls = RetryLater if check.problem.code in _RETRYABLE_PROBLEMS else Failed
            log.warning("tsa_token_refused", tsa=self.describe(), code=check.problem.code)
            return cls(check.problem.code, check.problem.message_en, http_status=200)
        assert check.facts is not None
        return Stamped(response.content, check.facts)


def _http_outcome(response: httpx.Response) -> RetryLater | Failed:
    status = response.status_code
    message = truncate(response.text)
    if status in (408, 429) or status >= 500:
        return RetryLater(f"tsa_http_{status}", message, status, _retry_after(response))
    return Failed(f"tsa_http_{status}", message, status)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
