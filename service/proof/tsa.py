"""The TSA adapter: POSTs a TimeStampReq (application/timestamp-query, RFC 3161 §3.4) with
httpx and checks the reply before anyone archives it.

    | the TSA answers                          | outcome                              |
    |------------------------------------------|--------------------------------------|
    | 200 + a token that verifies              | Stamped(response, facts)             |
    | 200 + a token that does not (see tokens) | Failed(code)                         |
    | 200 + not granted / unparseable          | RetryLater(code)                     |
    | 408, 429, 5xx, no connection, timeout    | RetryLater (Retry-After honoured)    |
    | TLS refused (no or a wrong client cert)  | RetryLater("tsa_tls_refused")        |
    | https, closed with no answer (the same,  | RetryLater("tsa_disconnected")       |
    |   its TLS alert lost on the way)         |                                      |
    | other 4xx (401: wrong credentials …)     | Failed("tsa_http_<status>")          |

Credentials, as Chinese trusted TSAs want them: HTTP basic when a username is set (the
password never reaches a log), or a client certificate (PEM certificate and key files,
read once by the TLS context; their content never reaches a log). `ca_file`: the CAs
that sign the TSA's https certificate, when not the system's.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

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
    ca_file: Path | None = None
    client_cert_file: Path | None = None  # with client_key_file: TLS client authentication
    client_key_file: Path | None = None
    client_key_password: SecretStr | None = None


def tls_context(config: TsaConfig) -> ssl.SSLContext | bool:
    """What httpx verifies the TSA with: the system's CAs (True), or a context with the
    configured CAs and client certificate. Raises ValueError naming the files (a file
    that cannot be read, a key that is not the certificate's), never their content."""
    if config.ca_file is None and config.client_cert_file is None:
        return True
    try:
        context = ssl.create_default_context(cafile=config.ca_file)
        if config.client_cert_file is not None:
            # Always a password callback: without one, OpenSSL would ask for an encrypted
            # key's passphrase on the terminal and the start would hang.
            password = config.client_key_password
            context.load_cert_chain(
                config.client_cert_file,
                config.client_key_file,
                password=lambda: password.get_secret_value() if password else "",
            )
    except (OSError, ssl.SSLError) as exc:
        files = ", ".join(
            str(f) for f in (config.ca_file, config.client_cert_file, config.client_key_file) if f
        )
        raise ValueError(
            f"the TSA's TLS files cannot be used ({files}): {type(exc).__name__} {exc.strerror}"
            " (a key stored encrypted needs DISCLOSURE_TSA_CLIENT_KEY_PASSWORD)"
        ) from None
    return context


class HttpTsa:
    def __init__(self, config: TsaConfig, client: httpx.Client | None = None) -> None:
        self._config = config
        auth = None
        if config.username:
            secret = config.password.get_secret_value() if config.password else ""
            auth = httpx.BasicAuth(config.username, secret)
        self._client = client or httpx.Client(
            timeout=config.timeout_s, auth=auth, verify=tls_context(config)
        )

    def close(self) -> None:
        self._client.close()

    def describe(self) -> str:
        return httpx.URL(self._config.url).copy_with(username=None, password=None).__str__()

    def stamp(self, digest: bytes) -> StampOutcome:
        request = new_request(digest)
        try:
            response = self._client.post(
                self._config.url, content=request.der, headers={"Content-Type": QUERY}
            )
        except httpx.HTTPError as exc:
            return _unreachable(exc)
        if response.status_code != 200:
            return _http_outcome(response)
        check = check_token(response.content, digest, self._config.roots, nonce=request.nonce)
        if check.problem is not None:
            cls = RetryLater if check.problem.code in _RETRYABLE_PROBLEMS else Failed
            log.warning("tsa_token_refused", tsa=self.describe(), code=check.problem.code)
            return cls(check.problem.code, check.problem.message_en, http_status=200)
        assert check.facts is not None
        return Stamped(response.content, check.facts)


_CLIENT_CERTIFICATE_HINT = (
    "it may want a client certificate, or another than ours "
    "(DISCLOSURE_TSA_CLIENT_CERT_FILE, DISCLOSURE_TSA_CLIENT_KEY_FILE)"
)


def _unreachable(exc: httpx.HTTPError) -> RetryLater:
    """No answer: retried. A TLS refusal says so, and what to check: a TSA that wants a
    client certificate refuses the connection (TLS 1.3: after the handshake, and the
    alert that says why often does not arrive before the connection closes)."""
    said = truncate(f"{type(exc).__name__}: {exc}")
    if _tls_untrusted(exc):
        return RetryLater(
            "tsa_certificate_untrusted",
            "the TSA's HTTPS certificate does not verify: if it comes from a private CA, "
            f"give that CA's certificate in DISCLOSURE_TSA_CA_FILE — {said}",
        )
    if _tls_refused(exc):
        return RetryLater(
            "tsa_tls_refused",
            f"the TSA refused the TLS connection: {_CLIENT_CERTIFICATE_HINT} — {said}",
        )
    https = exc.request.url.scheme == "https" if _has_request(exc) else False
    if https and isinstance(exc, httpx.RemoteProtocolError):
        return RetryLater(
            "tsa_disconnected",
            f"the TSA closed the TLS connection without an answer: {_CLIENT_CERTIFICATE_HINT}"
            f" — {said}",
        )
    return RetryLater("tsa_unreachable", said)


def _has_request(exc: httpx.HTTPError) -> bool:
    try:
        return exc.request is not None
    except RuntimeError:  # httpx raises when the error was made without one
        return False


def _tls_untrusted(exc: BaseException) -> bool:
    """Our own check of the TSA's certificate failed (not the TSA refusing ours)."""
    return any(
        isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(e)
        for e in _causes(exc)
    )


def _tls_refused(exc: BaseException) -> bool:
    """An SSL alert the TSA sent (certificate required, bad or unknown certificate)."""
    return any(
        "ALERT" in str(e).upper() and "CERTIFICATE" in str(e).upper()
        for e in _causes(exc)
        if isinstance(e, ssl.SSLError) or "alert" in str(e).lower()
    )


def _causes(exc: BaseException) -> Iterator[BaseException]:
    found: BaseException | None = exc
    for _ in range(10):  # a chain of causes is short; a cycle must not hang a worker
        if found is None:
            return
        yield found
        found = found.__cause__ or found.__context__


def _http_outcome(response: httpx.Response) -> RetryLater | Failed:
    status = response.status_code
    message = truncate(response.text)
    if status in (408, 429) or status >= 500:
        return RetryLater(f"tsa_http_{status}", message, status, _retry_after(response))
    return Failed(f"tsa_http_{status}", message, status)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None
