"""The portal simulator's withdraw (contract v1.1) as a real HTTP server on 127.0.0.1:
idempotent, 404 for an unknown article, a withdrawn article not replaceable, its page a
notice; and the adapter taking articles down once through every kind of fault."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import httpx
import pytest

from service.categories import portal_channels
from service.delivery.port import Delivered, Outcome, RetryLater, WithdrawJob
from service.delivery.portal import PortalAdapter, PortalConfig
from service.simulators import RunningSimulator
from service.simulators.portal import SimulatorConfig, start_in_thread
from tests.integration.test_portal_simulator import (
    Journal,
    admin_articles,
    article,
    bearer,
    publish,
    set_faults,
)


@pytest.fixture(scope="module")
def sim() -> Iterator[RunningSimulator]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running


@pytest.fixture
def client(sim: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.url, timeout=5) as http:
        http.post("/_admin/reset").raise_for_status()
        yield http


def _published(client: httpx.Client, source_id: str = "filing-1/v1") -> str:
    answer = publish(client, bearer(client), article(source_id), key=source_id)
    assert answer.status_code == 201
    return str(answer.json()["article_id"])


def _withdraw(
    client: httpx.Client, article_id: str, reason: str = "误发", key: str | None = "w-1"
) -> httpx.Response:
    headers = {**bearer(client), **({"Idempotency-Key": key} if key else {})}
    return client.post(
        f"/api/v1/articles/{article_id}/withdraw",
        json={"reason": reason, "requested_by": "compliance-1"},
        headers=headers,
    )


def test_a_withdrawn_article_shows_the_notice_and_its_reason(client: httpx.Client) -> None:
    article_id = _published(client)

    answer = _withdraw(client, article_id)

    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "withdrawn" and body["withdraw_reason"] == "误发"
    assert body["withdrawn_at"]
    page = client.get(body["url"].removeprefix(str(client.base_url).rstrip("/")))
    assert "该信息已撤回" in page.text and "误发" in page.text and "正文" not in page.text


def test_withdrawing_again_answers_the_same_with_or_without_a_key(client: httpx.Client) -> None:
    article_id = _published(client)
    first = _withdraw(client, article_id).json()

    replayed = _withdraw(client, article_id)
    again = _withdraw(client, article_id, reason="另一个原因", key=None)

    assert replayed.json() == first and replayed.headers["Idempotent-Replayed"] == "true"
    assert again.status_code == 200 and again.json()["withdraw_reason"] == "误发"
    (shown,) = admin_articles(client)
    assert shown["withdrawals"] == 1


def test_an_unknown_article_is_not_found(client: httpx.Client) -> None:
    answer = _withdraw(client, "art_nothing")
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "not_found"


def test_a_reason_over_200_characters_is_refused(client: httpx.Client) -> None:
    answer = _withdraw(client, _published(client), reason="长" * 201)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_field"


def test_a_withdrawn_article_cannot_be_replaced_and_a_new_one_can_be_published(
    client: httpx.Client,
) -> None:
    article_id = _published(client)
    _withdraw(client, article_id)
    auth = bearer(client)

    refused = publish(client, auth, article("filing-1/v2", replaces=article_id), key="k-2")
    fresh = publish(client, auth, article("filing-2/v1"), key="k-3")

    assert refused.status_code == 409 and refused.json()["error"]["code"] == "withdrawn"
    assert fresh.status_code == 201


def _until_settled(adapter: PortalAdapter, job: WithdrawJob) -> list[Outcome]:
    """What the outbox does: try again, with the journaled state, until it settles."""
    journal, outcomes = Journal(), []
    for _ in range(40):
        outcome = adapter.withdraw(dataclasses.replace(job, state=journal.state), journal)
        outcomes.append(outcome)
        if not isinstance(outcome, RetryLater):
            break
    return outcomes


def test_the_adapter_takes_each_article_down_once_through_every_kind_of_fault(
    sim: RunningSimulator, client: httpx.Client
) -> None:
    ids = [_published(client, f"filing-{n}/v1") for n in range(8)]
    set_faults(client, failure_rate=0.5, latency_ms=5, seed=20240201)
    config = PortalConfig(
        sim.url, "portal-demo", "portal-demo-secret", portal_channels(), timeout_s=5,
        quick_tries=3, backoff_initial_s=0.001, backoff_max_s=0.002,
    )  # fmt: skip
    adapter = PortalAdapter(config, sleep=lambda _: None)
    jobs = [
        WithdrawJob(
            f"dlv_{n}",
            f"fil_{n}-withdraw-portal",
            f"fil_{n}",
            "11120104MB1234567X",
            "误发",
            "compliance-1",
            ({"article_id": article_id},),
        )
        for n, article_id in enumerate(ids)
    ]

    settled = [_until_settled(adapter, job)[-1] for job in jobs]

    assert all(isinstance(o, Delivered) for o in settled), settled
    set_faults(client, failure_rate=0.0)
    articles = admin_articles(client)
    assert {a["status"] for a in articles} == {"withdrawn"}
    assert [a["withdrawals"] for a in articles] == [1] * 8
    assert sum(client.get("/_admin/stats").json()["faults"].values()) > 5
