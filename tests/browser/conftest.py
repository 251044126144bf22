"""The pages in headless Chromium: Debian's `chromium` (installed by `make test`, never
downloaded by Playwright) against the whole service served by uvicorn on 127.0.0.1, on
its embedded defaults and a clock the tests move. One service for the module (a
container takes seconds to build); each test its own browser context, so its own cookies.

Without /usr/bin/chromium the tests fail, never skip: CI must run them."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from service.bootstrap import Container, build_container
from service.delivery.port import Delivered
from service.entrypoints.api.app import create_app
from service.settings import Settings
from tests.fakes import ScriptedPortal
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata, write_registry
from tests.support.clock import FakeClock
from tests.support.documents import docx_from_text, livelihood_notice, sample_report
from tests.support.servers import app_in_thread
from tests.support.worker import run_worker_once

CHROMIUM = Path(os.environ.get("DISCLOSURE_TEST_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
IDLE_S = 600.0
RECEIPT = {"article_id": "A-20240112-0001", "url": "https://portal.example.gov.cn/a/1"}
CORRECTION_REASON = "更正报名时间的表述"

OPERATOR = "operator-token-for-the-office-0001"  # 南开区合作交流办 only
OTHER = "operator-token-for-the-other-body-01"  # 南开区司法局 only
COMPLIANCE = "compliance-token-for-every-body-01"
ADMIN = "admin-token-for-every-body-000001"
TOKENS = [
    {"name": "office-operator", "token": OPERATOR, "role": "operator", "orgs": [NANKAI_OFFICE]},
    {"name": "other-operator", "token": OTHER, "role": "operator", "orgs": [OTHER_BODY]},
    {"name": "auditor", "token": COMPLIANCE, "role": "compliance", "orgs": ["*"]},
    {"name": "admin", "token": ADMIN, "role": "admin", "orgs": ["*"]},
]


@dataclass(frozen=True)
class Served:
    url: str
    container: Container
    clock: FakeClock
    seeded: dict[str, str]  # what the module filed before the tests: name → filing id


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("pages")
    settings = Settings.model_validate(
        {
            "data_dir": tmp / "var",
            "orgs_file": write_registry(tmp),
            "tokens": TOKENS,
            "session_idle_s": IDLE_S,
            "routes": {"rule_of_law_report": ["portal"], "livelihood": ["portal"]},
        }
    )
    clock = FakeClock()
    container = build_container(settings, clock=clock)
    try:
        with app_in_thread(create_app(container.api(), container.pages())) as url:
            yield Served(url, container, clock, _seed(url, container))
    finally:
        container.close()


def _seed(url: str, container: Container) -> dict[str, str]:
    """Through the API (the pages must show what the API filed): a rule-of-law report of
    the office and a livelihood item of the other body, both delivered to the portal
    (a scripted one), then the item corrected with a reason."""
    report = sample_metadata()
    notice = sample_metadata(
        category="livelihood",
        org_code=OTHER_BODY,
        org_name="南开区司法局",
        period="2024-01-05",
        livelihood={"field": "教育"},
    )
    day = date(2024, 1, 5)
    seeded = {
        "report": _submit(url, OPERATOR, report, "report.docx", docx_from_text(sample_report())),
        "notice": _submit(url, OTHER, notice, "notice.txt", livelihood_notice(day).encode()),
    }
    published = [Delivered(RECEIPT, http_status=201), Delivered(RECEIPT, http_status=201)]
    portal = ScriptedPortal(published)
    run_worker_once(container, {"portal": portal}, concurrency=2)
    assert not portal.outcomes, "both deliveries were tried"
    corrected = {**notice, "reason": CORRECTION_REASON}
    content = livelihood_notice(day, lines=4).encode()
    _submit(url, OTHER, corrected, "notice.txt", content, f"/{seeded['notice']}/versions")
    return seeded


def _submit(
    url: str, token: str, metadata: dict[str, Any], name: str, content: bytes, then: str = ""
) -> str:
    response = httpx.post(
        f"{url}/v1/filings{then}",
        headers={"Authorization": f"Bearer {token}"},
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": (name, content)},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, served: Served) -> Iterator[Page]:
    # JavaScript off: the pages must work without it (government desktops often block it).
    context = browser.new_context(
        base_url=served.url, accept_downloads=True, locale="zh-CN", java_script_enabled=False
    )
    context.set_default_timeout(15_000)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page: Page, name: str) -> Path:
    """Saved with the test output; the path is printed (pytest -s, or the captured output)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def sign_in(page: Page, served: Served, token: str) -> None:
    """Sign in as a person would. A minute passes first, so that an earlier test's failed
    attempts (all come from 127.0.0.1) do not hold this one back."""
    served.clock.advance(61)
    page.goto("/")
    page.get_by_label("访问令牌").fill(token)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/filings")
