"""Withdrawing a filing through the API (撤回): who may, what the filing then shows, what
the archive keeps, the takedown through the outbox, the key set free, and a catalog
rebuilt from the archive that knows of it all."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.catalog.sql.connect import open_catalog
from service.delivery.port import Delivered, DeliveryJob, Failed, Journal, Outcome, WithdrawJob
from service.domain.destinations import Capability
from service.usecases.recovery import rebuild_catalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.documents import docx_from_text, sample_report
from tests.support.worker import run_worker_once

OPERATOR = "operator-of-nankai-token-0001"
STRANGER = "operator-of-another-body-0002"
COMPLIANCE = "compliance-of-every-body-0003"
ADMIN = "admin-of-every-body-token-0004"


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "routes": {"rule_of_law_report": ["portal", "legal_platform"]},
        "tokens": [
            {"name": "op", "token": OPERATOR, "role": "operator", "orgs": [NANKAI_OFFICE]},
            {"name": "stranger", "token": STRANGER, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": COMPLIANCE, "role": "compliance", "orgs": ["*"]},
            {"name": "root", "token": ADMIN, "role": "admin", "orgs": ["*"]},
        ],
    }


@dataclass
class Destination:
    """A destination that publishes at once and, given WITHDRAW, takes articles down."""

    destination: str
    capabilities: frozenset[Capability] = frozenset({Capability.PARAGRAPHS})
    withdrawn: list[WithdrawJob] = field(default_factory=list)

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        return Delivered({"article_id": f"art_{job.filing_id}_v{job.version}"}, 201)

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome:
        self.withdrawn.append(job)
        articles = [{"article_id": r["article_id"], "status": "withdrawn"} for r in job.published]
        return Delivered({"status": "withdrawn", "articles": articles}, 200)


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _submit(
    api: httpx.Client, mark: str = "", path: str = "/v1/filings", **metadata: Any
) -> httpx.Response:
    return api.post(
        path,
        headers=_auth(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(**metadata), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(sample_report(2023, mark)))},
    )


def _withdraw(api: httpx.Client, filing_id: str, reason: Any, token: str) -> httpx.Response:
    return api.post(
        f"/v1/filings/{filing_id}/withdraw", json={"reason": reason}, headers=_auth(token)
    )


def _published(api: httpx.Client, container: Container) -> tuple[str, Destination]:
    submitted = _submit(api)
    assert submitted.status_code == 201, submitted.text
    portal = Destination("portal", frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW}))
    run_worker_once(
        container, {"portal": portal, "legal_platform": Destination("legal_platform")}, 2
    )
    filing_id = str(submitted.json()["id"])
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert {d["status"] for d in shown["deliveries"]} == {"delivered"}
    return filing_id, portal


def test_a_withdrawn_filing_shows_why_by_whom_and_where_it_stands(
    api: httpx.Client, container: Container
) -> None:
    filing_id, _ = _published(api, container)

    answer = _withdraw(api, filing_id, "数据有误，撤回", COMPLIANCE)

    assert answer.status_code == 202, answer.text
    shown = answer.json()
    assert shown["status"] == "withdrawn"
    assert shown["withdrawal"]["reason"] == "数据有误，撤回"
    assert shown["withdrawal"]["by"] == "auditor"
    assert shown["withdrawal"]["destinations"] == {
        "legal_platform": "manual",
        "portal": "withdrawing",
    }
    read = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert read["withdrawal"] == shown["withdrawal"] and read["status"] == "withdrawn"
    events = [
        e for e in container.catalog.audit_events(filing_id) if e.action == "filing.withdrawn"
    ]
    assert [(e.actor, e.detail["reason"]) for e in events] == [("auditor", "数据有误，撤回")]


def test_a_repeat_answers_200_with_the_first_reason(
    api: httpx.Client, container: Container
) -> None:
    filing_id, _ = _published(api, container)
    first = _withdraw(api, filing_id, "第一次的原因", OPERATOR)

    again = _withdraw(api, filing_id, "另一个原因", ADMIN)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["withdrawal"] == first.json()["withdrawal"]
    assert again.json()["withdrawal"]["reason"] == "第一次的原因"


def test_nothing_archived_is_removed_and_the_record_is_archived_beside_the_package(
    api: httpx.Client, container: Container
) -> None:
    filing_id, _ = _published(api, container)
    prefix = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()["versions"][0][
        "package"
    ]
    before = set(container.store.list(prefix))

    _withdraw(api, filing_id, "误发", OPERATOR)

    after = set(container.store.list(prefix))
    assert before < after
    assert after - before == {f"{prefix}receipts/withdrawal-000001.json"}
    record = container.packages.read_receipt(
        container.packages.existing_receipt(prefix, "withdrawal")
    )
    assert (record["reason"], record["by"], record["filing_id"]) == ("误发", "op", filing_id)
    assert record["request_id"]
    package = api.get(f"/v1/filings/{filing_id}/package", headers=_auth(COMPLIANCE))
    assert package.status_code == 200
    verified = api.post(f"/v1/filings/{filing_id}/verify", headers=_auth(COMPLIANCE))
    assert verified.json()["ok"] is True


@pytest.mark.parametrize(
    ("token", "status"), [(OPERATOR, 202), (COMPLIANCE, 202), (ADMIN, 202), (STRANGER, 404)]
)
def test_the_body_s_operator_compliance_and_admins_may_withdraw_nobody_else(
    api: httpx.Client, container: Container, token: str, status: int
) -> None:
    filing_id, _ = _published(api, container)
    answer = _withdraw(api, filing_id, "误发", token)
    assert answer.status_code == status, answer.text
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert (shown["withdrawal"] is not None) == (status == 202)


def test_an_unknown_filing_is_not_found(api: httpx.Client) -> None:
    answer = _withdraw(api, "fil_nothing", "误发", ADMIN)
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "filing_not_found"


@pytest.mark.parametrize(
    ("reason", "status"),
    [("", 400), ("   ", 400), ("长" * 201, 400), (None, 400), ("长" * 200, 202), ("撤", 202)],
)
def test_a_reason_is_1_to_200_characters(
    api: httpx.Client, container: Container, reason: Any, status: int
) -> None:
    filing_id, _ = _published(api, container)
    answer = _withdraw(api, filing_id, reason, OPERATOR)
    assert answer.status_code == status, answer.text
    if status == 400:
        assert answer.json()["error"]["code"] == "invalid_request"


def test_an_undelivered_filing_is_cancelled_everywhere_and_sent_nowhere(
    api: httpx.Client, container: Container
) -> None:
    filing_id = str(_submit(api).json()["id"])

    shown = _withdraw(api, filing_id, "误发", OPERATOR).json()

    assert shown["withdrawal"]["destinations"] == {
        "legal_platform": "cancelled",
        "portal": "cancelled",
    }
    assert {d["status"] for d in shown["deliveries"]} == {"cancelled"}
    portal = Destination("portal", frozenset({Capability.WITHDRAW}))
    run_worker_once(container, {"portal": portal, "legal_platform": Destination("legal_platform")})
    assert portal.withdrawn == []


def test_the_takedown_goes_through_the_outbox_and_its_receipt_is_archived(
    api: httpx.Client, container: Container
) -> None:
    filing_id, portal = _published(api, container)
    _withdraw(api, filing_id, "误发", OPERATOR)

    run_worker_once(container, {"portal": portal, "legal_platform": Destination("legal_platform")})

    (job,) = portal.withdrawn
    assert (job.reason, job.requested_by) == ("误发", "op")
    assert [r["article_id"] for r in job.published] == [f"art_{filing_id}_v1"]
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert shown["withdrawal"]["destinations"]["portal"] == "withdrawn"
    (takedown,) = [d for d in shown["deliveries"] if d["action"] == "withdraw"]
    assert takedown["status"] == "delivered" and takedown["receipt"]["status"] == "withdrawn"
    prefix = shown["versions"][0]["package"]
    assert f"{prefix}receipts/portal_withdrawal-000001.json" in container.packages.list_receipts(
        prefix
    )
    assert api.post(f"/v1/filings/{filing_id}/verify", headers=_auth(OPERATOR)).json()["ok"]
    run_worker_once(container, {"portal": portal, "legal_platform": Destination("legal_platform")})
    assert len(portal.withdrawn) == 1


@dataclass
class FailsAfterPublishing(Destination):
    """Publishes, journals the article, then fails for good at a later step."""

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        journal.save({"article_id": f"art_{job.filing_id}_v{job.version}"})
        return Failed("later_step", "a step after publishing failed for good")


def test_a_takedown_is_told_what_a_delivery_that_failed_afterwards_published(
    api: httpx.Client, container: Container
) -> None:
    submitted = _submit(api)
    filing_id = str(submitted.json()["id"])
    portal = FailsAfterPublishing("portal", frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW}))
    adapters = {"portal": portal, "legal_platform": Destination("legal_platform")}
    run_worker_once(container, adapters, 2)
    _withdraw(api, filing_id, "误发", OPERATOR)

    run_worker_once(container, adapters)

    (job,) = portal.withdrawn
    assert job.published == ()  # no receipt names it
    assert [j["article_id"] for j in job.failed_journals] == [f"art_{filing_id}_v1"]


def test_a_withdrawn_filing_cannot_be_corrected_and_its_key_takes_a_new_filing(
    api: httpx.Client, container: Container
) -> None:
    filing_id, _ = _published(api, container)
    _withdraw(api, filing_id, "误发", OPERATOR)

    correction = _submit(api, "更正", path=f"/v1/filings/{filing_id}/versions", reason="更正数据")
    fresh = _submit(api)  # the same report again: the withdrawn one holds neither key nor bytes

    assert correction.status_code == 409, correction.text
    assert correction.json()["error"]["code"] == "filing_withdrawn"
    assert fresh.status_code == 201, fresh.text
    assert fresh.json()["id"] != filing_id


def test_a_catalog_rebuilt_from_the_archive_knows_the_withdrawal(
    api: httpx.Client, container: Container, tmp_path: Path
) -> None:
    filing_id, portal = _published(api, container)
    _withdraw(api, filing_id, "误发", COMPLIANCE)
    run_worker_once(container, {"portal": portal, "legal_platform": Destination("legal_platform")})
    original = container.catalog.get_filing(filing_id)
    assert original is not None and original.withdrawal is not None

    rebuilt = open_catalog(f"sqlite:///{tmp_path / 'rebuilt.db'}", clock=container.clock)
    try:
        report = rebuild_catalog(
            rebuilt.restore, container.store, container.packages, now=container.clock(),
            takedown=("portal",),
        )  # fmt: skip
        assert report.ok, report.to_dict()
        found = rebuilt.catalog.get_filing(filing_id)
        assert found is not None
        assert found.withdrawal == original.withdrawal
        assert [v.status for v in found.versions] == ["withdrawn"]
        assert sorted((d.destination, d.action, d.status) for d in found.deliveries) == [
            ("legal_platform", "publish", "delivered"),
            ("portal", "publish", "delivered"),
            ("portal", "withdraw", "delivered"),
        ]
        keys = rebuilt.restore.recorded_receipt_keys()
        assert original.withdrawal.record_key in keys
    finally:
        rebuilt.engine.dispose()
