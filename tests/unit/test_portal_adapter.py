"""The portal adapter at its HTTP edge (respx): every row of contracts/portal.md's error
table, the token's life, and the idempotency that keeps a lost response from publishing twice."""

from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
import respx
import structlog

from service.categories import portal_channels
from service.delivery.port import (
    ArchivedFile,
    Delivered,
    DeliveryJob,
    Failed,
    Outcome,
    RetryLater,
)
from service.delivery.portal import SHANGHAI, PortalAdapter, PortalConfig
from tests.fakes import RecordingJournal, Sleeps

BASE = "https://portal.test"
ARTICLES = "/api/v1/channels/fzzfjs/articles"
SECRET = "client-secret-never-logged"
TOKEN = "access-token-never-logged"
NOW = datetime(2024, 1, 12, 9, 0, tzinfo=SHANGHAI)
PDF = b"%PDF-1.7\n" + b"x" * 1000
PDF_NAME = "南开区合作交流办党组2023年度法治政府建设情况报告.pdf"
CREATED = {
    "article_id": "art_1",
    "url": "https://portal.test/fzzfjs/art_1.html",
    "status": "published",
    "published_at": "2024-01-12T09:00:00+08:00",
}


# -- fakes ------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def make_job(
    *,
    kind: str = "pdf",
    paragraphs: tuple[str, ...] = ("第一段。", "第二段。"),
    state: Mapping[str, Any] | None = None,
    replaces: Mapping[str, Any] | None = None,
    publish_at: datetime | None = NOW,
    category: str = "rule_of_law_report",
    delivery_id: str = "dlv_1",
) -> DeliveryJob:
    data = PDF if kind == "pdf" else "第一段。\n第二段。".encode()
    file = ArchivedFile(
        filename=PDF_NAME if kind == "pdf" else "report.txt",
        kind=kind,
        media_type="application/pdf" if kind == "pdf" else "text/plain",
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        open=lambda: io.BytesIO(data),
    )
    return DeliveryJob(
        delivery_id=delivery_id,
        idempotency_key=f"filing-1-v1-portal-{delivery_id}",
        source_id=f"filing-1/v1/{delivery_id}",
        filing_id="filing-1",
        version=1,
        category=category,
        org_code="11120104MB1234567X",
        org_name="天津市南开区合作交流办公室",
        period="2023",
        title="南开区合作交流办党组2023年度法治政府建设情况报告",
        publish_at=publish_at,
        paragraphs=paragraphs,
        file=file,
        replaces=replaces,
        state=state or {},
    )


def make_adapter(
    sleep: Callable[[float], None] | None = None,
    clock: Callable[[], float] | None = None,
    **config: Any,
) -> PortalAdapter:
    settings: dict[str, Any] = {
        "quick_tries": 3,
        "backoff_initial_s": 0.001,
        "backoff_max_s": 0.004,
        **config,
    }
    return PortalAdapter(
        PortalConfig(BASE, "client", SECRET, portal_channels(), **settings),
        client=httpx.Client(),
        sleep=sleep or Sleeps(),
        clock=clock or Clock(),
        now=lambda: NOW,
    )


def error(status: int, code: str, message: str = "", **extra: Any) -> httpx.Response:
    return httpx.Response(
        status, json={"error": {"code": code, "message": message or code, **extra}}
    )


def posted_bodies(route: respx.Route) -> list[Any]:
    return [json.loads(call.request.content) for call in route.calls]


def keys_of(route: respx.Route) -> set[str]:
    return {call.request.headers["Idempotency-Key"] for call in route.calls}


@pytest.fixture
def portal() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth/token", name="token").respond(
            200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 7200}
        )
        router.post("/api/v1/attachments", name="upload").respond(
            201,
            json={"attachment_id": "att_1", "sha256": hashlib.sha256(PDF).hexdigest(), "size": 1},
        )
        router.get("/api/v1/articles/art_1", name="read").respond(200, json=CREATED)
        yield router


def deliver(
    adapter: PortalAdapter, job: DeliveryJob | None = None
) -> tuple[Outcome, RecordingJournal]:
    journal = RecordingJournal()
    return adapter.deliver(job or make_job(), journal), journal


# -- success --------------------------------------------------------------------------------


def test_a_published_article_gives_a_full_receipt(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)

    outcome, _ = deliver(make_adapter())

    assert outcome == Delivered({**CREATED, "channel": "fzzfjs", "attachment_id": "att_1"}, 201)


def test_the_article_body_carries_the_filing_and_its_attachment(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)

    deliver(make_adapter())

    assert posted_bodies(route) == [
        {
            "source_id": "filing-1/v1/dlv_1",
            "title": "南开区合作交流办党组2023年度法治政府建设情况报告",
            "publisher": "天津市南开区合作交流办公室",
            "org_code": "11120104MB1234567X",
            "body_html": "<p>第一段。</p>\n<p>第二段。</p>",
            "publish_at": "2024-01-12T09:00:00+08:00",
            "attachments": ["att_1"],
        }
    ]
    assert route.calls.last.request.headers["Idempotency-Key"] == "filing-1-v1-portal-dlv_1"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_the_upload_carries_the_checksum_and_the_utf8_filename(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)

    deliver(make_adapter())

    upload = portal.routes["upload"].calls.last.request
    assert upload.headers["X-Content-SHA256"] == hashlib.sha256(PDF).hexdigest()
    assert f'name="file"; filename="{PDF_NAME}"'.encode() in upload.content
    assert PDF in upload.content


def test_body_html_escapes_markup_one_paragraph_each(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)
    job = make_job(paragraphs=("<script>alert('x')</script>", "A & B < C"))

    deliver(make_adapter(), job)

    assert posted_bodies(route)[0]["body_html"] == (
        "<p>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;</p>\n<p>A &amp; B &lt; C</p>"
    )


def test_a_txt_filing_posts_no_attachment(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)

    outcome, journal = deliver(make_adapter(), make_job(kind="txt"))

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["attachment_id"] is None
    assert not portal.routes["upload"].called
    assert posted_bodies(route)[0]["attachments"] == []
    assert "attachment_id" not in journal.state


def test_publish_at_without_a_time_is_the_build_time_in_shanghai(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)

    deliver(make_adapter(), make_job(publish_at=None))

    assert posted_bodies(route)[0]["publish_at"] == "2024-01-12T09:00:00+08:00"


def test_a_utc_publish_at_is_sent_in_shanghai_time(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)
    job = make_job(publish_at=datetime(2024, 1, 12, 1, 0, tzinfo=UTC))

    deliver(make_adapter(), job)

    assert posted_bodies(route)[0]["publish_at"] == "2024-01-12T09:00:00+08:00"


def test_a_correction_names_the_article_it_replaces(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)

    deliver(make_adapter(), make_job(replaces={"article_id": "art_0", "url": "…"}))

    assert posted_bodies(route)[0]["replaces"] == "art_0"


def test_a_correction_publishes_its_reason_as_the_summary(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)
    job = replace(
        make_job(replaces={"article_id": "art_0"}), correction_reason="表三数据有误，已更正"
    )

    deliver(make_adapter(), job)
    deliver(make_adapter(), make_job())

    first, plain = posted_bodies(route)
    assert first["summary"] == "更正原因：表三数据有误，已更正"
    assert "summary" not in plain


def test_a_replayed_answer_is_delivered(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(200, json=CREATED, headers={"Idempotent-Replayed": "true"})

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["article_id"] == "art_1"
    assert outcome.http_status == 200


def test_find_article_looks_up_by_source_id(portal: respx.MockRouter) -> None:
    route = portal.get(ARTICLES, params={"source_id": "filing-1/v1"}).respond(
        200, json={"articles": [CREATED]}
    )

    assert make_adapter().find_article("fzzfjs", "filing-1/v1") == CREATED
    assert route.called


# -- journaling -------------------------------------------------------------------------------


def test_the_attachment_and_body_are_journaled_before_the_article_is_posted(
    portal: respx.MockRouter,
) -> None:
    journal = RecordingJournal()
    saves_seen_by_post: list[int] = []

    def publish(request: httpx.Request) -> httpx.Response:
        saves_seen_by_post.append(len(journal.saves))
        return httpx.Response(201, json=CREATED)

    portal.post(ARTICLES).mock(side_effect=publish)

    make_adapter().deliver(make_job(), journal)

    assert journal.saves[0] == {"attachment_id": "att_1"}
    assert journal.saves[1]["attachment_id"] == "att_1"
    assert journal.saves[1]["article_body"]["attachments"] == ["att_1"]
    assert saves_seen_by_post == [2]


def test_an_earlier_attempts_attachment_and_body_are_reused(portal: respx.MockRouter) -> None:
    earlier_body = {"source_id": "filing-1/v1", "title": "as first sent", "attachments": ["att_0"]}
    route = portal.post(ARTICLES).respond(201, json=CREATED)
    job = make_job(state={"attachment_id": "att_0", "article_body": earlier_body})

    outcome, journal = deliver(make_adapter(), job)

    assert not portal.routes["upload"].called
    assert posted_bodies(route) == [earlier_body]
    assert journal.saves == []
    assert isinstance(outcome, Delivered)
    assert outcome.receipt["attachment_id"] == "att_0"


def test_an_attachment_uploaded_earlier_is_not_uploaded_again(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES).respond(201, json=CREATED)

    deliver(make_adapter(), make_job(state={"attachment_id": "att_0"}))

    assert not portal.routes["upload"].called
    assert posted_bodies(route)[0]["attachments"] == ["att_0"]


class KeyStorePortal:
    """The portal's article endpoint with its idempotency-key store: the same key with the
    same body replays the first answer, so only one article ever exists. `lose_first`
    makes the answer to the first (article-creating) POST get lost on the way back."""

    def __init__(self, lose_first: Callable[[httpx.Request], httpx.Response]) -> None:
        self.lose_first = lose_first
        self.articles: list[dict[str, Any]] = []
        self.keys: dict[str, tuple[Any, dict[str, Any]]] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key, body = request.headers["Idempotency-Key"], json.loads(request.content)
        if key in self.keys:
            first_body, answer = self.keys[key]
            if first_body != body:
                return error(422, "idempotency_key_reused")
            return httpx.Response(200, json=answer, headers={"Idempotent-Replayed": "true"})
        article = {**CREATED, "article_id": f"art_{len(self.articles) + 1}"}
        self.articles.append(article)
        self.keys[key] = (body, article)
        if len(self.articles) == 1:
            return self.lose_first(request)
        return httpx.Response(201, json=article)


def _read_error(request: httpx.Request) -> httpx.Response:
    raise httpx.ReadError("connection reset by peer", request=request)


def _unavailable(request: httpx.Request) -> httpx.Response:
    return error(503, "unavailable")


@pytest.mark.parametrize("lose", [_read_error, _unavailable], ids=["read_error", "503"])
def test_an_article_whose_response_was_lost_is_published_once(
    portal: respx.MockRouter, lose: Callable[[httpx.Request], httpx.Response]
) -> None:
    store = KeyStorePortal(lose)
    route = portal.post(ARTICLES).mock(side_effect=store)

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["article_id"] == "art_1"
    assert len(store.articles) == 1
    assert route.call_count == 2
    first, second = route.calls
    assert second.request.headers["Idempotency-Key"] == first.request.headers["Idempotency-Key"]
    assert second.request.content == first.request.content


def test_a_lost_response_retried_by_a_later_delivery_attempt_is_published_once(
    portal: respx.MockRouter,
) -> None:
    store = KeyStorePortal(_read_error)
    portal.post(ARTICLES).mock(side_effect=store)

    first, journal = deliver(make_adapter(quick_tries=1))
    second, _ = deliver(make_adapter(), make_job(state=journal.state))

    assert isinstance(first, RetryLater)
    assert isinstance(second, Delivered)
    assert len(store.articles) == 1
    assert portal.routes["upload"].call_count == 1


# -- the token ----------------------------------------------------------------------------


def test_the_token_is_reused_across_deliveries(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)
    adapter = make_adapter()

    deliver(adapter)
    deliver(adapter)

    assert portal.routes["token"].call_count == 1


def test_the_token_is_refreshed_shortly_before_it_expires(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)
    clock = Clock()
    adapter = make_adapter(clock=clock, token_refresh_margin_s=60)

    deliver(adapter)
    clock.t += 7200 - 61
    deliver(adapter)
    clock.t += 2
    deliver(adapter)

    assert portal.routes["token"].call_count == 2


def test_concurrent_deliveries_fetch_one_token(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)

    def slow_token(request: httpx.Request) -> httpx.Response:
        time.sleep(0.05)  # long enough for every thread to find no token yet
        return httpx.Response(200, json={"access_token": TOKEN, "expires_in": 7200})

    portal.routes["token"].mock(side_effect=slow_token)
    adapter = make_adapter()
    threads = [threading.Thread(target=deliver, args=(adapter,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert portal.routes["token"].call_count == 1


def test_token_expired_gets_a_new_token_and_one_retry_that_succeeds(
    portal: respx.MockRouter,
) -> None:
    route = portal.post(ARTICLES)
    route.side_effect = [error(401, "token_expired"), httpx.Response(201, json=CREATED)]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert portal.routes["token"].call_count == 2
    assert route.call_count == 2


def test_token_expired_again_right_after_a_fresh_token_is_transient(
    portal: respx.MockRouter,
) -> None:
    route = portal.post(ARTICLES).mock(return_value=error(401, "token_expired"))

    outcome, _ = deliver(make_adapter(quick_tries=1))

    assert isinstance(outcome, RetryLater)
    assert outcome.code == "token_expired"
    assert route.call_count == 2
    assert portal.routes["token"].call_count == 2


def test_the_token_endpoint_refusing_the_client_fails_as_a_configuration_error(
    portal: respx.MockRouter,
) -> None:
    portal.routes["token"].respond(401, json={"error": "invalid_client"})

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert outcome.code == "invalid_client"
    assert outcome.message.startswith("configuration")


def test_an_unavailable_token_endpoint_is_transient(portal: respx.MockRouter) -> None:
    portal.routes["token"].respond(503)

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, RetryLater)
    assert portal.routes["token"].call_count == 3


# -- the error table, row by row ----------------------------------------------------------


@pytest.mark.parametrize("status", [400, 422])
def test_a_wrong_request_fails_permanently_recording_the_code_and_message(
    portal: respx.MockRouter, status: int
) -> None:
    route = portal.post(ARTICLES).mock(
        return_value=error(status, "invalid_field", "title is required")
    )

    outcome, _ = deliver(make_adapter())

    assert outcome == Failed("invalid_field", "title is required", status)
    assert route.call_count == 1


def test_a_415_on_the_attachment_fails_permanently(portal: respx.MockRouter) -> None:
    portal.routes["upload"].mock(return_value=error(415, "unsupported_type", "not allowed"))

    outcome, _ = deliver(make_adapter())

    assert outcome == Failed("unsupported_type", "not allowed", 415)


def test_idempotency_key_reused_without_an_article_fails_permanently(
    portal: respx.MockRouter,
) -> None:
    portal.post(ARTICLES).mock(return_value=error(422, "idempotency_key_reused"))
    portal.get(ARTICLES).mock(return_value=httpx.Response(200, json={"articles": []}))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert outcome.code == "idempotency_key_reused"


def test_idempotency_key_reused_with_the_article_published_is_delivered(
    portal: respx.MockRouter,
) -> None:
    """The journaled first body was lost; the first request had created the article."""
    portal.post(ARTICLES).mock(return_value=error(422, "idempotency_key_reused"))
    found = {"article_id": "art_9", "url": "https://portal/art_9.html", "status": "published"}
    lookup = portal.get(ARTICLES).mock(return_value=httpx.Response(200, json={"articles": [found]}))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["article_id"] == "art_9"
    assert dict(lookup.calls.last.request.url.params) == {"source_id": "filing-1/v1/dlv_1"}


def test_a_401_other_than_token_expired_fails_as_a_configuration_error(
    portal: respx.MockRouter,
) -> None:
    portal.post(ARTICLES).mock(return_value=error(401, "invalid_token"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.http_status) == ("invalid_token", 401)
    assert outcome.message.startswith("configuration")
    assert portal.routes["token"].call_count == 1


def test_a_403_fails_as_a_configuration_error(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).mock(return_value=error(403, "channel_forbidden"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.http_status) == ("channel_forbidden", 403)
    assert outcome.message.startswith("configuration")


def test_a_404_on_the_channel_fails_as_a_configuration_error(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).mock(return_value=error(404, "channel_not_found"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.http_status) == ("channel_not_found", 404)
    assert outcome.message.startswith("configuration")


def test_an_unknown_category_fails_as_channel_not_configured(portal: respx.MockRouter) -> None:
    outcome, _ = deliver(make_adapter(), make_job(category="unheard_of"))

    assert isinstance(outcome, Failed)
    assert outcome.code == "channel_not_configured"
    assert not portal.routes["token"].called


def test_duplicate_source_is_success_with_the_existing_article_as_receipt(
    portal: respx.MockRouter,
) -> None:
    portal.post(ARTICLES).mock(return_value=error(409, "duplicate_source", article_id="art_1"))

    outcome, _ = deliver(make_adapter())

    assert outcome == Delivered({**CREATED, "channel": "fzzfjs", "attachment_id": "att_1"}, 409)


def test_duplicate_source_is_delivered_without_url_when_the_article_cannot_be_read(
    portal: respx.MockRouter,
) -> None:
    portal.post(ARTICLES).mock(return_value=error(409, "duplicate_source", article_id="art_1"))
    portal.routes["read"].mock(side_effect=httpx.ConnectError("refused"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["article_id"] == "art_1"
    assert outcome.receipt["url"] is None


def test_duplicate_source_without_an_article_id_finds_it_by_source_id(
    portal: respx.MockRouter,
) -> None:
    portal.post(ARTICLES).mock(return_value=error(409, "duplicate_source"))
    portal.get(ARTICLES).respond(200, json={"articles": [CREATED]})

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["url"] == CREATED["url"]


def test_idempotency_key_in_use_is_retried_with_backoff(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES)
    route.side_effect = [error(409, "idempotency_key_in_use"), httpx.Response(201, json=CREATED)]
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert isinstance(outcome, Delivered)
    assert len(sleeps.waits) == 1
    assert 0 <= sleeps.waits[0] <= 0.004
    assert len(keys_of(route)) == 1


def test_checksum_mismatch_retries_the_upload_and_then_succeeds(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)
    upload = portal.routes["upload"]
    upload.side_effect = [
        error(422, "checksum_mismatch"),
        error(422, "checksum_mismatch"),
        httpx.Response(
            201, json={"attachment_id": "att_9", "sha256": hashlib.sha256(PDF).hexdigest()}
        ),
    ]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["attachment_id"] == "att_9"
    assert all(PDF in call.request.content for call in upload.calls)


def test_checksum_mismatch_on_every_upload_fails_after_checksum_retries(
    portal: respx.MockRouter,
) -> None:
    portal.routes["upload"].mock(return_value=error(422, "checksum_mismatch"))

    outcome, _ = deliver(make_adapter(checksum_retries=2))

    assert isinstance(outcome, Failed)
    assert outcome.code == "checksum_mismatch"
    assert portal.routes["upload"].call_count == 3


def test_a_413_fails_permanently(portal: respx.MockRouter) -> None:
    portal.routes["upload"].mock(return_value=error(413, "too_large"))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert (outcome.code, outcome.http_status) == ("too_large", 413)


def test_a_429_waits_retry_after_seconds_before_retrying(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES)
    limited = httpx.Response(
        429, headers={"Retry-After": "2"}, json={"error": {"code": "rate_limited"}}
    )
    route.side_effect = [limited, httpx.Response(201, json=CREATED)]
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert isinstance(outcome, Delivered)
    assert sleeps.waits == [2.0]


def test_a_429_with_an_http_date_waits_until_that_date(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES)
    date = format_datetime((NOW + timedelta(seconds=5)).astimezone(UTC), usegmt=True)
    route.side_effect = [
        httpx.Response(429, headers={"Retry-After": date}),
        httpx.Response(201, json=CREATED),
    ]
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert isinstance(outcome, Delivered)
    assert sleeps.waits == [5.0]


def test_a_retry_after_over_the_cap_gives_the_delivery_back_without_sleeping(
    portal: respx.MockRouter,
) -> None:
    route = portal.post(ARTICLES).respond(429, headers={"Retry-After": "3600"})
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps, retry_after_cap_s=60))

    assert outcome == RetryLater("http_429", "Too Many Requests", 429, retry_after=3600.0)
    assert sleeps.waits == []
    assert route.call_count == 1


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_5xx_is_retried_with_backoff_then_given_back_to_the_outbox(
    portal: respx.MockRouter, status: int
) -> None:
    route = portal.post(ARTICLES).mock(return_value=error(status, "unavailable"))
    sleeps = Sleeps()

    outcome, _ = deliver(make_adapter(sleeps))

    assert outcome == RetryLater("unavailable", "unavailable", status)
    assert route.call_count == 3
    assert len(sleeps.waits) == 2
    assert all(0 <= wait <= 0.004 for wait in sleeps.waits)
    assert len(keys_of(route)) == 1
    assert len({call.request.content for call in route.calls}) == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadError("connection reset by peer"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
    ],
    ids=lambda exc: type(exc).__name__,
)
def test_a_connection_failure_is_retried_with_the_same_key_and_body(
    portal: respx.MockRouter, failure: Exception
) -> None:
    route = portal.post(ARTICLES)
    route.side_effect = [failure, httpx.Response(201, json=CREATED)]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert len(keys_of(route)) == 1
    assert route.calls[0].request.content == route.calls[1].request.content


def test_a_truncated_json_answer_is_transient(portal: respx.MockRouter) -> None:
    route = portal.post(ARTICLES)
    route.side_effect = [
        httpx.Response(
            201,
            content=b'{"article_id": "art_1", "ur',
            headers={"Content-Type": "application/json"},
        ),
        httpx.Response(200, json=CREATED, headers={"Idempotent-Replayed": "true"}),
    ]

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["article_id"] == "art_1"


# -- logs and messages ------------------------------------------------------------------------


def test_logs_carry_the_delivery_id_but_never_the_secret_or_token(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).respond(201, json=CREATED)

    with structlog.testing.capture_logs() as logs:
        deliver(make_adapter())

    calls = [entry for entry in logs if entry["event"] == "portal.call"]
    assert [c["endpoint"] for c in calls] == ["token", "upload", "publish"]
    assert all(entry["delivery_id"] == "dlv_1" for entry in logs)
    assert SECRET not in repr(logs) and TOKEN not in repr(logs)


def test_a_long_error_message_is_truncated_to_500_characters(portal: respx.MockRouter) -> None:
    portal.post(ARTICLES).mock(return_value=error(400, "invalid_field", "x" * 5000))

    outcome, _ = deliver(make_adapter())

    assert isinstance(outcome, Failed)
    assert len(outcome.message) == 500


def test_a_retry_after_date_in_minus_0000_is_read_as_utc() -> None:
    from datetime import UTC, datetime

    from service.delivery.quick_retry import parse_retry_after

    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 -0000", lambda: now) == 60.0
