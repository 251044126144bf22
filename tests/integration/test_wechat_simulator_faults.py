"""The WeChat simulator's faults over real HTTP: errcode answers (-1, 42001, 40164) with
HTTP 200, gateway 5xx before the work, answers lost after the work (the draft made, the
article published), faults of one endpoint only, and rates honoured under a seed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service.simulators.wechat import RunningWechat, SimulatorConfig, start_in_thread

APPID, SECRET = "wx1111111111111111", "secret-of-the-bureau"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200
LISTING = {"offset": 0, "count": 20, "no_content": 1}


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningWechat]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig(accounts={APPID: SECRET})) as running:
        yield running


@pytest.fixture
def admin(sim: RunningWechat) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.admin + "/", timeout=5) as http:
        http.post("reset").raise_for_status()
        yield http


@pytest.fixture
def api(sim: RunningWechat, admin: httpx.Client) -> Iterator[Api]:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        yield Api(http)


class Api:
    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.token = self.new_token()

    def new_token(self) -> str:
        body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
        return str(self.http.post("stable_token", json=body).json()["access_token"])

    def post(self, path: str, body: dict[str, Any], **params: str) -> httpx.Response:
        return self.http.post(path, json=body, params={"access_token": self.token, **params})

    def cover(self) -> str:
        answer = self.http.post(
            "material/add_material",
            params={"access_token": self.token, "type": "image"},
            files={"media": ("cover.png", PNG)},
        ).json()
        return str(answer["media_id"])

    def draft(self, title: str = "普法宣传") -> str:
        article = {"title": title, "digest": "编号 fil_0002-v1", "content": "<p>正文</p>",
                   "thumb_media_id": self.cover()}  # fmt: skip
        return str(self.post("draft/add", {"articles": [article]}).json()["media_id"])


def set_faults(admin: httpx.Client, **faults: Any) -> None:
    admin.post("faults", json=faults).raise_for_status()


def publications(admin: httpx.Client) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = admin.get("publications").json()["publications"]
    return listed


@pytest.mark.parametrize(("kind", "expected"), [("system_busy", -1), ("ip_not_whitelisted", 40164)])
def test_errcode_faults_answer_http_200_and_do_nothing(
    api: Api, admin: httpx.Client, kind: str, expected: int
) -> None:
    media_id = api.draft()
    set_faults(admin, failure_rate=1.0, kinds=[kind])
    response = api.post("freepublish/submit", {"media_id": media_id})
    assert response.status_code == 200
    assert response.json()["errcode"] == expected
    assert publications(admin) == []
    assert admin.get("stats").json()["errcodes_by_endpoint"]["freepublish/submit"] == {
        str(expected): 1
    }


def test_the_token_expired_fault_expires_the_token(api: Api, admin: httpx.Client) -> None:
    set_faults(admin, failure_rate=1.0, kinds=["token_expired"])
    assert api.post("freepublish/batchget", LISTING).json()["errcode"] == 42001
    set_faults(admin, failure_rate=0.0)
    assert api.post("freepublish/batchget", LISTING).json()["errcode"] == 42001  # stays expired
    api.token = api.new_token()  # not force_refresh: a fresh token all the same
    assert api.post("freepublish/batchget", LISTING).json()["total_count"] == 0


def test_stable_token_never_draws_token_expired(api: Api, admin: httpx.Client) -> None:
    set_faults(admin, failure_rate=1.0, kinds=["token_expired"])
    assert api.new_token()


@pytest.mark.parametrize("kind", ["http_500", "http_502", "http_503", "http_504"])
def test_gateway_errors_come_before_the_work(api: Api, admin: httpx.Client, kind: str) -> None:
    media_id = api.draft()
    set_faults(admin, failure_rate=1.0, kinds=[kind])
    response = api.post("freepublish/submit", {"media_id": media_id})
    assert response.status_code == int(kind[-3:])
    assert response.headers["content-type"].startswith("text/html")  # nginx's page, no JSON
    assert publications(admin) == []


def test_after_commit_503_on_draft_add_loses_the_answer_not_the_draft(
    api: Api, admin: httpx.Client
) -> None:
    article = {"title": "又一篇", "content": "<p>正文</p>", "thumb_media_id": api.cover()}
    set_faults(admin, failure_rate=1.0, kinds=["after_commit_503"], endpoint="draft/add")
    response = api.post("draft/add", {"articles": [article]})
    assert response.status_code == 503 and "media_id" not in response.text
    [draft] = admin.get("drafts").json()["drafts"]
    assert draft["articles"][0]["title"] == "又一篇"
    # The draft is there to publish: draft/add twice would only have left a spare draft.
    submitted = api.post("freepublish/submit", {"media_id": draft["media_id"]}).json()
    assert submitted["errcode"] == 0


@pytest.mark.parametrize("kind", ["drop_connection", "after_commit_503"])
def test_a_submit_whose_answer_was_lost_is_published_and_listed(
    api: Api, admin: httpx.Client, kind: str
) -> None:
    media_id = api.draft()
    set_faults(admin, failure_rate=1.0, kinds=[kind], endpoint="freepublish/submit")
    if kind == "drop_connection":
        with pytest.raises(httpx.TransportError):
            api.post("freepublish/submit", {"media_id": media_id})
    else:
        assert api.post("freepublish/submit", {"media_id": media_id}).status_code == 503
    # The sender finds it by its title and digest instead of submitting again.
    listed = api.post("freepublish/batchget", LISTING).json()
    assert listed["total_count"] == 1
    news = listed["item"][0]["content"]["news_item"][0]
    assert (news["title"], news["digest"]) == ("普法宣传", "编号 fil_0002-v1")
    assert [p["draft_media_id"] for p in publications(admin)] == [media_id]


def test_an_endpoints_own_faults_leave_the_others_alone(api: Api, admin: httpx.Client) -> None:
    set_faults(admin, failure_rate=1.0, kinds=["system_busy"], endpoint="freepublish/get")
    shown = admin.get("faults").json()
    assert shown["failure_rate"] == 0.0
    assert shown["endpoints"]["freepublish/get"]["kinds"] == ["system_busy"]
    assert api.post("freepublish/get", {"publish_id": "1"}).json()["errcode"] == -1
    assert api.post("freepublish/batchget", LISTING).json()["total_count"] == 0
    admin.post("reset").raise_for_status()
    assert admin.get("faults").json()["endpoints"] == {}


def test_admin_pages_and_images_are_never_faulted(
    sim: RunningWechat, api: Api, admin: httpx.Client
) -> None:
    image = api.http.post(
        "media/uploadimg", params={"access_token": api.token}, files={"media": ("a.png", PNG)}
    ).json()["url"]
    set_faults(admin, failure_rate=1.0, kinds=["http_500"])
    assert httpx.get(image).status_code == 200
    assert admin.get("publications").status_code == 200
    same = httpx.get(f"{sim.url}_admin/faults")  # the admin API under the base URL too
    assert same.status_code == 200 and same.json()["kinds"] == ["http_500"]
    assert api.post("freepublish/batchget", LISTING).status_code == 500
    assert admin.get("stats").json()["faults"] == {"http_500": 1}


def test_slow_makes_the_answer_wait(api: Api, admin: httpx.Client) -> None:
    set_faults(admin, failure_rate=1.0, kinds=["slow"], latency_ms=300)
    response = api.post("freepublish/batchget", LISTING)
    assert response.json()["total_count"] == 0
    assert response.elapsed.total_seconds() >= 0.3


def test_the_failure_rate_is_honoured_and_repeatable_with_a_seed(
    api: Api, admin: httpx.Client
) -> None:
    def run() -> list[int]:
        set_faults(admin, failure_rate=0.3, kinds=["system_busy"], seed=7)
        return [
            api.post("freepublish/batchget", LISTING).json().get("errcode", 0) for _ in range(200)
        ]

    first = run()
    assert set(first) == {0, -1}
    assert 40 <= first.count(-1) <= 80  # 60 expected
    assert run() == first


def test_a_misspelt_endpoint_or_field_is_refused(admin: httpx.Client) -> None:
    typo = admin.post("faults", json={"failure_rate": 1.0, "endpoint": "freepublish/sumbit"})
    assert typo.status_code == 400 and "freepublish/submit" in typo.text
    assert admin.post("quota", json={"endpoint": "freepublish/get", "limit": 3}).status_code == 400
    assert admin.post("clock", json={"advance": 60}).status_code == 400
    assert admin.get("faults").json()["endpoints"] == {}
