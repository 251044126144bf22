"""The WeChat platform simulator as a real HTTP server on 127.0.0.1, driven through httpx as
an adapter would: tokens, images, drafts and their limits, publishing (twice, for one draft),
the publish job's outcome by the simulator's clock, the listing, deleting, mass sends, and
the daily quotas resetting at Beijing midnight."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.simulators.wechat import RunningWechat, SimulatorConfig, start_in_thread

APPID, SECRET = "wx1111111111111111", "secret-of-the-bureau"
OTHER_APPID, OTHER_SECRET = "wx2222222222222222", "secret-of-the-district"
SERVICE_APPID, SERVICE_SECRET = "wx3333333333333333", "secret-of-the-service-account"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
JPG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
CONFIG = SimulatorConfig(
    accounts={APPID: SECRET, OTHER_APPID: OTHER_SECRET, SERVICE_APPID: SERVICE_SECRET},
    account_types={SERVICE_APPID: "service"},
)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningWechat]:
    # One server for the module (stopping one takes uvicorn ~0.2 s); each test resets it.
    with start_in_thread("127.0.0.1", 0, CONFIG) as running:
        yield running


@pytest.fixture
def admin(sim: RunningWechat) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.admin + "/", timeout=5) as http:
        http.post("reset").raise_for_status()
        yield http


@pytest.fixture
def wx(sim: RunningWechat, admin: httpx.Client) -> Iterator[WeChat]:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        yield WeChat(http)


class WeChat:
    """A client written from contracts/wechat.md: relative paths under the base URL."""

    def __init__(self, http: httpx.Client, appid: str = APPID, secret: str = SECRET) -> None:
        self.http, self.appid, self.secret = http, appid, secret
        self.token = self.stable_token(appid, secret)["access_token"]

    def renew(self) -> None:
        """A new token: moving the clock on a day expires the one held."""
        self.token = self.stable_token(self.appid, self.secret)["access_token"]

    def stable_token(self, appid: str, secret: str, force: bool = False) -> dict[str, Any]:
        body = {"grant_type": "client_credential", "appid": appid, "secret": secret,
                "force_refresh": force}  # fmt: skip
        return self.ok(self.http.post("stable_token", json=body))

    def call(self, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
        return self.http.post(path, json=body, params={"access_token": self.token, **params})

    def json(self, path: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        response = self.call(path, body, **params)
        assert response.status_code == 200, response.text  # errors too: errcode in the body
        answer: dict[str, Any] = response.json()
        return answer

    @staticmethod
    def ok(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        assert answer.get("errcode", 0) == 0, answer
        return answer

    def upload(self, path: str, data: bytes, name: str = "a.png", **params: str) -> dict[str, Any]:
        response = self.http.post(
            path, params={"access_token": self.token, **params}, files={"media": (name, data)}
        )
        assert response.status_code == 200, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def cover(self) -> str:
        return str(self.upload("material/add_material", PNG, type="image")["media_id"])

    def draft(self, **fields: Any) -> str:
        article = {
            "article_type": "news", "title": "滨河新区开展宪法宣传周活动", "author": "司法局",
            "digest": "宪法宣传周 编号 fil_0001-v1", "content": "<p>正文</p>",
            "content_source_url": "https://portal.example/fzzfjs/art_1.html",
            "need_open_comment": 0, "only_fans_can_comment": 0, **fields,
        }  # fmt: skip
        article.setdefault("thumb_media_id", self.cover())
        return str(self.ok(self.call("draft/add", {"articles": [article]}))["media_id"])

    def submit(self, media_id: str) -> dict[str, Any]:
        return self.ok(self.call("freepublish/submit", {"media_id": media_id}))

    def get(self, publish_id: str) -> dict[str, Any]:
        return self.ok(self.call("freepublish/get", {"publish_id": publish_id}))

    def batchget(self, offset: int = 0, count: int = 20, no_content: int = 0) -> dict[str, Any]:
        body = {"offset": offset, "count": count, "no_content": no_content}
        return self.ok(self.call("freepublish/batchget", body))

    def sendall(self, media_id: str, clientmsgid: str | None) -> dict[str, Any]:
        body = {"filter": {"is_to_all": True}, "mpnews": {"media_id": media_id},
                "msgtype": "mpnews", "send_ignore_reprint": 0, "clientmsgid": clientmsgid}  # fmt: skip
        return self.json("message/mass/sendall", body)


def errcode(answer: dict[str, Any]) -> int:
    return int(answer.get("errcode", 0))


def publications(admin: httpx.Client) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = admin.get("publications").json()["publications"]
    return listed


# -- tokens -------------------------------------------------------------------------------


def test_the_url_is_the_api_base_and_a_token_is_issued_for_two_hours(
    sim: RunningWechat, wx: WeChat
) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/cgi-bin/", sim.url)
    assert sim.url == f"{sim.origin}/cgi-bin/"
    first = wx.stable_token(OTHER_APPID, OTHER_SECRET)
    assert first["expires_in"] == 7200
    again = wx.stable_token(APPID, SECRET)  # the same token while fresh, with its time left
    assert again["access_token"] == wx.token and 7100 <= again["expires_in"] <= 7200


@pytest.mark.parametrize(
    ("appid", "secret", "expected"),
    [(APPID, "wrong", 40125), ("wx9999999999999999", SECRET, 40013), ("", SECRET, 41002)],
)
def test_a_wrong_secret_or_appid_is_refused_with_http_200(
    wx: WeChat, appid: str, secret: str, expected: int
) -> None:
    body = {"grant_type": "client_credential", "appid": appid, "secret": secret}
    response = wx.http.post("stable_token", json=body)
    assert response.status_code == 200
    assert response.json()["errcode"] == expected
    assert "rid:" in response.json()["errmsg"]


def test_unknown_missing_and_expired_tokens(wx: WeChat, admin: httpx.Client) -> None:
    listing = {"offset": 0, "count": 1, "no_content": 1}
    assert errcode(wx.http.post("freepublish/batchget", json=listing).json()) == 41001
    answer = wx.http.post("freepublish/batchget", params={"access_token": "x"}, json=listing)
    assert errcode(answer.json()) == 40001
    admin.post("clock", json={"advance_s": 7200}).raise_for_status()
    assert errcode(wx.json("freepublish/batchget", listing)) == 42001
    wx.token = wx.stable_token(APPID, SECRET)["access_token"]
    assert errcode(wx.json("freepublish/batchget", listing)) == 0


def test_force_refresh_supersedes_the_old_token_and_is_limited_to_20_a_day(
    wx: WeChat, admin: httpx.Client
) -> None:
    old = wx.token
    new = [wx.stable_token(APPID, SECRET, force=True)["access_token"] for _ in range(20)]
    assert len({old, *new}) == 21
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET,
            "force_refresh": True}  # fmt: skip
    assert errcode(wx.http.post("stable_token", json=body).json()) == 45009
    wx.token = old
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 40001
    wx.token = new[-1]
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 0


# -- images and drafts --------------------------------------------------------------------


def test_uploadimg_takes_jpg_and_png_under_1_mb_and_serves_them(wx: WeChat) -> None:
    for data in (PNG, JPG):
        url = wx.upload("media/uploadimg", data)["url"]
        served = httpx.get(url)
        assert served.status_code == 200 and served.content == data
    assert errcode(wx.upload("media/uploadimg", b"GIF89a" + b"\x00" * 10, "a.png")) == 40005
    assert errcode(wx.upload("media/uploadimg", b"%PDF-1.7", "a.jpg")) == 40005
    big = PNG + b"\x00" * (1024 * 1024)
    assert errcode(wx.upload("media/uploadimg", big)) == 40009


def test_add_material_gives_a_media_id_and_url(wx: WeChat) -> None:
    answer = wx.upload("material/add_material", JPG, "cover.jpg", type="image")
    assert set(answer) == {"media_id", "url"}
    assert httpx.get(answer["url"]).content == JPG
    assert errcode(wx.upload("material/add_material", JPG, type="voice")) == 40004
    assert errcode(wx.upload("material/add_material", b"not an image", type="image")) == 40005


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("title", "题" * 33, 45003),
        ("author", "作" * 17, 45110),
        ("digest", "摘" * 129, 45004),
        ("content", "字" * 20_000, 45002),
        ("content", "", 44004),
        ("title", "", 44003),
        ("thumb_media_id", "no-such-material", 40007),
    ],
)
def test_draft_limits(wx: WeChat, field: str, value: str, expected: int) -> None:
    article = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": wx.cover(),
               field: value}  # fmt: skip
    assert errcode(wx.json("draft/add", {"articles": [article]})) == expected


def test_draft_limits_are_inclusive_at_the_edge(wx: WeChat, admin: httpx.Client) -> None:
    wx.draft(title="题" * 32, author="作" * 16, digest="摘" * 128, content="字" * 19_999)
    assert admin.get("drafts").json()["drafts"][0]["articles"][0]["title"] == "题" * 32


def test_another_accounts_material_is_no_cover(sim: RunningWechat, wx: WeChat) -> None:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        other = WeChat(http, OTHER_APPID, OTHER_SECRET)
        article = {"title": "标题", "content": "<p>正文</p>", "thumb_media_id": wx.cover()}
        assert errcode(other.json("draft/add", {"articles": [article]})) == 40007


def test_scripts_and_foreign_images_are_stripped(wx: WeChat, admin: httpx.Client) -> None:
    ours = wx.upload("media/uploadimg", PNG)["url"]
    content = (
        f'<p>一</p><script>alert("x")</script><img src="{ours}">'
        '<img src="https://portal.example/logo.png"><p>二</p>'
    )
    publish_id = wx.submit(wx.draft(content=content))["publish_id"]
    url = wx.get(publish_id)["article_detail"]["item"][0]["article_url"]
    page = httpx.get(url).text
    assert "alert" not in page and "portal.example/logo.png" not in page
    assert ours in page and "<p>一</p>" in page and "<p>二</p>" in page
    assert publications(admin)[0]["content"] == f'<p>一</p><img src="{ours}"><p>二</p>'


# -- publishing ---------------------------------------------------------------------------


def test_a_published_article_is_found_by_get_batchget_and_its_page(
    wx: WeChat, admin: httpx.Client
) -> None:
    media_id = wx.draft()
    submitted = wx.submit(media_id)
    assert submitted["errcode"] == 0 and submitted["publish_id"] and submitted["msg_data_id"]
    outcome = wx.get(submitted["publish_id"])
    assert outcome["publish_status"] == 0
    detail = outcome["article_detail"]
    assert detail["count"] == 1 and detail["item"][0]["idx"] == 1
    listed = wx.batchget()
    assert listed["total_count"] == 1 and listed["item_count"] == 1
    item = listed["item"][0]
    assert item["article_id"] == outcome["article_id"]
    news = item["content"]["news_item"][0]
    assert news["title"] == "滨河新区开展宪法宣传周活动"
    assert news["digest"] == "宪法宣传周 编号 fil_0001-v1"
    assert news["url"] == detail["item"][0]["article_url"] and news["content"] == "<p>正文</p>"
    page = httpx.get(news["url"])
    assert page.status_code == 200 and "滨河新区开展宪法宣传周活动" in page.text
    assert '<a href="https://portal.example/fzzfjs/art_1.html">阅读原文</a>' in page.text
    record = publications(admin)[0]
    assert record["draft_media_id"] == media_id and record["status"] == 0
    assert record["article_url"] == news["url"] and record["deleted"] is False


def test_a_second_submit_of_one_draft_publishes_a_second_article(
    wx: WeChat, admin: httpx.Client
) -> None:
    media_id = wx.draft()
    first, second = wx.submit(media_id), wx.submit(media_id)
    assert first["publish_id"] != second["publish_id"]
    records = publications(admin)
    assert [r["draft_media_id"] for r in records] == [media_id, media_id]
    assert len({r["article_id"] for r in records}) == 2
    assert wx.batchget()["total_count"] == 2


def test_batchget_lists_newest_first_pages_and_leaves_out_content(
    wx: WeChat, admin: httpx.Client
) -> None:
    for n in range(3):
        wx.submit(wx.draft(title=f"第{n}篇"))
        admin.post("clock", json={"advance_s": 60}).raise_for_status()
    listed = wx.batchget(count=2, no_content=1)
    assert listed["total_count"] == 3 and listed["item_count"] == 2
    titles = [i["content"]["news_item"][0]["title"] for i in listed["item"]]
    assert titles == ["第2篇", "第1篇"]
    assert "content" not in listed["item"][0]["content"]["news_item"][0]
    assert listed["item"][0]["update_time"] > listed["item"][1]["update_time"]
    rest = wx.batchget(offset=2, count=2)
    assert [i["content"]["news_item"][0]["title"] for i in rest["item"]] == ["第0篇"]
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 21})) == 47001


def test_accounts_see_only_their_own_publications(sim: RunningWechat, wx: WeChat) -> None:
    publish_id = wx.submit(wx.draft())["publish_id"]
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        other = WeChat(http, OTHER_APPID, OTHER_SECRET)
        assert other.batchget()["total_count"] == 0
        answer = other.json("freepublish/get", {"publish_id": publish_id})
        assert errcode(answer) == 53601


@pytest.mark.parametrize("outcome", [0, 2, 3, 4])
def test_the_publish_job_answers_1_until_its_delay_then_its_outcome(
    wx: WeChat, admin: httpx.Client, outcome: int
) -> None:
    admin.post("clock", json={"frozen": True}).raise_for_status()
    admin.post("publish_outcome", json={"status": outcome, "delay_s": 600}).raise_for_status()
    publish_id = wx.submit(wx.draft())["publish_id"]
    pending = wx.get(publish_id)
    assert pending["publish_status"] == 1 and "article_id" not in pending
    assert wx.batchget()["total_count"] == 0
    admin.post("clock", json={"advance_s": 599}).raise_for_status()
    assert wx.get(publish_id)["publish_status"] == 1
    admin.post("clock", json={"advance_s": 1}).raise_for_status()
    done = wx.get(publish_id)
    assert done["publish_status"] == outcome
    if outcome == 0:
        assert done["article_id"] and wx.batchget()["total_count"] == 1
    else:
        assert done["fail_idx"] == [1] and "article_id" not in done
        assert wx.batchget()["total_count"] == 0
        assert publications(admin)[0]["article_url"] is None


def test_unknown_draft_is_40007(wx: WeChat) -> None:
    assert errcode(wx.json("freepublish/submit", {"media_id": "no-such-draft"})) == 40007


# -- deleting -----------------------------------------------------------------------------


def test_delete_takes_the_article_down_and_is_idempotent(wx: WeChat, admin: httpx.Client) -> None:
    publish_id = wx.submit(wx.draft())["publish_id"]
    outcome = wx.get(publish_id)
    url = outcome["article_detail"]["item"][0]["article_url"]
    body = {"article_id": outcome["article_id"], "index": 0}
    assert wx.ok(wx.call("freepublish/delete", body)) == {"errcode": 0, "errmsg": "ok"}
    assert wx.ok(wx.call("freepublish/delete", body))["errcode"] == 0  # again: still 0
    page = httpx.get(url)
    assert page.status_code == 404 and "该内容已被发布者删除" in page.text
    assert wx.get(publish_id)["publish_status"] == 5
    assert wx.batchget()["total_count"] == 0
    record = publications(admin)[0]
    assert record["deleted"] is True and record["status"] == 5
    assert admin.get("stats").json()["deletions"] == 1
    unknown = {"article_id": "no-such-article", "index": 0}
    assert errcode(wx.json("freepublish/delete", unknown)) == 53600


def test_an_article_banned_by_the_platform(wx: WeChat, admin: httpx.Client) -> None:
    publish_id = wx.submit(wx.draft())["publish_id"]
    outcome = wx.get(publish_id)
    admin.post(f"articles/{outcome['article_id']}/status", json={"status": 6}).raise_for_status()
    assert wx.get(publish_id)["publish_status"] == 6
    page = httpx.get(outcome["article_detail"]["item"][0]["article_url"])
    assert "此内容因违规无法查看" in page.text and "正文" not in page.text


# -- mass messages ------------------------------------------------------------------------


def test_a_repeated_clientmsgid_is_refused_for_24_hours(wx: WeChat, admin: httpx.Client) -> None:
    media_id = wx.draft()
    sent = wx.sendall(media_id, "fil_0001-v1")
    assert sent["errcode"] == 0 and sent["msg_id"] and sent["msg_data_id"]
    again = wx.sendall(media_id, "fil_0001-v1")
    assert again["errcode"] == 45065 and again["msg_id"] == sent["msg_id"]
    assert len(admin.get("mass").json()["mass"]) == 1
    admin.post("clock", json={"advance_s": 86400}).raise_for_status()
    wx.renew()
    assert wx.sendall(media_id, "fil_0001-v1")["errcode"] == 0
    mass = admin.get("mass").json()["mass"]
    assert [m["clientmsgid"] for m in mass] == ["fil_0001-v1", "fil_0001-v1"]
    assert mass[0]["media_id"] == media_id and mass[0]["is_to_all"] is True


def test_a_subscription_account_mass_sends_once_a_day(wx: WeChat, admin: httpx.Client) -> None:
    admin.post("clock", json={"set": "2026-12-08T10:00:00+08:00"}).raise_for_status()
    wx.renew()
    media_id = wx.draft()
    assert wx.sendall(media_id, "a")["errcode"] == 0
    assert wx.sendall(media_id, "b")["errcode"] == 45028
    admin.post("clock", json={"set": "2026-12-09T00:00:01+08:00"}).raise_for_status()
    wx.renew()
    assert wx.sendall(media_id, "b")["errcode"] == 0


def test_a_service_account_mass_sends_four_times_a_month(
    sim: RunningWechat, admin: httpx.Client
) -> None:
    admin.post("clock", json={"set": "2026-12-01T10:00:00+08:00"}).raise_for_status()
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        service = WeChat(http, SERVICE_APPID, SERVICE_SECRET)
        media_id = service.draft()
        answers = [service.sendall(media_id, f"m{n}")["errcode"] for n in range(5)]
        assert answers == [0, 0, 0, 0, 45028]


# -- daily quotas ---------------------------------------------------------------------------


def test_45009_after_n_calls_until_beijing_midnight(wx: WeChat, admin: httpx.Client) -> None:
    publish_id = wx.submit(wx.draft())["publish_id"]
    admin.post("clock", json={"set": "2026-12-08T23:59:00+08:00"}).raise_for_status()
    wx.renew()
    admin.post("quota", json={"endpoint": "freepublish/get", "after": 2}).raise_for_status()
    answers = [errcode(wx.json("freepublish/get", {"publish_id": publish_id})) for _ in range(3)]
    assert answers == [0, 0, 45009]
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 0  # its own
    admin.post("clock", json={"set": "2026-12-08T23:59:59+08:00"}).raise_for_status()
    assert errcode(wx.json("freepublish/get", {"publish_id": publish_id})) == 45009
    admin.post("clock", json={"advance_s": 1}).raise_for_status()  # 00:00 in Beijing
    assert errcode(wx.json("freepublish/get", {"publish_id": publish_id})) == 0
    stats = admin.get("stats").json()
    assert stats["errcodes_by_endpoint"]["freepublish/get"] == {"0": 3, "45009": 2}


def test_freepublish_get_is_limited_to_100_a_day_by_default(wx: WeChat) -> None:
    publish_id = wx.submit(wx.draft())["publish_id"]
    body = {"publish_id": publish_id}
    answers = [errcode(wx.json("freepublish/get", body)) for _ in range(101)]
    assert answers[:100] == [0] * 100 and answers[100] == 45009


def test_quotas_are_per_account(sim: RunningWechat, wx: WeChat, admin: httpx.Client) -> None:
    admin.post("quota", json={"endpoint": "freepublish/batchget", "after": 0}).raise_for_status()
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 45009
    admin.post("quota", json={"endpoint": "freepublish/batchget", "after": None}).raise_for_status()
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 0
    admin.post(
        "quota", json={"endpoint": "freepublish/batchget", "after": 0, "appid": OTHER_APPID}
    ).raise_for_status()
    assert errcode(wx.json("freepublish/batchget", {"offset": 0, "count": 1})) == 0
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        other = WeChat(http, OTHER_APPID, OTHER_SECRET)
        assert errcode(other.json("freepublish/batchget", {"offset": 0, "count": 1})) == 45009


def test_the_clock_is_set_advanced_and_frozen(admin: httpx.Client) -> None:
    answer = admin.post("clock", json={"set": "2026-12-08T23:00:00+08:00", "frozen": True})
    assert answer.json()["now"] == "2026-12-08T23:00:00+08:00" and answer.json()["frozen"]
    later = admin.post("clock", json={"advance_s": 3600}).json()
    assert later["now"] == "2026-12-09T00:00:00+08:00"
    assert later["shanghai_date"] == "2026-12-09"
    assert admin.post("clock", json={"set": "yesterday"}).status_code == 400
