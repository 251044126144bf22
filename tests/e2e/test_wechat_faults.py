"""Issue 14, check 1, with whole processes: `disclosure serve` delivering to the portal
and WeChat simulators (`disclosure simulate …`), each injecting 30 % faults of every kind
of every transient kind (WeChat's: errcode -1, 42001, HTTP 5xx, answers lost after the
work was done, dropped connections). Every filing routed to portal + WeChat is published
exactly once on each, the WeChat article's 阅读原文 the portal article. 40164 is no
transient fault (the adapter fails it at once, as the contract says): the terminal
outcomes (40164 there too) are tests/integration/test_wechat_delivery.py's; a publish job
the platform rejects, with processes, below."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bodies import REGISTRY_YAML, sample_metadata
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import Process, base_env, free_port, start_process

pytestmark = pytest.mark.e2e
TOKEN = "demo-wechat-faults-token"
APPID, SECRET = "wx9999888877776666", "wx-secret-for-the-e2e-account"
PERIODS = range(2017, 2023)
# Every kind but 40164 (ip_not_whitelisted), which is no transient fault.
TRANSIENT_KINDS = (
    "http_500,http_502,http_503,http_504,system_busy,token_expired,after_commit_503,drop_connection"
)


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    portal_port, wechat_port = free_port(), free_port()
    portal = start_process(
        ["simulate", "portal", "--port", str(portal_port), "--failure-rate", "0.3",
         "--seed", "11"],
        base_env(), tmp_path / "portal.log", f"http://127.0.0.1:{portal_port}/_admin/articles",
    )  # fmt: skip
    wechat = start_process(
        ["simulate", "wechat", "--port", str(wechat_port), "--appid", APPID, "--failure-rate",
         "0.3", "--seed", "11", "--kinds", TRANSIENT_KINDS],
        base_env(WECHAT_SIMULATOR_SECRET=SECRET), tmp_path / "wechat.log",
        f"http://127.0.0.1:{wechat_port}/_admin/faults",
    )  # fmt: skip
    yield portal, wechat
    portal.stop()
    wechat.stop()


def _registry(tmp_path: Path) -> Path:
    account = f"    accounts:\n      wechat: {{appid: {APPID}, secret_env: E2E_WX_SECRET}}\n"
    text = REGISTRY_YAML.replace("    level: department\n", "    level: department\n" + account, 1)
    path = tmp_path / "orgs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _serve(tmp_path: Path, portal: Process, wechat: Process, **extra: str) -> Process:
    port = free_port()
    env = base_env(
        **extra,
        E2E_WX_SECRET=SECRET,
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(_registry(tmp_path)),
        DISCLOSURE_ROUTES=json.dumps({"rule_of_law_report": ["portal", "wechat"]}),
        DISCLOSURE_PORTAL_URL=portal.url,
        DISCLOSURE_WECHAT_URL=f"{wechat.url}/cgi-bin/",
        DISCLOSURE_WECHAT_TIMEOUT_S="3",
        DISCLOSURE_WECHAT_LOST_SUBMIT_GRACE_S="0.3",
        DISCLOSURE_PORTAL_TIMEOUT_S="3",
        DISCLOSURE_WORKER_POLL_S="0.05",
        DISCLOSURE_WORKER_CONCURRENCY="4",
        DISCLOSURE_LEASE_S="5",
        DISCLOSURE_PREREQUISITE_WAIT_S="0.1",
        DISCLOSURE_QUICK_TRIES="2",
        DISCLOSURE_BACKOFF_INITIAL_S="0.02",
        DISCLOSURE_BACKOFF_MAX_S="0.1",
        DISCLOSURE_RETRY_SCHEDULE_S="[0.05, 0.1, 0.2]",
        DISCLOSURE_TICK_INTERVAL_S="0",
        DISCLOSURE_CAPTURE_ENABLED="false",
    )
    return start_process(
        ["serve", "--port", str(port)], env, tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )  # fmt: skip


def _report(period: int) -> bytes:
    text = SAMPLE_PATH.read_text("utf-8").replace("2024", "{next}").replace("2023", "{this}")
    return docx_from_text(text.replace("{next}", str(period + 1)).replace("{this}", str(period)))


def _submit_all(url: str, periods: range = PERIODS) -> list[str]:
    ids = []
    for period in periods:
        response = httpx.post(
            f"{url}/v1/filings",
            headers={"Authorization": f"Bearer {TOKEN}"},
            data={"metadata": json.dumps(sample_metadata(period=str(period)), ensure_ascii=False)},
            files={"file": (f"{period}.docx", _report(period))},
            timeout=30,
        )
        assert response.status_code == 201, response.text
        ids.append(response.json()["id"])
    return ids


def _settled(url: str, ids: list[str], timeout_s: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    auth = {"Authorization": f"Bearer {TOKEN}"}
    while True:
        filings = [httpx.get(f"{url}/v1/filings/{i}", headers=auth).json() for i in ids]
        if all(d["status"] != "pending" for f in filings for d in f["deliveries"]):
            return filings
        if time.monotonic() > deadline:
            raise AssertionError([(f["id"], [(d["destination"], d["status"], d["last_error"])
                                             for d in f["deliveries"]]) for f in filings])  # fmt: skip
        time.sleep(0.3)


def test_each_filing_is_published_once_on_the_portal_and_once_on_wechat_through_30_percent_faults(
    tmp_path: Path, simulators: tuple[Process, Process]
) -> None:
    portal, wechat = simulators
    service = _serve(tmp_path, portal, wechat)
    try:
        ids = _submit_all(service.url)
        filings = _settled(service.url, ids)
    finally:
        service.stop()

    deliveries = [d for f in filings for d in f["deliveries"]]
    assert {d["status"] for d in deliveries} == {"delivered"}, [
        (d["destination"], d["last_error"]) for d in deliveries if d["status"] != "delivered"
    ]
    articles = httpx.get(f"{portal.url}/_admin/articles").json()["articles"]
    assert Counter(a["source_id"] for a in articles) == Counter(f"{i}/v1" for i in ids)
    publications = httpx.get(f"{wechat.url}/_admin/publications").json()["publications"]
    by_reference = Counter(p["digest"].rsplit("编号 ", 1)[-1] for p in publications)
    assert by_reference == Counter(f"{i}-v1" for i in ids)  # exactly once each
    portal_urls = {a["article_id"]: a["url"] for a in articles}
    for f in filings:
        sent = {d["destination"]: d["receipt"] for d in f["deliveries"]}
        [publication] = [p for p in publications if p["digest"].endswith(f"编号 {f['id']}-v1")]
        assert publication["content_source_url"] == portal_urls[sent["portal"]["article_id"]]
        assert sent["wechat"]["article_id"] == publication["article_id"]
    stats = httpx.get(f"{wechat.url}/_admin/stats").json()
    assert sum(stats["faults"].values()) > len(ids) / 2, "too few faults reached WeChat"
    assert stats["publications"] == len(ids)  # however many submits the faults cost


class _Webhook:
    """A receiver of the service's webhook notifications, on 127.0.0.1."""

    def __init__(self) -> None:
        received: list[dict[str, Any]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.received = received
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/hook"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()


def test_publish_jobs_the_platform_rejects_fail_once_notified_and_never_resubmitted(
    tmp_path: Path,
) -> None:
    port = free_port()
    wechat = start_process(
        ["simulate", "wechat", "--port", str(port), "--appid", APPID, "--publish-status", "4"],
        base_env(WECHAT_SIMULATOR_SECRET=SECRET), tmp_path / "wechat.log",
        f"http://127.0.0.1:{port}/_admin/faults",
    )  # fmt: skip
    portal_port = free_port()
    portal = start_process(
        ["simulate", "portal", "--port", str(portal_port)], base_env(), tmp_path / "portal.log",
        f"http://127.0.0.1:{portal_port}/_admin/articles",
    )  # fmt: skip
    hook = _Webhook()
    extra = {"DISCLOSURE_WEBHOOK_URL": hook.url, "DISCLOSURE_WEBHOOK_SECRET": "w" * 8 + "ebhook-secret-e2e",
             "DISCLOSURE_NOTIFY_POLL_S": "0.1"}  # fmt: skip
    service = _serve(tmp_path, portal, wechat, **extra)
    try:
        ids = _submit_all(service.url, PERIODS[:2])
        filings = _settled(service.url, ids)
        deadline = time.monotonic() + 20
        while len([r for r in hook.received if r["type"] == "delivery.failed"]) < 2:
            assert time.monotonic() < deadline, hook.received
            time.sleep(0.1)
        time.sleep(1)  # whatever else would come, comes now
    finally:
        service.stop()
        portal.stop()
        hook.close()
        publications = httpx.get(f"{wechat.url}/_admin/publications").json()["publications"]
        wechat.stop()

    for f in filings:
        [sent] = [d for d in f["deliveries"] if d["destination"] == "wechat"]
        assert sent["status"] == "failed" and sent["attempts"] == 1
        assert (
            sent["last_error"].startswith("publish_status_4")
            and "不会自动重新发布" in sent["last_error"]
        )
        assert f["versions"][0]["status"] == "delivery_failed"
    assert len(publications) == len(ids)  # one publish job each, never resubmitted
    failed = [r for r in hook.received if r["type"] == "delivery.failed"]
    assert sorted(r["data"]["filing_id"] for r in failed) == sorted(ids)
    assert {r["data"]["detail"]["destination"] for r in failed} == {"wechat"}
