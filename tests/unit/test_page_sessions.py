"""The pages' session cookie and redirect target, without a server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.requests import Request
from starlette.responses import Response

from service.entrypoints.pages.sessions import COOKIE, SessionCodec, signed_in
from service.entrypoints.pages.signin import _safe_next

NOW = datetime(2024, 1, 12, 1, 0, tzinfo=UTC)


def _request_with(cookie: str) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())]
    return Request({"type": "http", "headers": headers, "scheme": "http", "path": "/"})


def _cookie_of(codec: SessionCodec) -> str:
    response = Response()
    codec.write(response, signed_in("auditor", "ab" * 32, NOW), _request_with(""))
    header = response.headers["set-cookie"]
    assert "httponly" in header.lower() and "samesite=strict" in header.lower()
    return header.split(";")[0].split("=", 1)[1]


def test_a_session_reads_back_with_its_key_and_not_with_another() -> None:
    cookie = _cookie_of(SessionCodec("k" * 40))
    session = SessionCodec("k" * 40).read(_request_with(cookie))
    assert session is not None and (session.name, session.digest) == ("auditor", "ab" * 32)
    assert SessionCodec("other-key" * 5).read(_request_with(cookie)) is None


def test_a_tampered_session_is_no_session() -> None:
    cookie = _cookie_of(SessionCodec("k" * 40))
    forged = cookie.replace(cookie[5], "A" if cookie[5] != "A" else "B", 1)
    assert SessionCodec("k" * 40).read(_request_with(forged)) is None


def test_a_session_is_idle_only_after_its_idle_time() -> None:
    session = signed_in("auditor", "ab" * 32, NOW)
    assert not session.idle(NOW + timedelta(seconds=1800), 1800)
    assert session.idle(NOW + timedelta(seconds=1801), 1800)


@pytest.mark.parametrize(
    ("target", "lands_on"),
    [
        ("/filings/fil_1?page=2", "/filings/fil_1?page=2"),
        ("//evil.example.com/", "/filings"),
        ("/\\evil.example.com", "/filings"),
        ("/\t/evil.example.com", "/filings"),
        ("https://evil.example.com/", "/filings"),
        (None, "/filings"),
    ],
)
def test_after_sign_in_only_a_path_of_the_service_is_followed(
    target: str | None, lands_on: str
) -> None:
    assert _safe_next(target) == lands_on


def test_the_cookie_is_secure_when_the_page_was_asked_for_over_https() -> None:
    def set_cookie(scheme: str) -> str:
        request = Request({"type": "http", "headers": [], "scheme": scheme, "path": "/"})
        response = Response()
        SessionCodec("k" * 40).write(response, signed_in("auditor", "ab" * 32, NOW), request)
        return response.headers["set-cookie"].lower()

    assert "; secure" in set_cookie("https")
    assert "; secure" not in set_cookie("http")
