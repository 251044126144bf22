"""The portal simulator as a real HTTP server on 127.0.0.1, driven through httpx: the
contract's rules, its faults, and the portal adapter delivering through those faults."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import io
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from service.categories import portal_channels
from service.delivery.port import ArchivedFile, Delivered, DeliveryJob, Outcome, RetryLater
from service.delivery.portal import PortalAdapter, PortalConfig
from service.simulators import RunningSimulator
from service.simulators.portal import SimulatorConfig, start_in_thread

PDF = b"%PDF-1.7\n" + b"0123456789" * 100
ORG = "11120104MB1234567X"


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    # One server for the module (stopping one takes uvicorn ~0.2 s); each test resets it.
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        http.post("/_admin/reset").raise_for_status()
        yield http


def bearer(client: httpx.Client) -> dict[str, str]:
    answer = client.post("/oauth/token", data=_credentials()).json()
    return {"Authorization": f"Bearer {answer['access_token']}"}


def _credentials(secret: str = "portal-demo-secret") -> dict[str, str]:
    return {"grant_type": "client_credentials", "client_id": "portal-demo", "client_secret": secret}


def article(source_id: str = "filing-1/v1", **fields: Any) -> dict[str, Any]:
    return {
        "source_id": source_id,
        "title": "南开区合作交流办党组2023年度法治政府建设情况报告",
        "publisher": "天津市南开区合作交流办公室",
        "org_code": ORG,
        "body_html": "<p>正文</p>",
        "publish_at": "2024-01-12T09:00:00+08:00",
        "attachments": [],
        **fields,
    }


def publish(
    client: httpx.Client, auth: Mapping[str, str], body: Any, key: str | None = "key-1"
) -> httpx.Response:
    headers = {**auth, **({"Idempotency-Key": key} if key else {})}
    return client.post("/api/v1/channels/fzzfjs/articles", json=body, headers=headers)


def upload(
    client: httpx.Client, auth: Mapping[str, str], data: bytes, name: str, sha256: str | None = None
) -> httpx.Response:
    headers = {**auth, "X-Content-SHA256": sha256 or hashlib.sha256(data).hexdigest()}
    return client.post(
        "/api/v1/attachments", files={"file": (name, io.BytesIO(data))}, headers=headers
    )


def set_faults(client: httpx.Client, **faults: Any) -> None:
    client.post("/_admin/faults", json=faults).raise_for_status()


def admin_articles(client: httpx.Client) -> list[dict[str, Any]]:
    articles: list[dict[str, Any]] = client.get("/_admin/articles").json()["articles"]
    return articles


# -- the contract -------------------------------------------------------------------------


def test_a_token_is_issued_to_the_configured_client_only(client: httpx.Client) -> None:
    issued = client.post("/oauth/token", data=_credentials())
    refused = client.post("/oauth/token", data=_credentials("wrong"))

    assert issued.status_code == 200
    assert issued.json()["token_type"] == "Bearer"
    assert issued.json()["expires_in"] == 7200
    assert (refused.status_code, refused.json()) == (401, {"error": "invalid_client"})


def test_a_call_without_a_known_token_is_refused_in_the_nested_error_shape(
    client: httpx.Client,
) -> None:
    missing = publish(client, {}, article())
    unknown = publish(client, {"Authorization": "Bearer forged"}, article())

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_token"
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "token_expired"


def test_an_attachment_is_stored_with_its_utf8_filename(client: httpx.Client) -> None:
    answer = upload(client, bearer(client), PDF, "南开区报告.pdf")

    assert answer.status_code == 201
    assert answer.json()["sha256"] == hashlib.sha256(PDF).hexdigest()
    listed = client.get("/_admin/attachments").json()["attachments"]
    assert [(a["filename"], a["size"]) for a in listed] == [("南开区报告.pdf", len(PDF))]


def test_an_attachment_whose_bytes_do_not_match_the_checksum_is_refused(
    client: httpx.Client,
) -> None:
    answer = upload(client, bearer(client), PDF, "a.pdf", sha256="0" * 64)

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "checksum_mismatch"


def test_an_attachment_of_a_type_not_allowed_is_refused(client: httpx.Client) -> None:
    auth = bearer(client)

    assert upload(client, auth, b"plain text", "a.txt").status_code == 415
    assert upload(client, auth, b"plain text", "a.pdf").status_code == 415  # not a PDF inside


def test_an_attachment_over_the_limit_is_refused() -> None:
    with (
        start_in_thread("127.0.0.1", 0, SimulatorConfig(max_attachment_bytes=100)) as small,
        httpx.Client(base_url=small.url) as client,
    ):
        answer = upload(client, bearer(client), PDF, "a.pdf")

    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "too_large"


def test_the_same_key_and_body_replays_the_first_answer(client: httpx.Client) -> None:
    auth = bearer(client)

    first = publish(client, auth, article())
    again = publish(client, auth, dict(reversed(article().items())))  # key order is no matter

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    [only] = admin_articles(client)
    assert only["posts"] == {"created": 1, "replayed": 1, "duplicate": 0}


def test_a_4xx_answer_is_replayed_too(client: httpx.Client) -> None:
    auth = bearer(client)
    invalid = article(org_code="short")

    first = publish(client, auth, invalid)
    again = publish(client, auth, invalid)

    assert first.status_code == again.status_code == 422
    assert again.headers["Idempotent-Replayed"] == "true"


def test_the_same_key_with_another_body_is_refused(client: httpx.Client) -> None:
    auth = bearer(client)
    publish(client, auth, article())

    answer = publish(client, auth, article(title="另一个标题"))

    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "idempotency_key_reused"


def test_a_key_still_in_flight_answers_idempotency_key_in_use(client: httpx.Client) -> None:
    auth = bearer(client)
    set_faults(client, failure_rate=1.0, kinds=["slow"], latency_ms=500)
    answers: list[httpx.Response] = []
    first = threading.Thread(target=lambda: answers.append(publish(client, auth, article())))
    first.start()
    time.sleep(0.2)

    second = publish(client, auth, article())
    first.join()

    assert (second.status_code, second.json()["error"]["code"]) == (409, "idempotency_key_in_use")
    assert answers[0].status_code == 201


def test_after_the_key_expired_the_source_id_answers_duplicate_source() -> None:
    with (
        start_in_thread("127.0.0.1", 0, SimulatorConfig(key_ttl_s=0.2)) as sim,
        httpx.Client(base_url=sim.url) as client,
    ):
        auth = bearer(client)
        created = publish(client, auth, article())
        time.sleep(0.3)
        again = publish(client, auth, article())
        without_key = publish(client, auth, article(), key=None)

    assert again.status_code == without_key.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_source"
    assert again.json()["error"]["article_id"] == created.json()["article_id"]


def test_an_article_is_found_by_its_source_id_and_read_by_its_id(client: httpx.Client) -> None:
    auth = bearer(client)
    created = publish(client, auth, article()).json()

    found = client.get(
        "/api/v1/channels/fzzfjs/articles", params={"source_id": "filing-1/v1"}, headers=auth
    )
    none = client.get("/api/v1/channels/fzzfjs/articles", params={"source_id": "x"}, headers=auth)
    read = client.get(f"/api/v1/articles/{created['article_id']}", headers=auth)

    assert [a["article_id"] for a in found.json()["articles"]] == [created["article_id"]]
    assert none.json() == {"articles": []}
    assert read.json()["url"] == created["url"]
    assert client.get("/api/v1/articles/art_unknown", headers=auth).status_code == 404


def test_a_correction_marks_the_replaced_article_corrected(client: httpx.Client) -> None:
    auth = bearer(client)
    old = publish(client, auth, article("filing-1/v1"), key="k1").json()

    new = publish(client, auth, article("filing-1/v2", replaces=old["article_id"]), key="k2")

    read = client.get(f"/api/v1/articles/{old['article_id']}", headers=auth).json()
    assert new.status_code == 201
    assert read["status"] == "corrected"
    assert read["corrected_by"] == new.json()["article_id"]


def test_a_future_publish_at_is_scheduled(client: httpx.Client) -> None:
    answer = publish(client, bearer(client), article(publish_at="2999-01-01T09:00:00+08:00"))

    assert answer.json()["status"] == "scheduled"
    assert answer.json()["published_at"] == "2999-01-01T09:00:00+08:00"


def test_an_unknown_channel_is_not_found_and_a_forbidden_one_is_refused() -> None:
    config = SimulatorConfig(forbidden_channels=frozenset({"ldxx"}))
    with start_in_thread("127.0.0.1", 0, config) as sim, httpx.Client(base_url=sim.url) as client:
        auth = bearer(client)
        unknown = client.post("/api/v1/channels/nope/articles", json=article(), headers=auth)
        forbidden = client.post("/api/v1/channels/ldxx/articles", json=article(), headers=auth)

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "channel_not_found")
    assert (forbidden.status_code, forbidden.json()["error"]["code"]) == (403, "channel_forbidden")


# -- faults -------------------------------------------------------------------------------


def test_a_rate_limited_answer_carries_retry_after(client: httpx.Client) -> None:
    set_faults(client, failure_rate=1.0, kinds=["rate_limit"])

    answer = client.post("/oauth/token", data=_credentials())

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "1"


def test_after_commit_503_creates_the_article_and_the_retry_replays_it(
    client: httpx.Client,
) -> None:
    auth = bearer(client)
    set_faults(client, failure_rate=1.0, kinds=["after_commit_503"])

    lost = publish(client, auth, article())
    set_faults(client, failure_rate=0.0)
    retried = publish(client, auth, article())

    assert lost.status_code == 503
    assert len(admin_articles(client)) == 1
    assert (retried.status_code, retried.headers["Idempotent-Replayed"]) == (200, "true")


def test_drop_connection_makes_httpx_raise(client: httpx.Client) -> None:
    auth = bearer(client)
    set_faults(client, failure_rate=1.0, kinds=["drop_connection"])

    with pytest.raises(httpx.RemoteProtocolError):
        publish(client, auth, article())

    assert len(admin_articles(client)) == 1  # it happened; only the answer was lost


def test_the_token_expired_fault_revokes_the_token(client: httpx.Client) -> None:
    auth = bearer(client)
    set_faults(client, failure_rate=1.0, kinds=["token_expired"])

    expired = publish(client, auth, article())
    set_faults(client, failure_rate=0.0)
    still_expired = publish(client, auth, article())

    assert (
        expired.json()["error"]["code"] == still_expired.json()["error"]["code"] == "token_expired"
    )


def test_admin_routes_are_never_faulted_and_stats_count_faults(client: httpx.Client) -> None:
    set_faults(client, failure_rate=1.0, kinds=["http_500"])

    refused = client.post("/oauth/token", data=_credentials())
    stats = client.get("/_admin/stats")

    assert refused.status_code == 500
    assert stats.status_code == 200
    assert stats.json()["faults"] == {"http_500": 1}
    assert stats.json()["requests"] == 1


def test_faults_of_one_endpoint_leave_the_others_alone(client: httpx.Client) -> None:
    set_faults(client, failure_rate=1.0, kinds=["http_503"], endpoint="publish")
    auth = bearer(client)  # the token endpoint keeps the default: no faults

    refused = publish(client, auth, article())
    found = client.get("/api/v1/channels/fzzfjs/articles", headers=auth)
    client.post("/_admin/reset").raise_for_status()

    assert refused.status_code == 503 and found.status_code == 200
    assert client.get("/_admin/faults").json()["endpoints"] == {}
    assert publish(client, bearer(client), article()).status_code == 201


def test_reset_forgets_everything(client: httpx.Client) -> None:
    publish(client, bearer(client), article())

    client.post("/_admin/reset").raise_for_status()

    assert admin_articles(client) == []
    assert client.get("/_admin/stats").json() == {}


# -- the adapter against the simulator ------------------------------------------------------


class Journal:
    def __init__(self) -> None:
        self.state: dict[str, Any] = {}

    def save(self, state: Mapping[str, Any]) -> None:
        self.state = copy.deepcopy(dict(state))


def _job(n: int) -> DeliveryJob:
    data = PDF + str(n).encode() if n % 2 else f"第{n}段。".encode()
    kind = "pdf" if n % 2 else "txt"
    return DeliveryJob(
        delivery_id=f"dlv_{n}",
        idempotency_key=f"filing-{n}-v1-portal",
        source_id=f"filing-{n}/v1",
        filing_id=f"filing-{n}",
        version=1,
        category="rule_of_law_report",
        org_code=ORG,
        org_name="天津市南开区合作交流办公室",
        period="2023",
        title=f"报告 {n}",
        publish_at=None,
        paragraphs=(f"第{n}段。",),
        file=ArchivedFile(
            filename=f"报告{n}.{kind}",
            kind=kind,
            media_type="application/pdf" if kind == "pdf" else "text/plain",
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            open=lambda: io.BytesIO(data),
        ),
    )


def _deliver_until_settled(adapter: PortalAdapter, job: DeliveryJob) -> list[Outcome]:
    """What the outbox does: deliver again, with the journaled state, until it settles."""
    journal, outcomes = Journal(), []
    for _ in range(40):
        outcome = adapter.deliver(dataclasses.replace(job, state=journal.state), journal)
        outcomes.append(outcome)
        if not isinstance(outcome, RetryLater):
            break
    return outcomes


def test_the_adapter_publishes_each_filing_once_through_every_kind_of_fault(
    sim: RunningSimulator, client: httpx.Client
) -> None:
    set_faults(client, failure_rate=0.5, latency_ms=5, seed=20240112)
    config = PortalConfig(
        sim.url, "portal-demo", "portal-demo-secret", portal_channels(), timeout_s=5,
        quick_tries=3, backoff_initial_s=0.001, backoff_max_s=0.002,
    )  # fmt: skip
    adapter = PortalAdapter(config, sleep=lambda _: None)

    settled = [_deliver_until_settled(adapter, _job(n))[-1] for n in range(10)]

    assert all(isinstance(outcome, Delivered) for outcome in settled), settled
    articles = admin_articles(client)
    assert sorted(a["source_id"] for a in articles) == sorted(f"filing-{n}/v1" for n in range(10))
    assert all(a["posts"]["created"] == 1 for a in articles)
    receipts = {o.receipt["article_id"] for o in settled if isinstance(o, Delivered)}
    assert receipts == {a["article_id"] for a in articles}
    with_files = [a for a in articles if a["attachments"]]
    assert len(with_files) == 5
    assert all(a["attachments"][0]["sha256"] for a in with_files)
    assert sum(client.get("/_admin/stats").json()["faults"].values()) > 10


def test_a_base_latency_delays_every_request_but_admin_calls(client: httpx.Client) -> None:
    set_faults(client, base_latency_ms=150)
    started = time.monotonic()
    client.post("/oauth/token", data=_credentials())
    assert time.monotonic() - started >= 0.15
    started = time.monotonic()
    admin_articles(client)
    assert time.monotonic() - started < 0.15


def test_a_retry_after_the_portal_forgot_the_key_finds_the_article_by_its_source_id() -> None:
    with (
        start_in_thread("127.0.0.1", 0, SimulatorConfig(key_ttl_s=0.2)) as sim,
        httpx.Client(base_url=sim.url) as client,
    ):
        config = PortalConfig(
            sim.url, "portal-demo", "portal-demo-secret", portal_channels(), quick_tries=1
        )
        adapter = PortalAdapter(config, sleep=lambda _: None)
        job, journal = _job(2), Journal()
        set_faults(client, failure_rate=1.0, kinds=["after_commit_503"])
        lost = adapter.deliver(job, journal)  # created, but the answer was a 503
        set_faults(client, failure_rate=0.0)
        time.sleep(0.3)  # a day later, as far as the portal's key memory goes
        retried = adapter.deliver(dataclasses.replace(job, state=journal.state), journal)
        articles = admin_articles(client)

    assert isinstance(lost, RetryLater)
    assert isinstance(retried, Delivered)
    [created] = articles
    assert retried.receipt["article_id"] == created["article_id"]
    assert created["posts"]["created"] == 1


def test_a_delivery_whose_journaled_body_was_lost_is_still_delivered_once(
    sim: RunningSimulator, client: httpx.Client
) -> None:
    """A lease taken over or a catalog rebuilt loses the first body; the same key with a
    rebuilt body is idempotency_key_reused, and the article is found by its source_id."""
    config = PortalConfig(
        sim.url, "portal-demo", "portal-demo-secret", portal_channels(), quick_tries=1
    )
    adapter = PortalAdapter(config, sleep=lambda _: None)
    first = adapter.deliver(_job(4), Journal())
    time.sleep(0.01)  # the rebuilt body's publish_at differs from the first
    again = adapter.deliver(_job(4), Journal())

    assert isinstance(first, Delivered) and isinstance(again, Delivered)
    assert again.receipt["article_id"] == first.receipt["article_id"]
    assert len(admin_articles(client)) == 1
