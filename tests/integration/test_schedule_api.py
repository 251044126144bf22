"""Moving or holding a scheduled release through the API: who may, what moves, the hold
that keeps deliveries from the worker, what can no longer move, and a catalog rebuilt from
the archive that keeps the decision."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.catalog.sql.connect import open_catalog
from service.delivery.port import Delivered
from service.domain.schedule import DECISION_KIND
from service.usecases.recovery import rebuild_catalog
from tests.fakes import ScriptedPortal
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.clock import FakeClock
from tests.support.documents import docx_from_text, sample_report
from tests.support.worker import run_worker_once

OPERATOR = "operator-of-nankai-token-0011"
STRANGER = "operator-of-another-body-0012"
COMPLIANCE = "compliance-of-every-body-0013"
ADMIN = "admin-of-every-body-token-0014"
FIRST = "2024-02-01T09:00:00+08:00"  # the container's clock stands at 2024-01-12
LATER = "2024-03-01T09:00:00+08:00"


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "routes": {"rule_of_law_report": ["portal"]},
        "tokens": [
            {"name": "op", "token": OPERATOR, "role": "operator", "orgs": [NANKAI_OFFICE]},
            {"name": "stranger", "token": STRANGER, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": COMPLIANCE, "role": "compliance", "orgs": ["*"]},
            {"name": "root", "token": ADMIN, "role": "admin", "orgs": ["*"]},
        ],
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _scheduled(api: httpx.Client, publish_at: str | None = FIRST) -> str:
    response = api.post(
        "/v1/filings",
        headers=_auth(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(publish_at=publish_at), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(sample_report(2023)))},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _patch(api: httpx.Client, filing_id: str, body: Any, token: str = OPERATOR) -> httpx.Response:
    return api.patch(f"/v1/filings/{filing_id}/schedule", json=body, headers=_auth(token))


def _clock(container: Container) -> FakeClock:
    clock = container.clock
    assert isinstance(clock, FakeClock)
    return clock


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_a_release_moves_to_a_later_time_and_the_decision_is_archived(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _scheduled(api)

    answer = _patch(api, filing_id, {"publish_at": LATER})

    assert answer.status_code == 200, answer.text
    shown = answer.json()
    assert _at(shown["versions"][0]["publish_at"]) == _at(LATER)
    (delivery,) = shown["deliveries"]
    assert delivery["status"] == "pending" and _at(delivery["next_attempt_at"]) == _at(LATER)
    events = [
        e for e in container.catalog.audit_events(filing_id) if e.action.startswith("release")
    ]
    assert [(e.action, e.actor) for e in events] == [("release.scheduled", "op")]
    prefix = shown["versions"][0]["package"]
    stored = container.packages.latest_decision(prefix, DECISION_KIND)
    assert stored is not None
    decision = container.packages.read_receipt(stored)
    assert _at(decision["publish_at"]) == _at(LATER) and decision["by"] == "op"


def test_a_held_release_is_not_delivered_until_a_time_is_given(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _scheduled(api)
    held = _patch(api, filing_id, {"publish_at": None}).json()
    assert [d["status"] for d in held["deliveries"]] == ["held"]
    assert held["versions"][0]["publish_at"] is None
    portal = ScriptedPortal([Delivered({"article_id": "art_1"}, 201)])
    _clock(container).advance(90 * 86400)  # long past the first time

    run_worker_once(container, {"portal": portal})
    assert portal.jobs == []

    when = "2024-04-20T09:00:00+08:00"  # the clock now stands at 2024-04-11
    moved = _patch(api, filing_id, {"publish_at": when}).json()
    assert [d["status"] for d in moved["deliveries"]] == ["pending"]
    _clock(container).advance(10 * 86400)
    run_worker_once(container, {"portal": portal})
    (job,) = portal.jobs
    assert job.publish_at == _at(when)
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert shown["deliveries"][0]["status"] == "delivered"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"publish_at": "2024-01-01T09:00:00+08:00"}, 422, "publish_at_in_past"),
        ({"publish_at": "2024-03-01T09:00:00"}, 400, "invalid_request"),  # no offset
        ({}, 400, "invalid_request"),
        ({"publish_at": LATER, "extra": 1}, 400, "invalid_request"),
    ],
)
def test_a_time_must_be_in_the_future_with_an_offset(
    api: httpx.Client, body: dict[str, Any], status: int, code: str
) -> None:
    filing_id = _scheduled(api)
    answer = _patch(api, filing_id, body)
    assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)


def test_once_a_delivery_was_attempted_the_release_can_no_longer_move(
    api: httpx.Client, container: Container
) -> None:
    filing_id = _scheduled(api, publish_at=None)  # due at once
    run_worker_once(container, {"portal": ScriptedPortal([Delivered({"article_id": "a"}, 201)])})

    answer = _patch(api, filing_id, {"publish_at": LATER})

    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "release_already_attempted"
    assert _patch(api, filing_id, {"publish_at": None}).status_code == 409


@pytest.mark.parametrize(
    ("token", "status"), [(OPERATOR, 200), (ADMIN, 200), (COMPLIANCE, 403), (STRANGER, 404)]
)
def test_the_body_s_operator_and_admins_may_move_a_release(
    api: httpx.Client, token: str, status: int
) -> None:
    filing_id = _scheduled(api)
    assert _patch(api, filing_id, {"publish_at": LATER}, token).status_code == status
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    moved = _at(shown["versions"][0]["publish_at"]) == _at(LATER)
    assert moved == (status == 200)


def test_a_withdrawn_filing_has_no_release_to_move(api: httpx.Client) -> None:
    filing_id = _scheduled(api)
    withdrawn = api.post(
        f"/v1/filings/{filing_id}/withdraw", json={"reason": "误发"}, headers=_auth(OPERATOR)
    )
    assert withdrawn.status_code == 202
    answer = _patch(api, filing_id, {"publish_at": LATER})
    assert (answer.status_code, answer.json()["error"]["code"]) == (409, "filing_withdrawn")


@pytest.mark.parametrize("decided", [None, LATER])
def test_a_catalog_rebuilt_from_the_archive_keeps_the_last_decision(
    api: httpx.Client, container: Container, tmp_path: Path, decided: str | None
) -> None:
    filing_id = _scheduled(api)
    _patch(api, filing_id, {"publish_at": None})
    _clock(container).advance(1)
    _patch(api, filing_id, {"publish_at": decided})

    rebuilt = open_catalog(f"sqlite:///{tmp_path / 'rebuilt.db'}", clock=container.clock)
    try:
        report = rebuild_catalog(
            rebuilt.restore, container.store, container.packages, now=container.clock()
        )
        assert report.ok, report.to_dict()
        found = rebuilt.catalog.get_filing(filing_id)
        assert found is not None
        (delivery,) = found.deliveries
        if decided is None:
            assert found.versions[0].publish_at is None and delivery.status == "held"
        else:
            assert found.versions[0].publish_at == _at(decided)
            assert delivery.status == "pending" and delivery.next_attempt_at == _at(decided)
    finally:
        rebuilt.engine.dispose()


def test_two_changes_at_the_same_moment_are_both_kept_and_the_second_is_in_force(
    api: httpx.Client, container: Container, tmp_path: Path
) -> None:
    filing_id = _scheduled(api)
    assert _patch(api, filing_id, {"publish_at": None}).status_code == 200
    assert _patch(api, filing_id, {"publish_at": LATER}).status_code == 200  # same clock time

    rebuilt = open_catalog(f"sqlite:///{tmp_path / 'rebuilt.db'}", clock=container.clock)
    try:
        report = rebuild_catalog(
            rebuilt.restore, container.store, container.packages, now=container.clock()
        )
        assert report.ok, report.to_dict()
        found = rebuilt.catalog.get_filing(filing_id)
        assert found is not None and found.versions[0].publish_at == _at(LATER)
    finally:
        rebuilt.engine.dispose()
