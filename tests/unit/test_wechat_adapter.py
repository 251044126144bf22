"""The WeChat adapter at its HTTP edge (respx, a small stateful platform): every row of
contracts/wechat.md's table, the token's single flight, the article's limits, the journal
that lets a retry resume from the furthest step, and the lost submit that never publishes
twice."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from service.delivery.port import (
    ArchivedFile,
    Delivered,
    DeliveryJob,
    Failed,
    RetryLater,
    WithdrawJob,
)
from service.delivery.wechat import (
    TokenCache,
    WeChatAccount,
    WeChatAdapter,
    WeChatConfig,
    next_midnight,
)
from service.delivery.wechat.protocol import (
    ERRCODES,
    FULL_TEXT_NOTE,
    MAX_CONTENT_CHARS,
    Answer,
    docx_images,
)
from service.domain.time import SHANGHAI
from tests.fakes import RecordingJournal, Sleeps

BASE = "https://wx.test/cgi-bin/"
ORG = "11120104MB1234567X"
APPID = "wx-nankai"
SECRET = "secret-never-logged"
PORTAL_URL = "https://portal.test/fzzfjs/art_1.html"
# 22:30 in Shanghai: the next day starts 1 h 30 min later
NOW = datetime(2024, 1, 12, 22, 30, tzinfo=SHANGHAI).astimezone(UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


class Platform:
    """The platform's endpoints as respx side effects, with scripted answers per endpoint
    (`script["draft/add"] = [answer or exception, …]`, used first) and what it holds."""

    def __init__(self) -> None:
        self.script: dict[str, list[Any]] = {}
        self.calls: dict[str, list[dict[str, Any]]] = {}
        self.tokens_issued = 0
        self.publications: list[dict[str, Any]] = []
        self.drafts: dict[str, dict[str, Any]] = {}
        self.publish_status = 0
        self.lose_submit_answer = False
        self.mass: list[dict[str, Any]] = []
        self.deleted: list[str] = []
        self._lock = threading.Lock()

    def handle(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.removeprefix("/cgi-bin/")
        body = _body(request)
        with self._lock:
            self.calls.setdefault(endpoint, []).append(body)
            scripted = self.script.get(endpoint)
            answer = scripted.pop(0) if scripted else None
        if isinstance(answer, Exception):
            raise answer
        if answer is not None:
            return httpx.Response(200, json=answer) if isinstance(answer, dict) else answer
        if endpoint != "stable_token" and request.url.params.get("access_token") is None:
            return httpx.Response(200, json={"errcode": 41001, "errmsg": "access_token missing"})
        handler: Callable[[dict[str, Any]], httpx.Response] = getattr(
            self, endpoint.replace("/", "_")
        )
        return handler(body)

    def stable_token(self, body: dict[str, Any]) -> httpx.Response:
        assert body["force_refresh"] is False
        with self._lock:
            self.tokens_issued += 1
            token = f"token-{self.tokens_issued}"
        return httpx.Response(200, json={"access_token": token, "expires_in": 7200})

    def material_add_material(self, _: dict[str, Any]) -> httpx.Response:
        return httpx.Response(200, json={"media_id": "cover-1", "url": "http://mmbiz/cover"})

    def media_uploadimg(self, _: dict[str, Any]) -> httpx.Response:
        n = len(self.calls["media/uploadimg"])
        return httpx.Response(200, json={"url": f"http://mmbiz.qpic.cn/img{n}"})

    def draft_add(self, body: dict[str, Any]) -> httpx.Response:
        media_id = f"draft-{len(self.drafts) + 1}"
        self.drafts[media_id] = body["articles"][0]
        return httpx.Response(200, json={"media_id": media_id})

    def freepublish_submit(self, body: dict[str, Any]) -> httpx.Response:
        article = self.drafts[body["media_id"]]
        publish_id = f"pub-{len(self.publications) + 1}"
        self.publications.append(
            {"publish_id": publish_id, "article_id": f"art-{publish_id}", **article}
        )
        if self.lose_submit_answer:
            self.lose_submit_answer = False
            raise httpx.ReadTimeout("the answer was lost")
        return httpx.Response(200, json={"errcode": 0, "publish_id": publish_id})

    def freepublish_get(self, body: dict[str, Any]) -> httpx.Response:
        [found] = [p for p in self.publications if p["publish_id"] == body["publish_id"]]
        answer: dict[str, Any] = {
            "publish_id": found["publish_id"],
            "publish_status": self.publish_status,
        }
        if self.publish_status == 0:
            answer["article_id"] = found["article_id"]
            answer["article_detail"] = {
                "count": 1,
                "item": [{"idx": 1, "article_url": _url(found)}],
            }
        return httpx.Response(200, json=answer)

    def freepublish_batchget(self, body: dict[str, Any]) -> httpx.Response:
        listed = self.publications[body["offset"] : body["offset"] + body["count"]]
        items = [
            {"article_id": p["article_id"], "content": {"news_item": [
                {"title": p["title"], "digest": p["digest"], "url": _url(p)}]}}
            for p in listed
        ]  # fmt: skip
        return httpx.Response(
            200,
            json={"total_count": len(self.publications), "item_count": len(items), "item": items},
        )

    def freepublish_delete(self, body: dict[str, Any]) -> httpx.Response:
        self.deleted.append(body["article_id"])
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    def message_mass_sendall(self, body: dict[str, Any]) -> httpx.Response:
        if any(m["clientmsgid"] == body["clientmsgid"] for m in self.mass):
            return httpx.Response(200, json={"errcode": 45065, "errmsg": "clientmsgid exist"})
        self.mass.append(body)
        return httpx.Response(200, json={"errcode": 0, "msg_id": 1000 + len(self.mass)})

    def count(self, endpoint: str) -> int:
        return len(self.calls.get(endpoint, []))


def _url(publication: Mapping[str, Any]) -> str:
    return f"https://mp.weixin.qq.com/s/{publication['article_id']}"


def _body(request: httpx.Request) -> dict[str, Any]:
    if request.headers.get("content-type", "").startswith("application/json"):
        value = json.loads(request.content)
        return value if isinstance(value, dict) else {}
    return {}


@pytest.fixture
def platform() -> Iterator[Platform]:
    fake = Platform()
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.route(method="POST").mock(side_effect=fake.handle)
        yield fake


def make_adapter(
    *,
    mass_send: bool = False,
    now: Callable[[], datetime] = lambda: NOW,
    sleep: Callable[[float], None] | None = None,
    tokens: TokenCache | None = None,
    **config: Any,
) -> WeChatAdapter:
    settings: dict[str, Any] = {"quick_tries": 3, "backoff_initial_s": 0.001,
                                "backoff_max_s": 0.002, **config}  # fmt: skip
    return WeChatAdapter(
        WeChatConfig(BASE, {ORG: WeChatAccount(APPID, SECRET, mass_send)}, **settings),
        client=httpx.Client(),
        now=now,
        sleep=sleep or Sleeps(),
        tokens=tokens or TokenCache(),
    )


def make_job(
    *,
    paragraphs: tuple[str, ...] = ("第一段：<法治>建设 & 宣传。", "第二段。"),
    title: str = "南开区合作交流办党组2023年度法治政府建设情况报告",
    data: bytes = b"text",
    kind: str = "txt",
    state: Mapping[str, Any] | None = None,
) -> DeliveryJob:
    file = ArchivedFile(
        filename=f"report.{kind}", kind=kind, media_type="application/octet-stream",
        sha256=hashlib.sha256(data).hexdigest(), size=len(data), open=lambda: io.BytesIO(data),
    )  # fmt: skip
    return DeliveryJob(
        delivery_id="dlv_1", idempotency_key="fil_01HX-v2-wechat", source_id="fil_01HX/v2",
        filing_id="fil_01HX", version=2, category="rule_of_law_report", org_code=ORG,
        org_name="天津市南开区合作交流办公室", period="2023", title=title, publish_at=None,
        paragraphs=paragraphs, file=file,
        prior_receipts={"portal": {"article_id": "art_1", "url": PORTAL_URL}},
        state=state or {},
    )  # fmt: skip


# -- publishing -------------------------------------------------------------------------------


def test_a_filing_becomes_one_published_article_linking_to_the_portal(platform: Platform) -> None:
    journal = RecordingJournal()
    outcome = make_adapter().deliver(make_job(), journal)

    assert isinstance(outcome, Delivered), outcome
    [publication] = platform.publications
    assert outcome.receipt["article_id"] == publication["article_id"]
    assert outcome.receipt["article_url"] == _url(publication)
    assert outcome.receipt["publish_id"] == "pub-1"
    assert outcome.receipt["media_id"] == "draft-1"
    assert publication["content_source_url"] == PORTAL_URL
    assert publication["thumb_media_id"] == "cover-1"
    assert publication["content"] == ("<p>第一段：&lt;法治&gt;建设 &amp; 宣传。</p><p>第二段。</p>")
    assert len(publication["title"]) <= 32
    assert len(publication["digest"]) <= 128
    assert publication["digest"].endswith("编号 fil_01HX-v2")
    assert publication["digest"].startswith("第一段")


def test_the_article_and_every_id_are_journaled_as_soon_as_they_are_known(
    platform: Platform,
) -> None:
    journal = RecordingJournal()
    make_adapter().deliver(make_job(), journal)

    firsts: dict[str, int] = {}
    for n, saved in enumerate(journal.saves):
        for key in ("cover_media_id", "article_body", "draft_media_id", "submitted_at", "publish_id", "article_id"):  # fmt: skip
            if saved.get(key):
                firsts.setdefault(key, n)
    order = sorted(firsts, key=firsts.__getitem__)
    assert order == ["cover_media_id", "article_body", "draft_media_id", "submitted_at",
                     "publish_id", "article_id"]  # fmt: skip
    # the submit's time was saved before the submit: a lost answer is looked for, not resent
    assert journal.saves[firsts["submitted_at"]].get("publish_id") is None


def test_a_retry_resumes_from_the_furthest_step(platform: Platform) -> None:
    make_adapter().deliver(make_job(), journal := RecordingJournal())
    calls = {k: len(v) for k, v in platform.calls.items()}

    again = make_adapter().deliver(make_job(state=journal.state), RecordingJournal())

    assert isinstance(again, Delivered)
    assert platform.count("draft/add") == calls["draft/add"] == 1
    assert platform.count("freepublish/submit") == 1
    assert platform.count("material/add_material") == 1
    assert len(platform.publications) == 1


def test_a_draft_already_made_is_submitted_not_made_again(platform: Platform) -> None:
    platform.drafts["draft-9"] = {"title": "t", "digest": "d 编号 fil_01HX-v2"}
    state = {
        "article_body": {"title": "t", "digest": "d 编号 fil_01HX-v2"},
        "draft_media_id": "draft-9",
    }

    outcome = make_adapter().deliver(make_job(state=state), RecordingJournal())

    assert isinstance(outcome, Delivered)
    assert platform.count("draft/add") == 0
    assert platform.calls["freepublish/submit"] == [{"media_id": "draft-9"}]


def test_a_lost_submit_answer_is_found_in_the_listing_and_never_resubmitted(
    platform: Platform,
) -> None:
    platform.lose_submit_answer = True
    outcome = make_adapter().deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, Delivered), outcome
    assert platform.count("freepublish/submit") == 1
    assert platform.count("freepublish/batchget") == 2  # before the submit, and after it
    assert len(platform.publications) == 1
    assert outcome.receipt["article_id"] == platform.publications[0]["article_id"]


def test_a_lost_submit_not_listed_yet_waits_and_is_resubmitted_only_after_the_grace(
    platform: Platform,
) -> None:
    platform.script["freepublish/submit"] = [httpx.Response(503)]
    clock = [NOW]
    adapter = make_adapter(now=lambda: clock[0], lost_submit_grace_s=600)
    journal = RecordingJournal()

    first = adapter.deliver(make_job(), journal)

    assert isinstance(first, RetryLater) and first.code == "submit_unconfirmed"
    assert 0 < (first.retry_after or 0) <= 600
    assert platform.count("freepublish/submit") == 1  # looked for, not resent
    clock[0] = NOW + timedelta(seconds=601)
    second = adapter.deliver(make_job(state=journal.state), journal)

    assert isinstance(second, Delivered), second
    assert platform.count("freepublish/submit") == 2
    assert len(platform.publications) == 1


def test_a_submit_answered_busy_is_not_resent_before_the_grace(platform: Platform) -> None:
    """-1 (system busy) may hide a job queued anyway: as for a lost answer, the listing is
    read again and nothing is resent before the grace."""
    platform.script["freepublish/submit"] = [{"errcode": -1, "errmsg": "system busy"}]
    outcome = make_adapter().deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, RetryLater) and outcome.code == "submit_unconfirmed"
    assert platform.count("freepublish/submit") == 1


def test_a_submit_refused_for_the_day_is_sent_tomorrow_at_once_after_a_search(
    platform: Platform,
) -> None:
    platform.script["freepublish/submit"] = [{"errcode": 45009, "errmsg": "reach max api daily quota limit"}]  # fmt: skip
    clock = [NOW]
    adapter = make_adapter(now=lambda: clock[0])
    journal = RecordingJournal()

    first = adapter.deliver(make_job(), journal)
    assert isinstance(first, RetryLater) and first.code == "wechat_45009"
    assert not journal.state.get("submitted_at")  # refused: nothing was accepted
    clock[0] = NOW + timedelta(days=1)
    second = adapter.deliver(make_job(state=journal.state), journal)

    assert isinstance(second, Delivered), second
    assert platform.count("freepublish/submit") == 2 and len(platform.publications) == 1


def test_a_submit_whose_journal_was_lost_finds_the_publication_before_submitting(
    platform: Platform,
) -> None:
    """A catalog rebuilt from the archive gives a delivery in flight an empty journal:
    the listing, read before every submit, finds what the first attempt published."""
    assert isinstance(make_adapter().deliver(make_job(), RecordingJournal()), Delivered)

    again = make_adapter().deliver(make_job(), RecordingJournal())  # no state at all

    assert isinstance(again, Delivered) and len(platform.publications) == 1
    assert platform.count("freepublish/submit") == 1


def test_a_listing_that_is_no_listing_is_never_read_as_not_there(platform: Platform) -> None:
    platform.lose_submit_answer = True
    platform.script["freepublish/batchget"] = [
        {"errcode": 0, "total_count": 0, "item": []},  # before the submit: nothing yet
        *[{"errcode": 0, "item_count": 0}] * 10,  # after it: no item list, no total
    ]
    clock = [NOW]
    adapter = make_adapter(now=lambda: clock[0], lost_submit_grace_s=0)

    outcome = adapter.deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, RetryLater) and outcome.code == "bad_response"
    assert platform.count("freepublish/submit") == 1


def test_an_errcode_that_is_not_a_number_is_never_read_as_success(platform: Platform) -> None:
    platform.script["draft/add"] = [{"errcode": "oops", "errmsg": "?"}] * 10
    outcome = make_adapter().deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, RetryLater) and outcome.code == "bad_response"
    assert not platform.drafts


def test_publishing_polls_with_back_off_and_never_resubmits(platform: Platform) -> None:
    platform.publish_status = 1
    journal = RecordingJournal()
    waits = []
    for _ in range(3):
        outcome = make_adapter().deliver(make_job(state=journal.state), journal)
        assert isinstance(outcome, RetryLater) and outcome.code == "publishing"
        waits.append(outcome.retry_after)
    assert waits == [30.0, 120.0, 600.0]
    platform.publish_status = 0
    assert isinstance(make_adapter().deliver(make_job(state=journal.state), journal), Delivered)
    assert platform.count("freepublish/submit") == 1


@pytest.mark.parametrize("status", [2, 3, 4, 5, 6])
def test_a_failed_publish_job_is_terminal_and_never_resubmitted(
    platform: Platform, status: int
) -> None:
    platform.publish_status = status
    journal = RecordingJournal()
    outcome = make_adapter().deliver(make_job(), journal)

    assert isinstance(outcome, Failed)
    assert outcome.code == f"publish_status_{status}"
    assert "不会自动重新发布" in outcome.message
    assert platform.count("freepublish/submit") == 1
    # Nothing of a job that failed (2–4) was published: a person's 重新投递 (the worker
    # never retries a failure by itself) starts from a new draft instead of polling it.
    assert ("publish_id" in journal.state) is (status in (5, 6))


# -- the errcode table -----------------------------------------------------------------------


def test_every_errcode_of_the_contract_has_an_answer() -> None:
    table = {-1, 40001, 40014, 42001, 45009, 40164, 89503, 48001, 40005, 40009, 40007,
             53503, 53504, 53505}  # fmt: skip
    assert table <= set(ERRCODES)
    assert ERRCODES[-1] is Answer.RETRY
    assert {ERRCODES[c] for c in (40001, 40014, 42001)} == {Answer.TOKEN}
    assert ERRCODES[45009] is Answer.TOMORROW
    assert {ERRCODES[c] for c in (40164, 89503, 48001)} == {Answer.CONFIGURATION}
    assert {ERRCODES[c] for c in (40005, 40009, 40007, 53503, 53504, 53505)} == {Answer.PERMANENT}


def test_system_busy_is_retried(platform: Platform) -> None:
    platform.script["draft/add"] = [{"errcode": -1, "errmsg": "system error"}] * 2
    outcome = make_adapter().deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Delivered)
    assert platform.count("draft/add") == 3


def test_busy_every_try_goes_back_to_the_outbox(platform: Platform) -> None:
    platform.script["draft/add"] = [{"errcode": -1, "errmsg": "system error"}] * 3
    outcome = make_adapter().deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, RetryLater) and outcome.code == "wechat_minus_1"
    assert not outcome.notify


@pytest.mark.parametrize("code", [40164, 89503, 48001])
def test_configuration_errcodes_fail_at_once_with_a_reason_an_operator_reads(
    platform: Platform, code: int
) -> None:
    platform.script["draft/add"] = [{"errcode": code, "errmsg": "refused"}]
    outcome = make_adapter().deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, Failed)
    assert outcome.code == f"wechat_{code}"
    assert str(code) in outcome.message and "请" in outcome.message  # what to do, in Chinese
    assert platform.count("draft/add") == 1
    assert platform.publications == []


@pytest.mark.parametrize("code", [40005, 40009, 40007, 53503, 53504, 53505])
def test_permanent_errcodes_fail(platform: Platform, code: int) -> None:
    platform.script["draft/add"] = [{"errcode": code, "errmsg": "no"}]
    outcome = make_adapter().deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Failed) and outcome.code == f"wechat_{code}"
    assert platform.count("draft/add") == 1


def test_the_daily_quota_reschedules_to_the_next_day_in_shanghai_and_tells_an_operator(
    platform: Platform,
) -> None:
    platform.script["freepublish/submit"] = [{"errcode": 45009, "errmsg": "reach max api daily quota limit"}]  # fmt: skip
    adapter = make_adapter()

    outcome = adapter.deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, RetryLater) and outcome.code == "wechat_45009"
    assert outcome.notify
    assert outcome.retry_after == pytest.approx(90 * 60)  # 22:30 → 00:00 Asia/Shanghai
    assert NOW + timedelta(seconds=outcome.retry_after or 0) == next_midnight(NOW)
    assert "次日" in outcome.message
    assert platform.count("freepublish/submit") == 1  # no quick retry spends more quota


def test_after_the_quota_is_reached_the_endpoint_is_not_called_before_midnight(
    platform: Platform,
) -> None:
    platform.script["draft/add"] = [{"errcode": 45009, "errmsg": "quota"}]
    clock = [NOW]
    adapter = make_adapter(now=lambda: clock[0])
    journal = RecordingJournal()
    adapter.deliver(make_job(), journal)
    before = sum(len(v) for v in platform.calls.values())

    clock[0] = NOW + timedelta(minutes=80)
    outcome = adapter.deliver(make_job(state=journal.state), journal)

    assert isinstance(outcome, RetryLater) and outcome.retry_after == pytest.approx(600)
    assert outcome.notify and sum(len(v) for v in platform.calls.values()) == before
    clock[0] = next_midnight(NOW) + timedelta(seconds=1)
    assert isinstance(adapter.deliver(make_job(state=journal.state), journal), Delivered)


def test_a_quota_used_up_at_one_endpoint_leaves_the_others_callable(platform: Platform) -> None:
    platform.script["message/mass/sendall"] = [{"errcode": 45028, "errmsg": "has no masssend quota"}]  # fmt: skip
    adapter = make_adapter(mass_send=True)
    journal = RecordingJournal()

    outcome = adapter.deliver(make_job(), journal)

    assert isinstance(outcome, RetryLater) and outcome.code == "wechat_45028" and outcome.notify
    assert journal.state["article_id"]  # published; only the mass message waits for tomorrow
    another = dataclasses.replace(
        make_job(title="南开区合作交流办2023年度部门预算"), delivery_id="dlv_2",
        idempotency_key="fil_02HX-v1-wechat", source_id="fil_02HX/v1", filing_id="fil_02HX",
        version=1,
    )  # fmt: skip
    other = adapter.deliver(another, RecordingJournal())  # another filing, the same day
    assert isinstance(other, RetryLater) and other.code == "wechat_45028"
    assert len(platform.publications) == 2  # publishing goes on
    assert platform.count("message/mass/sendall") == 1  # the exhausted endpoint is not called


def test_a_mass_message_held_back_two_days_running_leaves_the_article_delivered(
    platform: Platform,
) -> None:
    """A body filing more than its one mass message a day: the article is not kept from
    its receipt (a delivery waiting days would be given up, its article live on none)."""
    quota = {"errcode": 45028, "errmsg": "has no masssend quota"}
    platform.script["message/mass/sendall"] = [quota, quota]
    clock = [NOW]
    adapter = make_adapter(mass_send=True, now=lambda: clock[0])
    journal = RecordingJournal()

    first = adapter.deliver(make_job(), journal)
    assert isinstance(first, RetryLater) and first.code == "wechat_45028"
    clock[0] = NOW + timedelta(days=1)
    second = adapter.deliver(make_job(state=journal.state), journal)

    assert isinstance(second, Delivered), second
    assert second.receipt["mass_send"]["status"] == "not_sent"
    assert "未群发" in second.receipt["mass_send"]["message"]
    assert len(platform.publications) == 1 and platform.count("message/mass/sendall") == 2


def test_a_quota_reached_a_moment_before_midnight_still_waits_a_second() -> None:
    moment = datetime(2024, 1, 12, 23, 59, 59, 999000, tzinfo=SHANGHAI)
    assert next_midnight(moment) == datetime(2024, 1, 13, tzinfo=SHANGHAI)
    assert next_midnight(datetime(2024, 1, 13, tzinfo=SHANGHAI)) == datetime(
        2024, 1, 14, tzinfo=SHANGHAI
    )


def test_transport_errors_and_5xx_retry_the_same_step(platform: Platform) -> None:
    platform.script["draft/add"] = [httpx.ConnectError("reset"), httpx.Response(502)]
    outcome = make_adapter().deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Delivered)
    assert platform.count("draft/add") == 3
    assert len(platform.drafts) == 1


# -- the token --------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_an_expired_token_is_replaced_once_without_force_refresh(
    platform: Platform, code: int
) -> None:
    platform.script["draft/add"] = [{"errcode": code, "errmsg": "access_token expired"}]
    outcome = make_adapter().deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, Delivered)
    assert platform.tokens_issued == 2
    assert all(c["force_refresh"] is False for c in platform.calls["stable_token"])


def test_a_fresh_token_refused_again_is_transient_not_a_refresh_loop(platform: Platform) -> None:
    platform.script["draft/add"] = [{"errcode": 42001, "errmsg": "expired"}] * 6
    outcome = make_adapter(quick_tries=3).deliver(make_job(), RecordingJournal())

    assert isinstance(outcome, RetryLater) and outcome.code == "wechat_42001"
    assert platform.tokens_issued <= 4  # one at first, one per try: never a loop


def test_threads_share_one_token_refresh_per_account(platform: Platform) -> None:
    tokens = TokenCache()
    gate = threading.Barrier(8)
    original = platform.stable_token

    def slow_token(body: dict[str, Any]) -> httpx.Response:
        time.sleep(0.05)
        return original(body)

    platform.stable_token = slow_token  # type: ignore[method-assign]
    adapters = [make_adapter(tokens=tokens) for _ in range(8)]

    def deliver(adapter: WeChatAdapter) -> None:
        gate.wait()
        adapter.deliver(make_job(), RecordingJournal())

    threads = [threading.Thread(target=deliver, args=(a,)) for a in adapters]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert platform.tokens_issued == 1


def test_the_secret_is_never_logged_nor_in_a_repr(
    platform: Platform, capsys: pytest.CaptureFixture[str]
) -> None:
    adapter = make_adapter()
    adapter.deliver(make_job(), RecordingJournal())
    assert SECRET not in repr(WeChatAccount(APPID, SECRET))
    captured = capsys.readouterr()
    assert SECRET not in captured.out + captured.err


# -- the article ------------------------------------------------------------------------------


def test_a_long_title_is_cut_to_32_characters(platform: Platform) -> None:
    make_adapter().deliver(make_job(title="很" * 40), RecordingJournal())
    assert len(platform.publications[0]["title"]) == 32


def test_a_long_document_gives_its_opening_paragraphs_then_the_full_text_link(
    platform: Platform,
) -> None:
    paragraphs = tuple(f"第{i}段。" + "法治" * 200 for i in range(100))
    make_adapter().deliver(make_job(paragraphs=paragraphs), RecordingJournal())

    content = platform.publications[0]["content"]
    assert len(content) < 20_000
    assert content.endswith(f'<p>（<a href="{PORTAL_URL}">{FULL_TEXT_NOTE}</a>）</p>')
    kept = content.count("<p>第")
    assert 0 < kept < 100
    assert content.startswith("".join(f"<p>{p}</p>" for p in paragraphs[:kept]))


def test_one_paragraph_longer_than_the_limit_gives_its_opening() -> None:
    from service.delivery.wechat.protocol import article_content

    content = article_content(("法" * 30_000,), (), PORTAL_URL)
    assert len(content) <= MAX_CONTENT_CHARS
    assert content.startswith("<p>法法") and FULL_TEXT_NOTE in content


def test_a_document_without_text_fails_with_a_reason(platform: Platform) -> None:
    outcome = make_adapter().deliver(make_job(paragraphs=("", "  ")), RecordingJournal())
    assert isinstance(outcome, Failed) and outcome.code == "no_text"
    assert platform.publications == []


def _docx(media: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("word/document.xml", "<w:document/>")
        for name, data in media.items():
            package.writestr(f"word/media/{name}", data)
    return buffer.getvalue()


def test_images_a_docx_embeds_are_uploaded_and_shown_after_the_text(platform: Platform) -> None:
    data = _docx(
        {"image10.png": PNG, "image2.jpeg": JPEG, "image3.emf": b"EMF", "image4.png": b"x"}
    )
    outcome = make_adapter().deliver(make_job(kind="docx", data=data), RecordingJournal())

    assert isinstance(outcome, Delivered)
    assert platform.count("media/uploadimg") == 2
    content = platform.publications[0]["content"]
    assert content.endswith(
        '<p><img src="http://mmbiz.qpic.cn/img1"/></p><p><img src="http://mmbiz.qpic.cn/img2"/></p>'
    )


def test_an_image_the_platform_refuses_is_left_out_and_the_article_goes(
    platform: Platform,
) -> None:
    platform.script["media/uploadimg"] = [{"errcode": 40009, "errmsg": "invalid image size"}]
    data = _docx({"image1.png": PNG, "image2.jpeg": JPEG})

    outcome = make_adapter().deliver(make_job(kind="docx", data=data), RecordingJournal())

    assert isinstance(outcome, Delivered) and platform.count("media/uploadimg") == 2
    assert platform.publications[0]["content"].count("<img ") == 1


def test_many_members_that_are_no_images_are_not_read_whole() -> None:
    """Each looked at by its first bytes, and only so many: a package of thousands of
    1 MB non-images is not inflated."""
    junk = {f"image{i}.emf": b"EMF" + b"\x00" * (1024 * 1024 - 100) for i in range(1, 60)}
    images = docx_images(io.BytesIO(_docx(junk | {"image99.png": PNG})), 10)
    assert images == []  # the PNG is beyond the 40 members looked at for 10 images


def test_images_are_bounded_in_number_and_size() -> None:
    big = PNG + b"\x00" * (1024 * 1024)
    data = _docx({f"image{i}.png": PNG for i in range(1, 15)} | {"image0.png": big})
    images = docx_images(io.BytesIO(data), 10)
    assert len(images) == 10
    assert [i.name for i in images][:2] == ["image1.png", "image2.png"]
    assert docx_images(io.BytesIO(b"not a zip"), 10) == []


# -- reach and withdrawal ---------------------------------------------------------------------


def test_mass_send_is_off_by_default(platform: Platform) -> None:
    outcome = make_adapter().deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Delivered) and "mass_send" not in outcome.receipt
    assert platform.count("message/mass/sendall") == 0


def test_mass_send_goes_once_per_delivery_and_is_audited(platform: Platform) -> None:
    journal = RecordingJournal()
    outcome = make_adapter(mass_send=True).deliver(make_job(), journal)

    assert isinstance(outcome, Delivered)
    [sent] = platform.mass
    assert sent["clientmsgid"] == "fil_01HX-v2-wechat"
    assert sent["mpnews"] == {"media_id": "draft-1"} and sent["filter"] == {"is_to_all": True}
    assert outcome.audit["mass_send"]["status"] == "sent"
    assert outcome.receipt["mass_send"]["msg_id"] == "1001"


def test_a_repeated_mass_message_counts_as_sent(platform: Platform) -> None:
    platform.mass.append({"clientmsgid": "fil_01HX-v2-wechat"})
    outcome = make_adapter(mass_send=True).deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Delivered)
    assert outcome.receipt["mass_send"]["status"] == "sent"
    assert outcome.receipt["mass_send"]["repeat"] is True


def test_a_refused_mass_message_is_recorded_but_the_article_stays_delivered(
    platform: Platform,
) -> None:
    platform.script["message/mass/sendall"] = [{"errcode": 48001, "errmsg": "api unauthorized"}]
    outcome = make_adapter(mass_send=True).deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Delivered)
    assert outcome.audit["mass_send"]["status"] == "failed"
    assert outcome.audit["mass_send"]["code"] == "wechat_48001"


def _withdraw_job(
    published: tuple[Mapping[str, Any], ...], state: Mapping[str, Any] | None = None
) -> WithdrawJob:
    return WithdrawJob("dlv_w", "fil_01HX-withdraw-wechat", "fil_01HX", ORG, "错误", "operator",
                       published, state or {})  # fmt: skip


def test_a_withdrawn_filing_is_deleted_from_the_account(platform: Platform) -> None:
    journal = RecordingJournal()
    outcome = make_adapter().withdraw(
        _withdraw_job(({"article_id": "art-1"}, {"article_id": "art-2"}, {"article_id": "art-1"})),
        journal,
    )
    assert isinstance(outcome, Delivered)
    assert platform.deleted == ["art-1", "art-2"]
    assert outcome.receipt["status"] == "withdrawn"
    assert platform.calls["freepublish/delete"][0] == {"article_id": "art-1", "index": 0}
    again = make_adapter().withdraw(
        _withdraw_job(({"article_id": "art-1"},), journal.state), journal
    )
    assert isinstance(again, Delivered) and platform.deleted == ["art-1", "art-2"]


def test_an_article_published_by_a_delivery_that_failed_afterwards_is_withdrawn(
    platform: Platform,
) -> None:
    """Published, then the delivery given up at a later step (the correction's delete,
    the mass message): no receipt names the article, its journal does."""
    job = dataclasses.replace(
        _withdraw_job(()),
        failed_journals=({"article_id": "art-9", "publish_id": "p-9"}, {"draft_media_id": "d"}),
    )

    outcome = make_adapter().withdraw(job, RecordingJournal())

    assert isinstance(outcome, Delivered) and outcome.receipt["status"] == "withdrawn"
    assert platform.deleted == ["art-9"]


def test_a_withdrawal_with_nothing_published_makes_no_call(platform: Platform) -> None:
    outcome = make_adapter().withdraw(_withdraw_job(()), RecordingJournal())
    assert isinstance(outcome, Delivered) and outcome.receipt["status"] == "not_published"
    assert platform.calls == {}


def test_a_body_without_an_account_fails_with_a_reason(platform: Platform) -> None:
    adapter = WeChatAdapter(WeChatConfig(BASE, {}), client=httpx.Client(), now=lambda: NOW)
    outcome = adapter.deliver(make_job(), RecordingJournal())
    assert isinstance(outcome, Failed) and outcome.code == "account_not_configured"


def test_a_correction_deletes_the_article_it_replaces_once_its_own_is_published(
    platform: Platform,
) -> None:
    job = make_job()
    correction = DeliveryJob(**{**job.__dict__, "replaces": {"article_id": "art-old", "article_url": "u"}})  # fmt: skip
    journal = RecordingJournal()

    outcome = make_adapter().deliver(correction, journal)

    assert isinstance(outcome, Delivered)
    assert platform.deleted == ["art-old"] and len(platform.publications) == 1
    assert outcome.receipt["replaced_article_id"] == "art-old"
    again = make_adapter().deliver(DeliveryJob(**{**correction.__dict__, "state": journal.state}), journal)  # fmt: skip
    assert isinstance(again, Delivered) and platform.deleted == ["art-old"]


def test_a_replaced_article_gone_already_is_no_failure(platform: Platform) -> None:
    platform.script["freepublish/delete"] = [{"errcode": 53600, "errmsg": "article not exist"}]
    job = make_job()
    correction = DeliveryJob(**{**job.__dict__, "replaces": {"article_id": "art-old"}})
    outcome = make_adapter().deliver(correction, RecordingJournal())
    assert isinstance(outcome, Delivered) and outcome.receipt["replaced_article_error"] is None


def test_withdrawing_an_article_deleted_already_is_done(platform: Platform) -> None:
    platform.script["freepublish/delete"] = [{"errcode": 53600, "errmsg": "article not exist"}]
    published = ({"article_id": "art-1", "replaced_article_id": None}, {"article_id": "art-2"})
    outcome = make_adapter().withdraw(_withdraw_job(published), RecordingJournal())
    assert isinstance(outcome, Delivered)
    assert [a["status"] for a in outcome.receipt["articles"]] == ["already_deleted", "withdrawn"]


def test_the_digest_is_the_documents_opening_after_its_title(platform: Platform) -> None:
    title = "南开区合作交流办党组2023年度法治政府建设情况报告"
    make_adapter().deliver(make_job(paragraphs=(title, "2023年，我办深入学习。", "一、主要工作")), RecordingJournal())  # fmt: skip
    digest = platform.publications[0]["digest"]
    assert digest == "2023年，我办深入学习。 一、主要工作 编号 fil_01HX-v2"


def test_the_built_in_cover_is_a_png_the_platform_takes() -> None:
    from service.delivery.wechat import built_in_cover
    from service.delivery.wechat.protocol import MAX_IMAGE_BYTES, image_type

    cover = built_in_cover()
    assert image_type(cover.data) == "image/png" and len(cover.data) < MAX_IMAGE_BYTES


def test_a_bodys_own_cover_comes_first_then_the_default_then_the_built_in(tmp_path: Any) -> None:
    from service.delivery.wechat import built_in_cover, cover_from_file

    (tmp_path / "own.png").write_bytes(PNG)
    (tmp_path / "default.jpg").write_bytes(JPEG)
    own, default = cover_from_file(tmp_path / "own.png"), cover_from_file(tmp_path / "default.jpg")
    config = WeChatConfig(BASE, covers={ORG: own}, cover=default)
    assert config.cover_for(ORG) == own and config.cover_for("other") == default
    assert WeChatConfig(BASE).cover_for(ORG) == built_in_cover()
    assert default.media_type == "image/jpeg"
    (tmp_path / "big.png").write_bytes(PNG + b"\x00" * (1024 * 1024))
    with pytest.raises(ValueError, match="under 1 MB"):
        cover_from_file(tmp_path / "big.png")
