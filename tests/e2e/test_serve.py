"""`disclosure serve` as a real process: submit over HTTP, the portal gets exactly one
article, the bag validates; a kill -9 mid-delivery loses and duplicates nothing."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import httpx
import pytest

from tests.support.bodies import sample_metadata, write_registry
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import Process, base_env, free_port, run_command, start_process

pytestmark = pytest.mark.e2e
TOKEN = "demo-e2e-token"
FAST_RETRIES = {
    "DISCLOSURE_WORKER_POLL_S": "0.1",
    "DISCLOSURE_BACKOFF_INITIAL_S": "0.05",
    "DISCLOSURE_BACKOFF_MAX_S": "0.2",
    "DISCLOSURE_RETRY_SCHEDULE_S": "[0.2, 0.5, 1]",
    "DISCLOSURE_LEASE_S": "3",
}


@pytest.fixture(scope="module")
def sample_docx() -> bytes:
    return docx_from_text(SAMPLE_PATH.read_text(encoding="utf-8"))


def _serve_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        **FAST_RETRIES,
        **extra,
    )


def _serve(tmp_path: Path, env: dict[str, str]) -> Process:
    port = free_port()
    return start_process(
        ["serve", "--port", str(port)],
        env,
        tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Process]:
    """The portal simulator as its own process: killing `serve` does not reset it."""
    port = free_port()
    process = start_process(
        [
            "simulate",
            "portal",
            "--port",
            str(port),
            "--failure-rate",
            "1",
            "--kinds",
            "slow",
            "--latency-ms",
            "700",
        ],
        base_env(),
        tmp_path / "portal.log",
        f"http://127.0.0.1:{port}/_admin/articles",
    )
    yield process
    process.stop()


def _submit(url: str, docx: bytes) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/v1/filings",
        headers={"Authorization": f"Bearer {TOKEN}"},
        data={"metadata": json.dumps(sample_metadata(), ensure_ascii=False)},
        files={"file": ("南开区合作交流办2023年度法治政府建设情况报告.docx", docx)},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _wait_delivered(url: str, filing_id: str, timeout_s: float = 40) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        filing = httpx.get(
            f"{url}/v1/filings/{filing_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()
        if filing["deliveries"] and all(d["status"] == "delivered" for d in filing["deliveries"]):
            return filing  # type: ignore[no-any-return]
        time.sleep(0.2)
    raise AssertionError(f"not delivered in {timeout_s} s: {filing}")


def _events(service: Process) -> list[dict[str, Any]]:
    """The process's output, one JSON object per line: nothing else may be mixed in."""
    return [json.loads(line) for line in service.output().splitlines() if line.strip()]


def _started(service: Process) -> dict[str, Any]:
    [started] = [e for e in _events(service) if e["event"] == "service_started"]
    return started


def _delivery(filing: dict[str, Any], destination: str) -> dict[str, Any]:
    [delivery] = [d for d in filing["deliveries"] if d["destination"] == destination]
    return delivery


def _articles(portal_url: str) -> list[dict[str, Any]]:
    return httpx.get(f"{portal_url}/_admin/articles").json()["articles"]  # type: ignore[no-any-return]


def test_a_submitted_report_reaches_the_portal_once_with_its_docx_and_the_bag_validates(
    tmp_path: Path, sample_docx: bytes
) -> None:
    service = _serve(tmp_path, _serve_env(tmp_path))
    try:
        filing = _submit(service.url, sample_docx)
        delivered = _wait_delivered(service.url, filing["id"])
        [article] = _articles(_started(service)["destinations"]["portal"])
    finally:
        service.stop()
    [attachment] = article["attachments"]
    assert attachment["filename"].endswith(".docx")
    assert attachment["sha256"] == hashlib.sha256(sample_docx).hexdigest() == filing["sha256"]
    assert article["source_id"] == f"{filing['id']}/v1"
    receipt = _delivery(delivered, "portal")["receipt"]
    assert receipt["article_id"] == article["article_id"]
    assert _delivery(delivered, "legal_platform")["receipt"]["receipt_no"].startswith("TJFG-")
    bag = bagit.Bag(str(tmp_path / "var" / "archive" / filing["versions"][0]["package"]))
    bag.validate()
    assert "data/metadata.json" in bag.payload_files()


def test_kill_9_after_the_201_loses_and_duplicates_nothing(
    tmp_path: Path, portal: Process, sample_docx: bytes
) -> None:
    env = _serve_env(tmp_path, DISCLOSURE_PORTAL_URL=portal.url)
    service = _serve(tmp_path, env)
    filing = _submit(service.url, sample_docx)
    time.sleep(1.6)  # token and attachment took ~0.7 s each: the article POST is in flight
    service.kill_hard()
    restarted = _serve(tmp_path, env)
    try:
        delivered = _wait_delivered(restarted.url, filing["id"])
    finally:
        restarted.stop()
    articles = [a for a in _articles(portal.url) if a["source_id"] == f"{filing['id']}/v1"]
    assert len(articles) == 1, articles
    portal_delivery = _delivery(delivered, "portal")
    assert portal_delivery["receipt"]["article_id"] == articles[0]["article_id"]
    assert len(portal_delivery["attempt_log"]) >= 1


@pytest.mark.parametrize(
    ("extra", "mentions"),
    [
        ({}, "DISCLOSURE_PORTAL_URL"),
        (
            {
                "DISCLOSURE_PORTAL_URL": "https://portal.example.gov.cn",
                "DISCLOSURE_PORTAL_CLIENT_SECRET": "s3cr3t-from-the-portal-team",
                "DISCLOSURE_DEMO_TOKEN": "demo-x",
            },
            "DISCLOSURE_DEMO_TOKEN",
        ),
    ],
    ids=["without a portal url", "with the demo token"],
)
def test_production_refuses_to_start(tmp_path: Path, extra: dict[str, str], mentions: str) -> None:
    env = base_env(
        DISCLOSURE_ENV="production",
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        **extra,
    )
    result = run_command(["serve", "--port", str(free_port())], env)
    assert result.returncode == 2
    assert mentions in result.stdout + result.stderr
    assert "拒绝启动" in result.stdout + result.stderr


@pytest.mark.parametrize(
    "tokens",
    [
        '[{"name": "op", "token": "SECRET-7Qk2mZr9Xw4Lp8Vn3Jd6", "role": "superuser"}]',
        '[{"name": "op", "token": "SECRET-7Qk2mZr9Xw4Lp8Vn3Jd6"',
    ],
    ids=["a wrong role", "broken JSON"],
)
def test_a_malformed_token_setting_is_named_and_its_secret_not_echoed(
    tmp_path: Path, tokens: str
) -> None:
    env = base_env(DISCLOSURE_DATA_DIR=str(tmp_path / "var"), DISCLOSURE_TOKENS=tokens)
    result = run_command(["serve", "--port", str(free_port())], env)
    said = result.stdout + result.stderr
    assert result.returncode == 2
    assert "DISCLOSURE_TOKENS" in said
    assert "SECRET-7Qk2" not in said


def test_validate_command_passes_the_sample_clean(tmp_path: Path) -> None:
    report = tmp_path / "report.docx"
    report.write_bytes(docx_from_text(SAMPLE_PATH.read_text("utf-8")))
    result = run_command(
        [
            "validate",
            str(report),
            "--category",
            "rule_of_law_report",
            "--org-name",
            "南开区合作交流办",
            "--period",
            "2023",
            "--received-on",
            "2024-01-12",
            "--json",
        ],
        base_env(),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["findings"] == []


def test_validate_command_exits_1_with_findings_in_chinese(tmp_path: Path) -> None:
    broken = tmp_path / "report.txt"
    broken.write_text(
        SAMPLE_PATH.read_text(encoding="utf-8").replace("2024年1月10日", ""), encoding="utf-8"
    )
    result = run_command(
        [
            "validate",
            str(broken),
            "--category",
            "rule_of_law_report",
            "--org-name",
            "南开区合作交流办",
            "--period",
            "2023",
        ],
        base_env(),
    )
    assert result.returncode == 1
    assert "错误" in result.stdout


def test_submit_command_files_a_report_with_a_metadata_file(
    tmp_path: Path, sample_docx: bytes
) -> None:
    service = _serve(tmp_path, _serve_env(tmp_path))
    try:
        report = tmp_path / "report.docx"
        report.write_bytes(sample_docx)
        metadata = tmp_path / "metadata.json"
        metadata.write_text(json.dumps(sample_metadata(), ensure_ascii=False), encoding="utf-8")
        args = [
            "submit",
            str(report),
            "--server",
            service.url,
            "--token",
            TOKEN,
            "--metadata",
            str(metadata),
        ]
        result = run_command(args, base_env())
        assert result.returncode == 0, result.stdout + result.stderr
        assert "已受理" in result.stdout
        listed = httpx.get(
            f"{service.url}/v1/filings", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()
        assert len(listed["filings"]) == 1
        refused = run_command(
            [*args[:-2], "--metadata", str(metadata), "--token", "wrong"], base_env()
        )
        assert refused.returncode == 1
    finally:
        service.stop()


def test_serve_logs_its_start_and_stop_as_json_and_keeps_the_token_out_of_the_log(
    tmp_path: Path,
) -> None:
    """Without a terminal there is no banner inside the log: the start is one event, the
    demo token goes to a file only its owner may read, and SIGTERM stops the process
    cleanly (exit 0, worker stopped, catalog closed), each step logged."""
    service = _serve(tmp_path, _serve_env(tmp_path))
    service.stop()
    assert service.proc.returncode == 0, service.output()
    events = _events(service)
    started = _started(service)
    assert started["url"] == service.url and started["env"] == "development"
    assert set(started["destinations"]) == {"portal", "legal_platform"}
    token_file = Path(started["demo_token_file"])
    assert token_file.read_text("utf-8").strip() == TOKEN
    assert token_file.stat().st_mode & 0o077 == 0
    assert TOKEN not in service.output()
    names = [e["event"] for e in events]
    assert names.index("stopping") < names.index("worker_stopped") < names.index("service_stopped")
    assert next(e for e in events if e["event"] == "stopping")["signal"] == "SIGTERM"
    assert events[-1]["event"] == "service_stopped" and events[-1]["unfinished"] == []
