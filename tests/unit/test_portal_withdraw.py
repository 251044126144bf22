"""The portal adapter's withdraw (contract v1.1) at its HTTP edge (respx): each answer of
the contract, the key and body every try repeats, and a job with nothing published."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest
import respx

from service.delivery.port import Delivered, Failed, RetryLater, WithdrawJob
from service.delivery.portal import PortalAdapter
from tests.fakes import RecordingJournal
from tests.unit.test_portal_adapter import BASE, TOKEN, error, make_adapter

WITHDRAW_1 = "/api/v1/articles/art_1/withdraw"
WITHDRAW_2 = "/api/v1/articles/art_2/withdraw"


def withdrawn(article_id: str = "art_1") -> dict[str, Any]:
    return {
        "article_id": article_id,
        "url": f"https://portal.test/fzzfjs/{article_id}.html",
        "status": "withdrawn",
        "published_at": "2024-01-12T09:00:00+08:00",
        "withdrawn_at": "2024-02-01T10:00:00+08:00",
        "withdraw_reason": "误发",
    }


def make_job(
    published: tuple[Mapping[str, Any], ...] = ({"article_id": "art_1"},),
    state: Mapping[str, Any] | None = None,
) -> WithdrawJob:
    return WithdrawJob(
        delivery_id="dlv_9",
        idempotency_key="fil_1-withdraw-portal",
        filing_id="fil_1",
        org_code="11120104MB1234567X",
        reason="误发",
        requested_by="compliance-1",
        published=published,
        state=state or {},
    )


@pytest.fixture
def portal() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        router.post("/oauth/token", name="token").respond(
            200, json={"access_token": TOKEN, "token_type": "Bearer", "expires_in": 7200}
        )
        yield router


def run(adapter: PortalAdapter, job: WithdrawJob | None = None) -> tuple[Any, RecordingJournal]:
    journal = RecordingJournal()
    return adapter.withdraw(job or make_job(), journal), journal


def test_a_withdrawn_article_gives_a_receipt_naming_it(portal: respx.MockRouter) -> None:
    route = portal.post(WITHDRAW_1).respond(200, json=withdrawn())

    outcome, journal = run(make_adapter())

    assert isinstance(outcome, Delivered)
    assert outcome.receipt["status"] == "withdrawn"
    assert [a["article_id"] for a in outcome.receipt["articles"]] == ["art_1"]
    assert outcome.receipt["articles"][0]["withdrawn_at"] == "2024-02-01T10:00:00+08:00"
    request = route.calls.last.request
    assert json.loads(request.content) == {"reason": "误发", "requested_by": "compliance-1"}
    assert request.headers["Idempotency-Key"] == "fil_1-withdraw-portal-art_1"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "art_1" in journal.state["withdrawn"]


def test_nothing_published_completes_as_not_published_without_a_call(
    portal: respx.MockRouter,
) -> None:
    route = portal.post(WITHDRAW_1).respond(200, json=withdrawn())

    outcome, _ = run(make_adapter(), make_job(published=()))

    assert outcome == Delivered({"status": "not_published", "articles": []})
    assert not route.called and not portal.routes["token"].called


def test_every_article_of_a_corrected_filing_is_taken_down_once(portal: respx.MockRouter) -> None:
    first = portal.post(WITHDRAW_1).respond(200, json=withdrawn("art_1"))
    second = portal.post(WITHDRAW_2).respond(200, json=withdrawn("art_2"))
    published = ({"article_id": "art_1"}, {"article_id": "art_2"}, {"article_id": "art_1"})

    outcome, _ = run(make_adapter(), make_job(published=published))

    assert isinstance(outcome, Delivered)
    assert [a["article_id"] for a in outcome.receipt["articles"]] == ["art_1", "art_2"]
    assert first.call_count == 1 and second.call_count == 1


def test_an_article_already_withdrawn_in_an_earlier_try_is_not_asked_again(
    portal: respx.MockRouter,
) -> None:
    first = portal.post(WITHDRAW_1).respond(200, json=withdrawn("art_1"))
    second = portal.post(WITHDRAW_2).respond(200, json=withdrawn("art_2"))
    job = make_job(
        published=({"article_id": "art_1"}, {"article_id": "art_2"}),
        state={"withdrawn": {"art_1": {"article_id": "art_1", "status": "withdrawn"}}},
    )

    outcome, _ = run(make_adapter(), job)

    assert isinstance(outcome, Delivered) and len(outcome.receipt["articles"]) == 2
    assert not first.called and second.call_count == 1


def test_an_unknown_article_fails_for_good(portal: respx.MockRouter) -> None:
    route = portal.post(WITHDRAW_1).mock(return_value=error(404, "not_found"))

    outcome, _ = run(make_adapter())

    assert isinstance(outcome, Failed) and outcome.code == "not_found"
    assert outcome.http_status == 404 and route.call_count == 1


@pytest.mark.parametrize(
    ("answer", "code"),
    [
        (error(503, "unavailable"), "unavailable"),
        (error(409, "idempotency_key_in_use"), "idempotency_key_in_use"),
        (
            httpx.Response(429, headers={"Retry-After": "1"}, json={"error": {"code": "rate"}}),
            "rate",
        ),
    ],
)
def test_transient_answers_are_retried_with_the_same_key_and_body_then_left_for_later(
    portal: respx.MockRouter, answer: httpx.Response, code: str
) -> None:
    route = portal.post(WITHDRAW_1).mock(return_value=answer)

    outcome, _ = run(make_adapter(quick_tries=3))

    assert isinstance(outcome, RetryLater) and outcome.code == code
    assert route.call_count == 3
    assert {c.request.headers["Idempotency-Key"] for c in route.calls} == {
        "fil_1-withdraw-portal-art_1"
    }
    assert len({c.request.content for c in route.calls}) == 1


def test_a_lost_answer_is_retried_and_the_replay_counts_as_done(portal: respx.MockRouter) -> None:
    route = portal.post(WITHDRAW_1).mock(
        side_effect=[
            httpx.ConnectError("connection reset"),
            httpx.Response(200, json=withdrawn(), headers={"Idempotent-Replayed": "true"}),
        ]
    )

    outcome, _ = run(make_adapter())

    assert isinstance(outcome, Delivered) and route.call_count == 2


@pytest.mark.parametrize(
    ("status", "code"), [(400, "invalid_request"), (422, "invalid_field"), (403, "forbidden")]
)
def test_a_wrong_request_fails_for_good(portal: respx.MockRouter, status: int, code: str) -> None:
    route = portal.post(WITHDRAW_1).mock(return_value=error(status, code))

    outcome, _ = run(make_adapter())

    assert isinstance(outcome, Failed) and outcome.code == code and route.call_count == 1


def test_an_expired_token_is_renewed_once(portal: respx.MockRouter) -> None:
    route = portal.post(WITHDRAW_1).mock(
        side_effect=[error(401, "token_expired"), httpx.Response(200, json=withdrawn())]
    )

    outcome, _ = run(make_adapter())

    assert isinstance(outcome, Delivered)
    assert route.call_count == 2 and portal.routes["token"].call_count == 2
