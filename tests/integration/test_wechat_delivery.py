"""Issue 14's checks against the WeChat simulator as a real HTTP server on 127.0.0.1, with
the whole service in process (its API over HTTP, catalog, archive, worker) and the
portal simulator the registry starts: a filing routed to portal + WeChat is published
once on each, the article linking to the portal's; a lost submit answer never publishes
twice (check 2); the daily quota moves the delivery to the next day by injected clocks
and never spins, 40164 fails at once with a reason an operator reads (check 3); publish
jobs that end in failure fail the delivery once, shown and notified (check 1's terminal
outcomes). The same under 30 % faults with whole processes: tests/e2e/test_wechat_faults.py.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.bootstrap import Container, build_adapters, build_container, build_worker
from service.bootstrap import destinations as destination_urls
from service.delivery.port import DestinationAdapter
from service.delivery.wechat import WeChatAccount, WeChatAdapter, WeChatConfig
from service.delivery.worker import Worker
from service.domain.filing import Category, Destination
from service.domain.time import SHANGHAI
from service.entrypoints.api.app import create_app
from service.settings import Settings
from service.simulators.wechat import SimulatorConfig, start_in_thread
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, REGISTRY_YAML, sample_metadata
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import app_in_thread

DEMO = "demo-wechat-delivery-token"
AUTH = {"Authorization": f"Bearer {DEMO}"}
APPID, SECRET = "wx1111222233334444", "wx-secret-of-nankai-office"
WECHAT = Destination("wechat")
# 22:30 in Shanghai: the next day begins 90 minutes later
LATE = datetime(2024, 1, 12, 22, 30, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def sim() -> Iterator[Any]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig(accounts={APPID: SECRET})) as running:
        yield running


@pytest.fixture
def admin(sim: Any) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sim.admin, timeout=10) as client:
        yield client


def _registry(tmp_path: Path) -> Path:
    """Nankai's office has an account; the other body has none."""
    account = (
        f"    accounts:\n      wechat: {{appid: {APPID}, secret_env: NANKAI_WX_SECRET}}\n"
        "    contacts:\n      - {name: 张三, email: zhangsan@nankai.example.gov.cn}\n"
    )
    text = REGISTRY_YAML.replace("    level: department\n", "    level: department\n" + account, 1)
    path = tmp_path / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def container(sim: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Container]:
    monkeypatch.setenv("NANKAI_WX_SECRET", SECRET)
    settings = Settings(
        data_dir=tmp_path / "var",
        orgs_file=_registry(tmp_path),
        demo_token=DEMO,
        routes={Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]},
        wechat_url=sim.url,
        prerequisite_wait_s=0.05,
        retry_schedule_s=[0.05],
        quick_tries=2,
        backoff_initial_s=0.01,
        backoff_max_s=0.02,
        compliance_email="compliance@example.gov.cn",
        smtp_host="127.0.0.1",
        capture_enabled=False,
    )
    built = build_container(settings)
    yield built
    built.close()


@pytest.fixture
def adapters(container: Container) -> Iterator[dict[str, DestinationAdapter]]:
    with destination_urls(container.settings) as found:
        assert found.simulated == [Destination.PORTAL]  # WeChat's URL is the simulator's
        yield build_adapters(container, found.urls)


@pytest.fixture
def api(container: Container) -> Iterator[httpx.Client]:
    with (
        app_in_thread(create_app(container.api())) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def _submit(api: httpx.Client, org_code: str = NANKAI_OFFICE, period: str = "2023") -> str:
    name = "南开区合作交流办" if org_code == NANKAI_OFFICE else "南开区司法局"
    metadata = sample_metadata(period=period) | {"org_code": org_code, "org_name": name}
    text = SAMPLE_PATH.read_text("utf-8").replace("2023", period)
    response = api.post(
        "/v1/filings",
        headers=AUTH,
        data={"metadata": json.dumps(metadata, ensure_ascii=False)},
        files={"file": ("report.docx", docx_from_text(text))},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _filing(api: httpx.Client, filing_id: str) -> dict[str, Any]:
    return dict(api.get(f"/v1/filings/{filing_id}", headers=AUTH).json())


def _settle(worker: Worker, api: httpx.Client, filing_id: str, rounds: int = 200) -> dict[str, Any]:
    for _ in range(rounds):  # bounded: rounds × at most 0.05 s besides the work
        worker.run_once()
        filing = _filing(api, filing_id)
        if all(d["status"] not in ("pending", "held") for d in filing["deliveries"]):
            return filing
        time.sleep(0.05)
    raise AssertionError(f"not settled: {_filing(api, filing_id)['deliveries']}")


def _wechat(filing: dict[str, Any]) -> dict[str, Any]:
    [delivery] = [d for d in filing["deliveries"] if d["destination"] == "wechat"]
    return dict(delivery)


def _publications(admin: httpx.Client) -> list[dict[str, Any]]:
    return list(admin.get("/publications").json()["publications"])


def _notices(container: Container, kind: str) -> list[Any]:
    return [n for n in container.catalog.notifications() if n.kind == kind]


# -- check 1: once on each, linked -----------------------------------------------------------


def test_a_filing_is_published_once_on_the_portal_and_once_on_wechat_linking_to_it(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client,
) -> None:  # fmt: skip
    filing_id = _submit(api)
    filing = _settle(build_worker(container, adapters), api, filing_id)

    assert filing["versions"][0]["status"] == "published"
    portal = next(d for d in filing["deliveries"] if d["destination"] == "portal")
    wechat = _wechat(filing)
    assert wechat["status"] == "delivered" and wechat["attempt_log"]
    [publication] = _publications(admin)
    assert publication["content_source_url"] == portal["receipt"]["url"]
    assert wechat["receipt"]["article_id"] == publication["article_id"]
    assert wechat["receipt"]["article_url"] == publication["article_url"]
    assert wechat["receipt"]["publish_id"] == publication["publish_id"]
    assert wechat["receipt"]["media_id"] == publication["draft_media_id"]
    assert publication["digest"].endswith(f"编号 {filing_id}-v1")
    assert "<p>" in publication["content"] and len(publication["title"]) <= 32
    assert httpx.get(publication["article_url"]).status_code == 200
    metrics = api.get("/metrics").text  # counted like the others
    assert 'disclosure_delivery_attempts_total{destination="wechat",outcome="delivered"}' in metrics


def test_a_body_without_an_account_skips_wechat_shown_as_not_enabled(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client,
) -> None:  # fmt: skip
    filing_id = _submit(api, OTHER_BODY)
    filing = _settle(build_worker(container, adapters), api, filing_id)

    assert filing["versions"][0]["status"] == "published"
    assert _wechat(filing)["status"] == "not_enabled"
    assert _wechat(filing)["attempts"] == 0
    assert _publications(admin) == []
    page = _page(api, filing_id)
    assert "未开通" in page and "微信公众号" in page


def _page(api: httpx.Client, filing_id: str) -> str:
    """The filing's page, signed in with the demo token."""
    form = api.get("/sign-in").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert csrf is not None
    api.post("/sign-in", data={"token": DEMO, "csrf_token": csrf.group(1)})
    page = api.get(f"/filings/{filing_id}")
    assert page.status_code == 200, page.text
    return page.text


def test_the_filings_page_shows_the_wechat_delivery_its_attempts_and_article_url(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client,
) -> None:  # fmt: skip
    filing_id = _submit(api)
    _settle(build_worker(container, adapters), api, filing_id)
    [publication] = _publications(admin)

    page = _page(api, filing_id)

    assert "微信公众号" in page and "尝试次数" in page
    assert f'href="{publication["article_url"]}"' in page


# -- check 2: a lost submit answer -------------------------------------------------------------


@pytest.mark.parametrize("kind", ["after_commit_503", "drop_connection"])
def test_a_lost_submit_answer_never_produces_a_second_publication(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client, kind: str,
) -> None:  # fmt: skip
    admin.post("/faults", json={"endpoint": "freepublish/submit", "failure_rate": 1.0,
                                "kinds": [kind]}).raise_for_status()  # fmt: skip
    filing_id = _submit(api)
    filing = _settle(build_worker(container, adapters), api, filing_id)

    [publication] = _publications(admin)
    assert _wechat(filing)["status"] == "delivered"
    assert _wechat(filing)["receipt"]["article_id"] == publication["article_id"]
    stats = admin.get("/stats").json()
    assert stats["requests_by_endpoint"]["freepublish/submit"] == 1
    assert stats["requests_by_endpoint"]["freepublish/batchget"] >= 1


# -- check 3: the daily quota and 40164 --------------------------------------------------------


def test_the_daily_quota_moves_the_delivery_to_the_next_day_and_never_spins(
    sim: Any, admin: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = FakeClock(LATE)
    admin.post("/clock", json={"set": LATE.isoformat(), "frozen": True}).raise_for_status()
    admin.post("/quota", json={"endpoint": "freepublish/submit", "after": 0}).raise_for_status()
    monkeypatch.setenv("NANKAI_WX_SECRET", SECRET)
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=_registry(tmp_path), demo_token=DEMO,
        routes={Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]}, wechat_url=sim.url,
        prerequisite_wait_s=0.05, retry_schedule_s=[0.05], quick_tries=2,
        compliance_email="compliance@example.gov.cn", smtp_host="127.0.0.1",
        capture_enabled=False,
    )  # fmt: skip
    container = build_container(settings, clock=clock)
    try:
        with destination_urls(container.settings) as found:
            adapters = build_adapters(container, found.urls)
            adapters["wechat"] = WeChatAdapter(
                WeChatConfig(sim.url, {NANKAI_OFFICE: WeChatAccount(APPID, SECRET)},
                             quick_tries=2, backoff_initial_s=0.01, backoff_max_s=0.02),
                now=clock,
            )  # fmt: skip
            worker = build_worker(container, adapters)
            with (
                app_in_thread(create_app(container.api())) as url,
                httpx.Client(base_url=url, timeout=30) as api,
            ):
                _check_quota_day(container, worker, api, admin, clock)
    finally:
        container.close()


def _check_quota_day(
    container: Container, worker: Worker, api: httpx.Client, admin: httpx.Client,
    clock: FakeClock,
) -> None:  # fmt: skip
    filing_id = _submit(api)
    for _ in range(20):  # the portal, then WeChat's first attempt (the clock moves 0.1 s a round)
        worker.run_once()
        clock.advance(0.1)
        if _wechat(_filing(api, filing_id))["attempts"]:
            break
    wechat = _wechat(_filing(api, filing_id))
    midnight = datetime(2024, 1, 13, tzinfo=SHANGHAI)
    assert wechat["status"] == "pending" and wechat["attempts"] == 1
    assert datetime.fromisoformat(wechat["next_attempt_at"]) == midnight
    assert wechat["attempt_log"][0]["code"] == "wechat_45009"
    assert "次日" in wechat["attempt_log"][0]["message"]
    told = _notices(container, "delivery.deferred")
    assert {(n.channel, n.recipient) for n in told} >= {("email", "compliance@example.gov.cn")}
    assert {n.subject for n in told} == {f"wechat/{NANKAI_OFFICE}/2024-01-13"}

    for _ in range(50):  # an hour and a half goes by in 50 rounds: nothing is tried
        clock.advance(100)
        assert worker.run_once() == 0
    submits = admin.get("/stats").json()["requests_by_endpoint"].get("freepublish/submit", 0)
    assert submits == 1
    assert _wechat(_filing(api, filing_id))["attempts"] == 1

    clock.now = midnight.astimezone(UTC) + timedelta(seconds=1)
    admin.post("/clock", json={"set": clock.now.isoformat(), "frozen": True}).raise_for_status()
    # a new day: the platform's quota is whole again
    admin.post("/quota", json={"endpoint": "freepublish/submit", "after": None}).raise_for_status()
    for _ in range(5):
        worker.run_once()
    wechat = _wechat(_filing(api, filing_id))
    assert wechat["status"] == "delivered" and wechat["attempts"] == 2
    assert len(_publications(admin)) == 1


def test_an_ip_not_whitelisted_fails_at_once_with_a_reason_an_operator_reads(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client,
) -> None:  # fmt: skip
    admin.post("/faults", json={"endpoint": "draft/add", "failure_rate": 1.0,
                                "kinds": ["ip_not_whitelisted"]}).raise_for_status()  # fmt: skip
    filing_id = _submit(api)
    filing = _settle(build_worker(container, adapters), api, filing_id)

    wechat = _wechat(filing)
    assert wechat["status"] == "failed" and wechat["attempts"] == 1
    assert wechat["attempt_log"][0]["code"] == "wechat_40164"
    assert "白名单" in wechat["last_error"] and "请" in wechat["last_error"]
    assert filing["versions"][0]["status"] == "delivery_failed"
    assert admin.get("/stats").json()["requests_by_endpoint"]["draft/add"] == 1
    assert _notices(container, "delivery.failed")
    assert _publications(admin) == []


# -- check 1, terminal outcomes ----------------------------------------------------------------


@pytest.mark.parametrize("status", [3, 4])
def test_a_publish_job_that_fails_fails_the_delivery_once_and_is_never_resubmitted(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client, status: int,
) -> None:  # fmt: skip
    admin.post("/publish_outcome", json={"status": status, "delay_s": 0}).raise_for_status()
    filing_id = _submit(api)
    worker = build_worker(container, adapters)
    filing = _settle(worker, api, filing_id)
    for _ in range(5):  # nothing more happens
        worker.run_once()

    wechat = _wechat(_filing(api, filing_id))
    assert wechat["status"] == "failed" and wechat["attempts"] == 1
    assert wechat["attempt_log"][0]["code"] == f"publish_status_{status}"
    assert "不会自动重新发布" in wechat["last_error"]
    assert filing["versions"][0]["status"] == "delivery_failed"
    assert len(_publications(admin)) == 1
    assert admin.get("/stats").json()["requests_by_endpoint"]["freepublish/submit"] == 1
    [notice] = [n for n in _notices(container, "delivery.failed") if n.channel == "email"
                and n.recipient == "compliance@example.gov.cn"]  # fmt: skip
    assert notice.detail["destination"] == "wechat"


# -- reach and withdrawal -----------------------------------------------------------------------


def test_a_withdrawn_filing_is_taken_down_on_wechat_too(
    container: Container, adapters: dict[str, DestinationAdapter], api: httpx.Client,
    admin: httpx.Client,
) -> None:  # fmt: skip
    filing_id = _submit(api)
    worker = build_worker(container, adapters)
    _settle(worker, api, filing_id)
    answer = api.post(f"/v1/filings/{filing_id}/withdraw", json={"reason": "数据有误，撤回"},
                      headers=AUTH)  # fmt: skip
    assert answer.status_code in (200, 202), answer.text
    filing = _settle(worker, api, filing_id)

    assert filing["withdrawal"]["destinations"]["wechat"] == "withdrawn"
    [publication] = _publications(admin)
    assert publication["deleted"]
    assert httpx.get(publication["article_url"]).status_code == 404


def test_a_body_that_asks_for_it_sends_the_article_to_its_followers_once_audited(
    sim: Any, admin: httpx.Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NANKAI_WX_SECRET", SECRET)
    registry = _registry(tmp_path)
    text = registry.read_text("utf-8").replace("secret_env: NANKAI_WX_SECRET}", "secret_env: NANKAI_WX_SECRET, mass_send: true}")  # fmt: skip
    registry.write_text(text, "utf-8")
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=registry, demo_token=DEMO,
        routes={Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]}, wechat_url=sim.url,
        prerequisite_wait_s=0.05, retry_schedule_s=[0.05], capture_enabled=False,
    )  # fmt: skip
    container = build_container(settings)
    try:
        with (
            destination_urls(container.settings) as found,
            app_in_thread(create_app(container.api())) as url,
            httpx.Client(base_url=url, timeout=30) as api,
        ):
            filing_id = _submit(api)
            _settle(build_worker(container, build_adapters(container, found.urls)), api, filing_id)
            events = container.catalog.audit_events(filing_id)
    finally:
        container.close()

    [sent] = admin.get("/mass").json()["mass"]
    assert sent["clientmsgid"] == f"{filing_id}-v1-wechat"
    [publication] = _publications(admin)
    assert sent["media_id"] == publication["draft_media_id"]
    [event] = [e for e in events if e.action == "delivery.delivered" and e.subject.endswith("/wechat")]  # fmt: skip
    assert event.detail["mass_send"]["status"] == "sent"


def test_in_development_the_registry_starts_a_simulator_for_the_bodies_accounts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `make run` does for a route to WeChat without DISCLOSURE_WECHAT_URL."""
    monkeypatch.setenv("NANKAI_WX_SECRET", SECRET)
    settings = Settings(
        data_dir=tmp_path / "var", orgs_file=_registry(tmp_path), demo_token=DEMO,
        routes={Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, WECHAT]},
        prerequisite_wait_s=0.05, retry_schedule_s=[0.05], capture_enabled=False,
    )  # fmt: skip
    container = build_container(settings)
    try:
        with (
            destination_urls(container.settings) as found,
            app_in_thread(create_app(container.api())) as url,
            httpx.Client(base_url=url, timeout=30) as api,
        ):
            assert set(found.simulated) == {Destination.PORTAL, WECHAT}
            filing_id = _submit(api)
            worker = build_worker(container, build_adapters(container, found.urls))
            filing = _settle(worker, api, filing_id)
    finally:
        container.close()
    assert _wechat(filing)["status"] == "delivered"
    assert _wechat(filing)["receipt"]["article_url"]
