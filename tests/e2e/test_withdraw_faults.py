"""Withdrawals through a hostile network: `serve` and the portal simulator as real
processes, the portal injecting 30 % faults of every kind; each withdrawal takes its
article down exactly once, and a new filing for the same key is then published anew."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.test_delivery_faults import _report
from tests.support.bodies import sample_metadata, write_registry
from tests.support.servers import Process, base_env, free_port, start_process

pytestmark = pytest.mark.e2e
TOKEN = "demo-withdraw-faults-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PERIODS = range(2019, 2023)


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Process]:
    port = free_port()
    args = ["simulate", "portal", "--port", str(port), "--failure-rate", "0.3", "--seed", "11"]
    process = start_process(
        args, base_env(), tmp_path / "portal.log", f"http://127.0.0.1:{port}/_admin/articles"
    )
    yield process
    process.stop()


@pytest.fixture
def service(tmp_path: Path, portal: Process) -> Iterator[Process]:
    port = free_port()
    env = base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        DISCLOSURE_PORTAL_URL=portal.url,
        DISCLOSURE_ROUTES=json.dumps({"rule_of_law_report": ["portal"]}),
        DISCLOSURE_WORKER_POLL_S="0.05",
        DISCLOSURE_WORKER_CONCURRENCY="4",
        DISCLOSURE_LEASE_S="5",
        DISCLOSURE_QUICK_TRIES="2",
        DISCLOSURE_BACKOFF_INITIAL_S="0.02",
        DISCLOSURE_BACKOFF_MAX_S="0.1",
        DISCLOSURE_RETRY_SCHEDULE_S="[0.05, 0.1, 0.2]",
        DISCLOSURE_PORTAL_TIMEOUT_S="3",
        DISCLOSURE_PREREQUISITE_WAIT_S="0.05",
        DISCLOSURE_TICK_INTERVAL_S="0",
    )
    process = start_process(
        ["serve", "--port", str(port)], env, tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )  # fmt: skip
    yield process
    process.stop()


def _submit(url: str, period: int) -> str:
    response = httpx.post(
        f"{url}/v1/filings",
        headers=AUTH,
        data={"metadata": json.dumps(sample_metadata(period=str(period)), ensure_ascii=False)},
        files={"file": (f"{period}.docx", _report(period))},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _filings(url: str, ids: list[str]) -> list[dict[str, Any]]:
    return [httpx.get(f"{url}/v1/filings/{i}", headers=AUTH, timeout=10).json() for i in ids]


def _wait(
    url: str, ids: list[str], done: Callable[[dict[str, Any]], bool], timeout_s: float = 150
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    filings = _filings(url, ids)
    while not all(done(f) for f in filings):
        if time.monotonic() > deadline:
            raise AssertionError(f"not settled in {timeout_s} s: {filings}")
        time.sleep(0.3)
        filings = _filings(url, ids)
    return filings


def _published(filing: dict[str, Any]) -> bool:
    return all(d["status"] != "pending" for d in filing["deliveries"])


def _taken_down(filing: dict[str, Any]) -> bool:
    return filing["withdrawal"]["destinations"]["portal"] != "withdrawing"


def test_a_withdrawal_reaches_the_portal_exactly_once_and_the_key_takes_a_new_filing(
    portal: Process, service: Process
) -> None:
    ids = [_submit(service.url, period) for period in PERIODS]
    published = _wait(service.url, ids, _published)
    assert {d["status"] for f in published for d in f["deliveries"]} == {"delivered"}

    for filing_id in ids:
        answer = httpx.post(
            f"{service.url}/v1/filings/{filing_id}/withdraw",
            json={"reason": "数据有误，撤回"}, headers=AUTH, timeout=30,
        )  # fmt: skip
        assert answer.status_code == 202, answer.text
    withdrawn = _wait(service.url, ids, _taken_down)

    assert {f["withdrawal"]["destinations"]["portal"] for f in withdrawn} == {"withdrawn"}
    articles = httpx.get(f"{portal.url}/_admin/articles").json()["articles"]
    assert Counter(a["source_id"] for a in articles) == Counter(f"{i}/v1" for i in ids)
    assert {a["status"] for a in articles} == {"withdrawn"}
    assert [a["withdrawals"] for a in articles] == [1] * len(ids)
    assert {a["withdraw_reason"] for a in articles} == {"数据有误，撤回"}
    takedowns = [d for f in withdrawn for d in f["deliveries"] if d["action"] == "withdraw"]
    assert len(takedowns) == len(ids) and {d["status"] for d in takedowns} == {"delivered"}
    stats = httpx.get(f"{portal.url}/_admin/stats").json()
    assert sum(stats["faults"].values()) > 0

    again = _submit(service.url, PERIODS[0])  # the same report, the same key
    (republished,) = _wait(service.url, [again], _published)
    assert again not in ids and republished["deliveries"][0]["status"] == "delivered"
    article_id = republished["deliveries"][0]["receipt"]["article_id"]
    fresh = httpx.get(f"{portal.url}/_admin/articles").json()["articles"]
    (new,) = [a for a in fresh if a["article_id"] == article_id]
    assert new["status"] in ("published", "scheduled") and new["replaces"] is None
