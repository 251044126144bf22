"""The portal simulator's published pages, as a real HTTP server on 127.0.0.1: a
government page around the article (its text, its attachments, a 浏览次数 counter that
changes on each view), and what a test makes of it: a changed text, a 404, a soft 404,
a redirect home, a withdrawal notice."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.simulators import RunningSimulator
from service.simulators.portal import SimulatorConfig, start_in_thread
from tests.integration.test_portal_simulator import PDF, article, bearer, publish, upload


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        http.post("/_admin/reset").raise_for_status()
        yield http


def _published(client: httpx.Client) -> dict[str, Any]:
    auth = bearer(client)
    attachment = upload(client, auth, PDF, "南开区报告.pdf").json()["attachment_id"]
    body = article(body_html="<p>一、主要工作</p><p>二、存在问题</p>", attachments=[attachment])
    answer = publish(client, auth, body)
    assert answer.status_code == 201
    return dict(answer.json())


def _page(client: httpx.Client, article_id: str, **change: Any) -> None:
    client.post(f"/_admin/articles/{article_id}/page", json=change).raise_for_status()


def test_an_article_is_a_government_page_at_its_url_on_the_simulator(
    client: httpx.Client, sim: RunningSimulator
) -> None:
    published = _published(client)
    assert published["url"].startswith(sim.url.rstrip("/") + "/fzzfjs/")

    page = httpx.get(published["url"])

    assert page.status_code == 200 and page.headers["etag"]
    for part in ("首页", "政府信息公开", "浏览次数", "相关链接", "网站标识码", "一、主要工作"):
        assert part in page.text
    assert "/attachments/" in page.text and "南开区报告.pdf" in page.text


def test_the_attachment_link_serves_the_bytes_uploaded(client: httpx.Client) -> None:
    published = _published(client)
    page = httpx.get(published["url"]).text
    link = page.split('href="/attachments/')[1].split('"')[0]

    served = client.get(f"/attachments/{link}")

    assert hashlib.sha256(served.content).digest() == hashlib.sha256(PDF).digest()


def test_the_view_counter_changes_on_each_view_and_the_etag_does_not(
    client: httpx.Client,
) -> None:
    url = _published(client)["url"]
    first, second = httpx.get(url), httpx.get(url)

    assert first.text != second.text
    assert first.headers["etag"] == second.headers["etag"]
    again = httpx.get(url, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304


def test_a_test_changes_removes_soft_404s_or_sends_a_page_home(client: httpx.Client) -> None:
    published = _published(client)
    url, article_id = published["url"], published["article_id"]
    etag = httpx.get(url).headers["etag"]

    _page(client, article_id, body_html="<p>一、主要工作（已修改）</p>")
    changed = httpx.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "已修改" in changed.text
    _page(client, article_id, page="removed")
    assert httpx.get(url).status_code == 404
    _page(client, article_id, page="soft_404")
    soft = httpx.get(url)
    assert soft.status_code == 200 and "页面不存在" in soft.text
    _page(client, article_id, page="home")
    moved = httpx.get(url)
    assert moved.status_code == 302 and moved.headers["location"] == "/"
    assert client.post(f"/_admin/articles/{article_id}/page", json={"page": "x"}).status_code == 400


def test_a_withdrawn_article_shows_the_notice_in_place_of_its_text(client: httpx.Client) -> None:
    published = _published(client)
    client.post(
        f"/api/v1/articles/{published['article_id']}/withdraw",
        json={"reason": "误发", "requested_by": "compliance-1"},
        headers=bearer(client),
    ).raise_for_status()

    page = httpx.get(published["url"]).text

    assert "该信息已撤回" in page and "误发" in page and "主要工作" not in page
