"""A conflict at the legal platform on the filing's page: the platform's report beside ours,
and the body's operator replacing it with a reason (JavaScript off, as everywhere)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from service.bootstrap import build_container
from service.delivery.legal_platform import LegalPlatformAdapter, LegalPlatformConfig
from service.entrypoints.api.app import create_app
from service.settings import Settings
from service.simulators.legal_platform import SimulatorConfig, start_in_thread
from tests.browser.conftest import (
    COMPLIANCE,
    IDLE_S,
    OPERATOR,
    OTHER,
    TOKENS,
    Served,
    screenshot,
    sign_in,
)
from tests.browser.test_access import _sign_in
from tests.support.bodies import NANKAI_OFFICE, sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import docx_from_text, sample_report
from tests.support.servers import app_in_thread
from tests.support.worker import run_worker_once

BY_HAND = "ab" * 32
REASON = "平台上的报告系人工误报"


@pytest.fixture(scope="module")
def platform_url() -> Iterator[str]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running.url


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, platform_url: str) -> Iterator[Served]:
    """The service with the office's 2023 report refused by the platform, which holds one
    filed by hand for the office and year."""
    tmp = tmp_path_factory.mktemp("conflict")
    settings = Settings.model_validate(
        {
            "data_dir": tmp / "var",
            "orgs_file": write_registry(tmp),
            "tokens": TOKENS,
            "session_idle_s": IDLE_S,
            "routes": {"rule_of_law_report": ["legal_platform"]},
        }
    )
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    try:
        with app_in_thread(create_app(container.api(), container.pages())) as url:
            filing_id = _conflicted(url, platform_url)
            served = Served(url, container, clock, {"report": filing_id})
            run_worker_once(container, {"legal_platform": _adapter(platform_url)})
            yield served
    finally:
        container.close()


def _adapter(platform_url: str) -> LegalPlatformAdapter:
    config = LegalPlatformConfig(
        base_url=platform_url, app_key="legal-demo", app_secret="legal-demo-secret", quick_tries=1
    )
    return LegalPlatformAdapter(config)


def _conflicted(url: str, platform_url: str) -> str:
    filed: dict[str, Any] = {
        "org_code": NANKAI_OFFICE, "org_name": "南开区合作交流办",
        "report_year": "2023", "file_sha256": BY_HAND,
    }  # fmt: skip
    httpx.post(f"{platform_url}/_admin/reports", json=filed).raise_for_status()
    response = httpx.post(
        f"{url}/v1/filings",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": ("report.docx", docx_from_text(sample_report()))},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_compliance_staff_see_the_conflict_but_no_way_to_replace(
    page: Page, served: Served
) -> None:
    sign_in(page, served, COMPLIANCE)
    page.goto(f"/filings/{served.seeded['report']}")

    expect(page.get_by_text("平台已有报告：回执号")).to_contain_text(BY_HAND)
    expect(page.get_by_role("button", name="以本报告替换平台已有报告")).to_have_count(0)


@pytest.mark.parametrize(
    ("token", "form", "expected"),
    [
        (COMPLIANCE, {"reason": REASON}, 403),
        (OTHER, {"reason": REASON}, 404),
        (OPERATOR, {"reason": "  "}, 400),
        (OPERATOR, {"reason": REASON, "csrf_token": "forged"}, 403),
    ],
    ids=["compliance", "other_body", "no_reason", "no_csrf"],
)
def test_the_form_is_refused_as_the_api_refuses(
    served: Served, token: str, form: dict[str, str], expected: int
) -> None:
    client, csrf = _sign_in(served, token)
    try:
        path = f"/filings/{served.seeded['report']}/replace-existing"
        answer = client.post(path, data={"csrf_token": csrf, **form})
    finally:
        client.close()

    assert answer.status_code == expected, answer.text[-300:]
    if "csrf_token" not in form:  # the API's answer to the same token and reason
        same = httpx.post(
            f"{served.url}/v1/filings/{served.seeded['report']}/deliveries/legal_platform/"
            "replace-existing",
            json={"reason": form["reason"]},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert same.status_code == expected, same.text
    filing = served.container.catalog.get_filing(served.seeded["report"])
    assert filing is not None and [d.action for d in filing.deliveries] == ["publish"]


def test_the_operator_replaces_the_platforms_report_with_a_reason(
    page: Page, served: Served, platform_url: str
) -> None:
    filing_id = served.seeded["report"]
    sign_in(page, served, OPERATOR)
    page.goto(f"/filings/{filing_id}")
    conflict = page.get_by_text("平台已有报告：回执号")
    expect(conflict).to_contain_text(f"文件哈希 {BY_HAND}（平台版本 1）")
    ours = served.container.catalog.get_filing(filing_id).versions[-1].sha256  # type: ignore[union-attr]
    expect(page.get_by_text("本报告文件哈希")).to_contain_text(ours)
    screenshot(page, "conflict")

    page.get_by_label("替换原因（1–200 字）").fill(REASON)
    page.get_by_role("button", name="以本报告替换平台已有报告").click()

    page.wait_for_url(f"**/filings/{filing_id}")
    expect(page.get_by_text("替换平台已有报告：回执号")).to_contain_text(REASON)
    expect(page.get_by_text("以平台版本 2 报送")).to_be_visible()
    expect(page.get_by_role("button", name="以本报告替换平台已有报告")).to_have_count(0)
    screenshot(page, "conflict-replacing")
    run_worker_once(served.container, {"legal_platform": _adapter(platform_url)})
    reports = httpx.get(f"{platform_url}/_admin/reports").json()["reports"]
    assert [(r["version"], r["file_sha256"]) for r in reports] == [(1, BY_HAND), (2, ours)]
