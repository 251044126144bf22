"""One visit to a published page, on a scripted fetcher: redirects followed (one home is
rot), the page's attachments fetched on its own host only and at most so many, a 304
read as "not modified"."""

from __future__ import annotations

from service.domain.capture import is_rot
from service.usecases.page_visits import attachment_links, visit_page
from tests.fakes.pages import ScriptedPages

PAGE = "http://127.0.0.1:8001/fzzfjs/art_1.html"
HTML = {"content-type": "text/html; charset=utf-8"}


def _page(*links: str) -> bytes:
    anchors = "".join(f'<a href="{link}">附件</a>' for link in links)
    return f'<html><body><div id="zoom"><p>正文</p>{anchors}</div></body></html>'.encode()


def test_a_link_to_another_host_is_never_fetched() -> None:
    body = _page("/files/a.pdf", "http://other.example/b.pdf", "https://www.gov.cn/c.doc")
    pages = ScriptedPages({PAGE: (200, HTML, body),
                           "http://127.0.0.1:8001/files/a.pdf": (200, {}, b"%PDF")})  # fmt: skip

    visit = visit_page(pages, PAGE, {}, max_redirects=3, max_attachments=10)

    assert pages.asked == [PAGE, "http://127.0.0.1:8001/files/a.pdf"]
    assert list(visit.seen.attachments) == ["http://127.0.0.1:8001/files/a.pdf"]


def test_attachments_are_fetched_at_most_so_many() -> None:
    body = _page(*(f"/files/{n}.pdf" for n in range(20)))
    pages = ScriptedPages({PAGE: (200, HTML, body)})

    visit_page(pages, PAGE, {}, max_redirects=3, max_attachments=3)

    assert len(pages.asked) == 1 + 3


def test_a_redirect_home_is_seen_as_sent_home_and_others_are_followed() -> None:
    moved = "http://127.0.0.1:8001/new/art_1.html"
    pages = ScriptedPages({PAGE: (301, {"location": "/new/art_1.html"}, b""),
                           moved: (200, HTML, _page())})  # fmt: skip
    home = ScriptedPages({PAGE: (302, {"location": "/"}, b"")})

    followed = visit_page(pages, PAGE, {}, max_redirects=3, max_attachments=0)
    sent_home = visit_page(home, PAGE, {}, max_redirects=3, max_attachments=0)

    assert followed.seen.http_status == 200 and "正文" in followed.seen.main_text
    assert sent_home.seen.sent_home and home.asked == [PAGE]


def test_redirects_stop_at_the_bound() -> None:
    loop = ScriptedPages({PAGE: (302, {"location": PAGE + "?again"}, b""),
                          PAGE + "?again": (302, {"location": PAGE}, b"")})  # fmt: skip

    visit = visit_page(loop, PAGE, {}, max_redirects=3, max_attachments=0)

    assert len(loop.asked) == 4 and visit.seen.http_status == 302
    assert is_rot(visit.seen)  # a page that never arrives is gone


def test_a_304_is_not_modified() -> None:
    visit = visit_page(ScriptedPages({PAGE: (304, {}, b"")}), PAGE, {"If-None-Match": '"x"'},
                       max_redirects=3, max_attachments=0)  # fmt: skip

    assert visit.seen.not_modified


def test_attachment_links_are_same_host_files_each_once() -> None:
    links = ["/a.pdf", "/a.pdf", "javascript:void(0)", "/list.html", "//evil.example/x.pdf"]

    assert attachment_links(PAGE, links) == ["http://127.0.0.1:8001/a.pdf"]
