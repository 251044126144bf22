"""The page fetcher against the portal simulator on 127.0.0.1, and the WARC built from
what it received: `warcio check` passes it, the records carry the bytes as received;
a host not configured is never contacted; an oversized body is cut off."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from warcio.archiveiterator import ArchiveIterator

from service.capture.fetcher import FetchConfig, HttpFetcher, host_of
from service.capture.warc import Revisit, payload_digest, warc_file
from service.simulators.portal import SimulatorConfig, start_in_thread
from tests.integration.test_portal_simulator import article, bearer, publish
from tests.support.clock import FakeClock

WARCIO = str(Path(sys.executable).with_name("warcio"))


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with (
        start_in_thread("127.0.0.1", 0, SimulatorConfig()) as sim,
        httpx.Client(base_url=sim.url, timeout=5) as client,
    ):
        body = article(body_html="<p>一、主要工作</p>" * 50)
        yield str(publish(client, bearer(client), body).json()["url"])


def _fetcher(url: str, **bounds: int) -> HttpFetcher:
    return HttpFetcher(FetchConfig(frozenset({host_of(url)}), **bounds), clock=FakeClock())


def test_a_page_is_fetched_as_received_and_its_warc_passes_warcio_check(
    url: str, tmp_path: Path
) -> None:
    fetcher = _fetcher(url)
    first = fetcher.fetch(url)
    again = fetcher.fetch(url, {"If-None-Match": first.header("etag") or ""})
    revisit = Revisit(url, first.at, payload_digest(first.body))

    data = warc_file("capture.warc.gz", [(first, None), (again, revisit)])

    assert first.status == 200 and again.status == 304
    assert ("Accept-Encoding", "identity") in first.request_headers
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(data)
    checked = subprocess.run([WARCIO, "check", "-v", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    with path.open("rb") as stream:
        records = [(r.rec_type, r.content_stream().read()) for r in ArchiveIterator(stream)]
    assert [t for t, _ in records] == ["warcinfo", "request", "response", "request", "revisit"]
    assert records[2][1] == first.body and "一、主要工作".encode() in first.body


def test_a_host_not_configured_is_never_contacted(url: str) -> None:
    fetcher = _fetcher("http://www.example.gov.cn/")

    refused = fetcher.fetch(url)

    assert refused.error == "host_not_allowed" and refused.status is None


def test_an_oversized_body_is_cut_off_and_marked_truncated(url: str, tmp_path: Path) -> None:
    cut = _fetcher(url, max_bytes=1000).fetch(url)

    assert cut.truncated and len(cut.body) == 1000
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(warc_file("cut.warc.gz", [(cut, None)]))
    with path.open("rb") as stream:
        response = next(r for r in ArchiveIterator(stream) if r.rec_type == "response")
    assert response.rec_headers.get_header("WARC-Truncated") == "length"


def test_a_refused_connection_is_an_error_not_an_exception() -> None:
    fetcher = _fetcher("http://127.0.0.1:9/")

    assert fetcher.fetch("http://127.0.0.1:9/x.html").error == "connect_error"
