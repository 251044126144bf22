"""One visit to a published page: the page (redirects followed, host by host, only to
the hosts the fetcher allows), then the attachments it links to on its own host —
bounded in count — and what the visit saw (service.domain.capture.Seen).

    visit = visit_page(fetcher, url, conditional, max_redirects=5, max_attachments=10)
    visit.exchanges      every exchange, for the WARC
    visit.seen           status, main text, attachments' sha256, sent home, 304
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import urljoin, urlsplit

from service.capture.extract import page_text
from service.capture.port import Exchange, PageFetcher
from service.domain.capture import Seen

ATTACHMENT_EXTENSIONS = frozenset(
    {".pdf", ".ofd", ".doc", ".docx", ".xls", ".xlsx", ".wps", ".zip", ".jpg", ".png"}
)
REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass
class Visit:
    seen: Seen
    exchanges: list[Exchange] = field(default_factory=list)
    page: Exchange | None = None  # the last exchange for the page itself


def visit_page(
    fetcher: PageFetcher,
    url: str,
    conditional: Mapping[str, str],
    *,
    max_redirects: int,
    max_attachments: int,
) -> Visit:
    exchanges: list[Exchange] = []
    current = url
    for _ in range(max_redirects + 1):
        exchange = fetcher.fetch(current, conditional if current == url else None)
        exchanges.append(exchange)
        location = exchange.header("location")
        if exchange.status not in REDIRECTS or not location:
            break
        current = urljoin(current, location)
        if _is_home(current):
            return Visit(Seen(exchange.status, sent_home=True), exchanges, exchange)
    return _seen(fetcher, url, exchanges, max_attachments)


def _is_home(url: str) -> bool:
    path = urlsplit(url).path
    return path in {"", "/"} or PurePosixPath(path).name in {"index.html", "index.htm"}


def _seen(fetcher: PageFetcher, url: str, exchanges: list[Exchange], max_attachments: int) -> Visit:
    page = exchanges[-1]
    if page.status is None or page.status in REDIRECTS:
        return Visit(Seen(None if page.status is None else page.status), exchanges, page)
    if page.status == 304:
        return Visit(Seen(304, not_modified=True), exchanges, page)
    text = page_text(page.body, page.header("content-type"))
    attachments: dict[str, str] = {}
    if page.status < 400:
        for link in attachment_links(page.url, text.links)[:max_attachments]:
            got = fetcher.fetch(link)
            exchanges.append(got)
            attachments[link] = _digest(got)
    seen = Seen(page.status, text.main_text, attachments=attachments)
    return Visit(seen, exchanges, page)


def _digest(exchange: Exchange) -> str:
    if exchange.status != 200 or exchange.truncated:
        return f"unavailable:{exchange.status or exchange.error}"
    return hashlib.sha256(exchange.body).hexdigest()


def attachment_links(page_url: str, links: list[str]) -> list[str]:
    """The page's links to files on its own host (another host's link is never fetched,
    whatever it looks like), each once, in order."""
    host = urlsplit(page_url).netloc
    found: list[str] = []
    for link in links:
        absolute = urljoin(page_url, link)
        parts = urlsplit(absolute)
        if parts.scheme not in {"http", "https"} or parts.netloc != host:
            continue
        is_file = PurePosixPath(parts.path).suffix.lower() in ATTACHMENT_EXTENSIONS
        if (is_file or "/attachments/" in parts.path) and absolute not in found:
            found.append(absolute.split("#")[0])
    return found
