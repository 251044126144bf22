"""Deliveries through a hostile network: both destinations as real processes injecting
30 % faults of every kind; every filing reaches each destination exactly once."""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.bodies import sample_metadata, write_registry
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.servers import Process, base_env, free_port, start_process

pytestmark = pytest.mark.e2e
TOKEN = "demo-faults-token"
PERIODS = range(2016, 2023)


def _simulator(kind: str, tmp_path: Path, *flags: str) -> Process:
    port = free_port()
    admin = "/_admin/articles" if kind == "portal" else "/_admin/reports"
    args = ["simulate", kind, "--port", str(port), "--failure-rate", "0.3", "--seed", "7", *flags]
    return start_process(
        args, base_env(), tmp_path / f"{kind}.log", f"http://127.0.0.1:{port}{admin}"
    )


@pytest.fixture
def simulators(tmp_path: Path) -> Iterator[tuple[Process, Process]]:
    portal = _simulator("portal", tmp_path)
    legal = _simulator("legal-platform", tmp_path)
    yield portal, legal
    portal.stop()
    legal.stop()


def _report(period: int) -> bytes:
    text = (
        SAMPLE_PATH.read_text(encoding="utf-8").replace("2024", "{next}").replace("2023", "{this}")
    )
    return docx_from_text(text.replace("{next}", str(period + 1)).replace("{this}", str(period)))


def _submit_all(url: str) -> list[str]:
    ids = []
    for period in PERIODS:
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


def _wait_all_settled(url: str, ids: list[str], timeout_s: float = 150) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        filings = [
            httpx.get(f"{url}/v1/filings/{i}", headers={"Authorization": f"Bearer {TOKEN}"}).json()
            for i in ids
        ]
        if all(d["status"] != "pending" for f in filings for d in f["deliveries"]):
            return filings
        time.sleep(0.5)
    raise AssertionError(
        f"not settled in {timeout_s} s: {[(f['id'], [(d['destination'], d['status'], d['last_error']) for d in f['deliveries']]) for f in filings]}"
    )


def test_every_filing_reaches_each_destination_exactly_once_through_30_percent_faults(
    tmp_path: Path, simulators: tuple[Process, Process]
) -> None:
    portal, legal = simulators
    port = free_port()
    env = base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        DISCLOSURE_PORTAL_URL=portal.url,
        DISCLOSURE_LEGAL_PLATFORM_URL=legal.url,
        DISCLOSURE_WORKER_POLL_S="0.05",
        DISCLOSURE_WORKER_CONCURRENCY="4",
        DISCLOSURE_LEASE_S="5",
        DISCLOSURE_QUICK_TRIES="2",
        DISCLOSURE_BACKOFF_INITIAL_S="0.02",
        DISCLOSURE_BACKOFF_MAX_S="0.1",
        DISCLOSURE_RETRY_SCHEDULE_S="[0.05, 0.1, 0.2]",
        DISCLOSURE_PORTAL_TIMEOUT_S="3",
        DISCLOSURE_LEGAL_PLATFORM_TIMEOUT_S="3",
        DISCLOSURE_TICK_INTERVAL_S="0",
    )
    service = start_process(
        ["serve", "--port", str(port)],
        env,
        tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    try:
        ids = _submit_all(service.url)
        filings = _wait_all_settled(service.url, ids)
    finally:
        service.stop()

    deliveries = [d for f in filings for d in f["deliveries"]]
    assert {d["status"] for d in deliveries} == {"delivered"}, [
        (d["destination"], d["last_error"]) for d in deliveries if d["status"] != "delivered"
    ]
    articles = httpx.get(f"{portal.url}/_admin/articles").json()["articles"]
    assert Counter(a["source_id"] for a in articles) == Counter(f"{i}/v1" for i in ids)
    reports = httpx.get(f"{legal.url}/_admin/reports").json()["reports"]
    assert sorted(int(r["report_year"]) for r in reports) == list(PERIODS)
    assert all(d["attempts"] == len(d["attempt_log"]) >= 1 for d in deliveries)
    assert sum(d["attempts"] for d in deliveries) > len(deliveries), "no fault reached a delivery"
    by_id = {a["article_id"]: a for a in articles}
    for f in filings:
        [portal_delivery] = [d for d in f["deliveries"] if d["destination"] == "portal"]
        assert by_id[portal_delivery["receipt"]["article_id"]]["source_id"] == f"{f['id']}/v1"
    portal_stats = httpx.get(f"{portal.url}/_admin/stats").json()
    assert sum(portal_stats["faults"].values()) > 0
