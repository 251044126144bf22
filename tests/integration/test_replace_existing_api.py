"""A conflict at the legal platform, and the way out, end to end: the platform simulator
holds a report filed by hand for the body and year; our delivery fails as a conflict and
shows both hashes; a person decides to replace it; the worker sends our report as the
platform's latest version + 1 in a new delivery, under its own request_id; the platform
then holds ours; and a catalog rebuilt from the archive knows the decision."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container
from service.catalog.sql.connect import open_catalog
from service.delivery.legal_platform import LegalPlatformAdapter, LegalPlatformConfig
from service.simulators import RunningSimulator
from service.simulators.legal_platform import SimulatorConfig, start_in_thread
from service.usecases.recovery import rebuild_catalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.documents import docx_from_text, sample_report
from tests.support.worker import run_worker_once

OPERATOR = "operator-of-nankai-token-0001"
STRANGER = "operator-of-another-body-0002"
COMPLIANCE = "compliance-of-every-body-0003"
ADMIN = "admin-of-every-body-token-0004"
BY_HAND = "ab" * 32  # the hash of the report someone filed at the platform by hand
REASON = "平台上的报告系人工误报，以本系统报告为准"


@pytest.fixture(scope="module")
def platform() -> Iterator[RunningSimulator]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running


@pytest.fixture
def sim(platform: RunningSimulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url, timeout=10) as client:
        client.post("/_admin/reset").raise_for_status()
        yield client


@pytest.fixture
def service_settings() -> dict[str, Any]:
    return {
        "routes": {"rule_of_law_report": ["legal_platform"]},
        "tokens": [
            {"name": "op", "token": OPERATOR, "role": "operator", "orgs": [NANKAI_OFFICE]},
            {"name": "stranger", "token": STRANGER, "role": "operator", "orgs": [OTHER_BODY]},
            {"name": "auditor", "token": COMPLIANCE, "role": "compliance", "orgs": ["*"]},
            {"name": "root", "token": ADMIN, "role": "admin", "orgs": ["*"]},
        ],
    }


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _adapter(platform: RunningSimulator) -> LegalPlatformAdapter:
    config = LegalPlatformConfig(
        base_url=platform.url, app_key="legal-demo", app_secret="legal-demo-secret", quick_tries=1
    )
    return LegalPlatformAdapter(config)


def _file_by_hand(sim: httpx.Client, times: int = 1) -> dict[str, Any]:
    filed: dict[str, Any] = {}
    for _ in range(times):
        answer = sim.post(
            "/_admin/reports",
            json={
                "org_code": NANKAI_OFFICE, "org_name": "南开区合作交流办",
                "report_year": "2023", "file_sha256": BY_HAND,
            },
        )  # fmt: skip
        assert answer.status_code == 200, answer.text
        filed = answer.json()
    return filed


def _submitted(api: httpx.Client) -> str:
    answer = api.post(
        "/v1/filings",
        headers=_auth(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(sample_report(2023)))},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def _conflicted(
    api: httpx.Client, container: Container, platform: RunningSimulator, sim: httpx.Client
) -> tuple[str, dict[str, Any]]:
    """A filing whose delivery failed because the platform holds its version 2 of the
    body's 2023 report (filed by hand twice)."""
    theirs = _file_by_hand(sim, times=2)
    filing_id = _submitted(api)
    run_worker_once(container, {"legal_platform": _adapter(platform)})
    return filing_id, theirs


def _replace(api: httpx.Client, filing_id: str, token: str, reason: Any = REASON) -> httpx.Response:
    return api.post(
        f"/v1/filings/{filing_id}/deliveries/legal_platform/replace-existing",
        json={"reason": reason},
        headers=_auth(token),
    )


def _platform_reports(sim: httpx.Client) -> list[dict[str, Any]]:
    return list(sim.get("/_admin/reports").json()["reports"])


def test_a_person_replaces_the_report_filed_by_hand_and_the_platform_then_holds_ours(
    api: httpx.Client,
    container: Container,
    platform: RunningSimulator,
    sim: httpx.Client,
    tmp_path: Path,
) -> None:
    filing_id, theirs = _conflicted(api, container, platform, sim)
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    (failed,) = shown["deliveries"]
    assert (failed["status"], failed["attempt_log"][-1]["code"]) == ("failed", "conflict")
    assert failed["conflict"] == {
        "receipt_no": theirs["receipt_no"],
        "file_sha256": BY_HAND,
        "version": 2,
        "our_sha256": shown["sha256"],
    }

    first = _replace(api, filing_id, OPERATOR)
    again = _replace(api, filing_id, ADMIN, "另一个原因")

    assert first.status_code == 202, first.text
    assert again.status_code == 200, again.text
    assert again.json()["deliveries"] == first.json()["deliveries"]
    replacing = [d for d in first.json()["deliveries"] if d["action"] == "replace"]
    assert [(d["status"], d["replacing"]["platform_version"]) for d in replacing] == [
        ("pending", 3)
    ]
    assert replacing[0]["replacing"]["reason"] == REASON

    run_worker_once(container, {"legal_platform": _adapter(platform)})

    after = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert after["status"] == "published"
    sent = next(d for d in after["deliveries"] if d["action"] == "replace")
    assert sent["status"] == "delivered"
    assert sent["receipt"]["platform_version"] == 3
    latest = _platform_reports(sim)[-1]
    assert (latest["receipt_no"], latest["version"]) == (sent["receipt"]["receipt_no"], 3)
    assert latest["file_sha256"] == after["sha256"]
    # its own request_id, never the failed delivery's (the platform refuses one reused)
    assert latest["request_id"] == sent["receipt"]["request_id"]
    assert latest["request_id"] == f"{filing_id}-v1-legal_platform-replace"
    events = [
        e for e in container.catalog.audit_events(filing_id)
        if e.action == "delivery.replace_requested"
    ]  # fmt: skip
    assert [(e.actor, e.detail["reason"]) for e in events] == [("op", REASON)]
    verified = api.post(f"/v1/filings/{filing_id}/verify", headers=_auth(OPERATOR))
    assert verified.status_code == 200 and verified.json()["ok"], verified.text

    _rebuilt_knows_the_decision(container, filing_id, tmp_path)


def _rebuilt_knows_the_decision(container: Container, filing_id: str, tmp_path: Path) -> None:
    original = container.catalog.get_filing(filing_id)
    assert original is not None
    rebuilt = open_catalog(f"sqlite:///{tmp_path / 'rebuilt.db'}", clock=container.clock)
    try:
        report = rebuild_catalog(
            rebuilt.restore, container.store, container.packages, now=container.clock()
        )
        assert report.ok, report.to_dict()
        found = rebuilt.catalog.get_filing(filing_id)
        assert found is not None
        assert [v.status for v in found.versions] == ["published"]
        restored = sorted((d.action, d.status, d.idempotency_key) for d in found.deliveries)
        assert restored == sorted(
            (d.action, d.status, d.idempotency_key) for d in original.deliveries
        )
        replaced = next(d for d in found.deliveries if d.action == "replace")
        assert replaced.state["replacing"]["reason"] == REASON
        assert replaced.receipt == next(
            d.receipt for d in original.deliveries if d.action == "replace"
        )
    finally:
        rebuilt.engine.dispose()


def test_only_the_bodys_operator_or_an_admin_and_only_after_a_conflict(
    api: httpx.Client, container: Container, platform: RunningSimulator, sim: httpx.Client
) -> None:
    filing_id, _ = _conflicted(api, container, platform, sim)

    assert _replace(api, filing_id, COMPLIANCE).status_code == 403
    assert _replace(api, filing_id, STRANGER).status_code == 404
    assert _replace(api, filing_id, OPERATOR, "").status_code == 400
    assert _replace(api, filing_id, OPERATOR, "因" * 201).status_code == 400
    shown = api.get(f"/v1/filings/{filing_id}", headers=_auth(OPERATOR)).json()
    assert [d["action"] for d in shown["deliveries"]] == ["publish"]

    sim.post("/_admin/reset").raise_for_status()  # now nothing stands in its way
    fresh = _submitted_other_period(api)
    run_worker_once(container, {"legal_platform": _adapter(platform)})
    refused = _replace(api, fresh, ADMIN)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "no_conflict"


def _submitted_other_period(api: httpx.Client) -> str:
    answer = api.post(
        "/v1/filings",
        headers=_auth(OPERATOR),
        data={"metadata": json.dumps(sample_metadata(period="2022"), ensure_ascii=False)},
        files={"file": ("报告.docx", docx_from_text(sample_report(2022)))},
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])
