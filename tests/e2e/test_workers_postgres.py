"""Three worker processes drain one outbox on PostgreSQL; one is killed with -9 mid-delivery.
Nothing is lost and nothing is duplicated."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.bodies import sample_metadata, write_registry
from tests.support.databases import throwaway_postgres
from tests.support.documents import livelihood_notice
from tests.support.servers import Process, base_env, free_port, start_process, start_worker

pytestmark = pytest.mark.e2e
TOKEN = "demo-workers-token"
FILINGS = 12


@pytest.fixture
def postgres() -> Iterator[str]:
    with throwaway_postgres() as url:
        yield url


@pytest.fixture
def portal(tmp_path: Path) -> Iterator[Process]:
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
            "400",
        ],
        base_env(),
        tmp_path / "portal.log",
        f"http://127.0.0.1:{port}/_admin/articles",
    )
    yield process
    process.stop()


def _articles(portal: Process) -> list[dict[str, Any]]:
    return httpx.get(f"{portal.url}/_admin/articles").json()["articles"]  # type: ignore[no-any-return]


def _statuses(url: str, ids: list[str]) -> list[str]:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    return [
        httpx.get(f"{url}/v1/filings/{i}", headers=headers).json()["deliveries"][0]["status"]
        for i in ids
    ]


def test_kill_9_of_one_of_three_workers_loses_and_duplicates_nothing(
    tmp_path: Path, postgres: str, portal: Process
) -> None:
    env = base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DATABASE_URL=postgres,
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        DISCLOSURE_PORTAL_URL=portal.url,
        DISCLOSURE_ROUTES=json.dumps({"livelihood": ["portal"]}),
        DISCLOSURE_SERVE_WORKER="false",
        DISCLOSURE_TICK_INTERVAL_S="0",
        DISCLOSURE_WORKER_CONCURRENCY="2",
        DISCLOSURE_WORKER_POLL_S="0.1",
        DISCLOSURE_LEASE_S="2",
        DISCLOSURE_BACKOFF_INITIAL_S="0.05",
        DISCLOSURE_RETRY_SCHEDULE_S="[0.1, 0.2]",
    )
    port = free_port()
    api = start_process(
        ["serve", "--port", str(port)],
        env,
        tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    workers: list[subprocess.Popen[bytes]] = []
    try:
        ids = []
        for n in range(FILINGS):
            day = date(2024, 3, 1) + timedelta(days=n)
            metadata = sample_metadata(
                category="livelihood", period=day.isoformat(), livelihood={"field": "教育"}
            )
            response = httpx.post(
                f"{api.url}/v1/filings",
                headers={"Authorization": f"Bearer {TOKEN}"},
                data={"metadata": json.dumps(metadata, ensure_ascii=False)},
                files={"file": (f"{n}.txt", livelihood_notice(day).encode())},
                timeout=30,
            )
            assert response.status_code == 201, response.text
            ids.append(response.json()["id"])
        workers = [start_worker(env, tmp_path / f"worker-{i}.log") for i in range(3)]
        deadline = time.monotonic() + 30
        while len(_articles(portal)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)

        deadline = time.monotonic() + 90
        while set(_statuses(api.url, ids)) != {"delivered"}:
            assert time.monotonic() < deadline, _statuses(api.url, ids)
            time.sleep(0.3)
        for worker in workers[1:]:
            worker.send_signal(signal.SIGTERM)
            assert worker.wait(timeout=30) == 0
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
        api.stop()

    counts = Counter(a["source_id"] for a in _articles(portal))
    assert counts == Counter(f"{i}/v1" for i in ids), counts
    engine = create_engine(postgres)
    with engine.connect() as conn:
        held = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE lease_owner IS NOT NULL")
        ).scalar()
        recorded = conn.execute(
            text("SELECT count(DISTINCT delivery_id) FROM delivery_attempts")
        ).scalar()
    engine.dispose()
    assert held == 0
    assert recorded == FILINGS
