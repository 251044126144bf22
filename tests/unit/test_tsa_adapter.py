"""The TSA adapter at its HTTP edge (respx): what it posts, and the outcome of each
answer — a verified token, an outage to retry, a refusal no retry fixes. The password
reaches the TSA as basic auth and never a log."""

from __future__ import annotations

import base64
import hashlib

import httpx
import pytest
import respx
from pydantic import SecretStr
from structlog.testing import capture_logs

from service.delivery.port import Failed, RetryLater
from service.proof.port import Stamped
from service.proof.tokens import load_roots
from service.proof.tsa import HttpTsa, TsaConfig
from service.simulators.tsa import Authority

URL = "https://tsa.example.cn/tsa"
MANIFEST = b"tag manifest\n"
DIGEST = hashlib.sha256(MANIFEST).digest()


@pytest.fixture(scope="module")
def authority() -> Authority:
    return Authority.create()


def _tsa(authority: Authority, **extra: object) -> HttpTsa:
    return HttpTsa(TsaConfig(URL, load_roots(authority.root_pem), **extra))  # type: ignore[arg-type]


@respx.mock
def test_a_timestamp_query_is_posted_and_a_verified_reply_is_stamped(authority: Authority) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["content-type"] == "application/timestamp-query"
        return httpx.Response(
            200, content=authority.reply(request.content),
            headers={"Content-Type": "application/timestamp-reply"},
        )  # fmt: skip

    respx.post(URL).mock(side_effect=answer)

    outcome = _tsa(authority).stamp(DIGEST)

    assert isinstance(outcome, Stamped) and outcome.facts.serial_number


@respx.mock
def test_credentials_go_as_basic_auth_and_the_password_is_never_logged(
    authority: Authority,
) -> None:
    route = respx.post(URL).mock(return_value=httpx.Response(401, text="bad credentials"))
    tsa = _tsa(authority, username="body-1", password=SecretStr("s3cret-pw"))

    with capture_logs() as logs:
        outcome = tsa.stamp(DIGEST)

    sent = route.calls.last.request.headers["authorization"]
    assert sent == "Basic " + base64.b64encode(b"body-1:s3cret-pw").decode()
    assert isinstance(outcome, Failed) and outcome.code == "tsa_http_401"
    assert "s3cret-pw" not in repr(logs) and "s3cret-pw" not in tsa.describe()


@pytest.mark.parametrize(
    ("answer", "code", "retry_after"),
    [
        (httpx.Response(503, headers={"Retry-After": "120"}), "tsa_http_503", 120.0),
        (httpx.Response(429), "tsa_http_429", None),
        (httpx.ConnectError("refused"), "tsa_unreachable", None),
        (httpx.ReadTimeout("slow"), "tsa_unreachable", None),
        (httpx.Response(200, content=b"<html>maintenance</html>"), "timestamp_malformed", None),
    ],
)
@respx.mock
def test_an_outage_is_retried_later(
    authority: Authority, answer: object, code: str, retry_after: float | None
) -> None:
    route = respx.post(URL)
    if isinstance(answer, Exception):
        route.mock(side_effect=answer)
    else:
        route.mock(return_value=answer)

    outcome = _tsa(authority).stamp(DIGEST)

    assert isinstance(outcome, RetryLater)
    assert (outcome.code, outcome.retry_after) == (code, retry_after)


@respx.mock
def test_a_reply_signed_under_an_untrusted_root_fails_for_good(authority: Authority) -> None:
    stranger = Authority.create()
    respx.post(URL).mock(
        side_effect=lambda request: httpx.Response(200, content=stranger.reply(request.content))
    )

    outcome = _tsa(authority).stamp(DIGEST)

    assert isinstance(outcome, Failed) and outcome.code == "timestamp_untrusted"
