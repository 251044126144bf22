"""The page fetcher at its HTTP edge (respx): what it sends, what it keeps of each
answer (the bytes as received), and each way a fetch ends without one."""

from __future__ import annotations

import gzip

import httpx
import respx

from service.capture.fetcher import FetchConfig, HttpFetcher
from tests.support.clock import FakeClock

URL = "https://www.example.gov.cn/fzzfjs/art_1.html"


def _fetcher(max_bytes: int = 1024 * 1024) -> HttpFetcher:
    return HttpFetcher(FetchConfig(frozenset({"www.example.gov.cn"}), max_bytes), clock=FakeClock())


@respx.mock
def test_it_asks_for_the_identity_encoding_and_keeps_the_bytes_as_received() -> None:
    body = gzip.compress("<p>正文</p>".encode())  # a server that compresses anyway
    route = respx.get(URL).mock(
        return_value=httpx.Response(200, content=body, headers={"Content-Encoding": "gzip"})
    )

    got = _fetcher().fetch(URL, {"If-None-Match": '"v1"'})

    sent = route.calls.last.request
    assert sent.headers["accept-encoding"] == "identity" and sent.headers["if-none-match"]
    assert got.status == 200 and got.body == body  # not decoded: what came over the wire
    assert got.header("content-encoding") == "gzip" and got.status_line.startswith("HTTP/1.1 200")


@respx.mock
def test_a_redirect_is_not_followed_by_the_adapter() -> None:
    respx.get(URL).mock(return_value=httpx.Response(302, headers={"Location": "/"}))

    got = _fetcher().fetch(URL)

    assert got.status == 302 and got.header("location") == "/"


@respx.mock
def test_a_body_over_the_bound_is_cut_and_marked() -> None:
    respx.get(URL).mock(return_value=httpx.Response(200, content=b"x" * 5000))

    got = _fetcher(max_bytes=1000).fetch(URL)

    assert got.truncated and got.body == b"x" * 1000


@respx.mock
def test_a_timeout_and_a_refused_connection_are_errors() -> None:
    respx.get(URL).mock(side_effect=httpx.ReadTimeout("slow"))
    assert _fetcher().fetch(URL).error == "timeout"
    respx.get(URL).mock(side_effect=httpx.ConnectError("refused"))
    assert _fetcher().fetch(URL).error == "connect_error"


@respx.mock
def test_another_host_or_scheme_is_refused_before_any_request() -> None:
    for url in ("https://other.example/x.html", "ftp://www.example.gov.cn/x", "file:///etc/passwd"):
        assert _fetcher().fetch(url).error == "host_not_allowed"
    assert not respx.calls
