"""Issue 11, the service at scale: two API processes (sharing one TMPDIR) and three workers
on one PostgreSQL catalog and a Ceph RGW archive (versioning and Object Lock), both
destinations simulated with 30 % faults of every kind a sender must retry. 50 clients
submit their filings at once, half to each API process. Every acknowledged filing is
archived, verifiable, and delivered exactly once to each destination; no process logs an
unhandled error. The figures (throughput, submit latency, where the CPU went) are
printed for the CI log."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, text

from service.catalog.database import migrate
from service.simulators.faults import FAULT_KINDS
from service.simulators.legal_platform import LEGAL_PLATFORM_FAULT_KINDS
from tests.support.bodies import sample_metadata, uscc
from tests.support.ceph import CephRGW, ceph_missing, ceph_rgw
from tests.support.databases import throwaway_postgres
from tests.support.documents import SAMPLE_PATH, small_docx
from tests.support.load import Ack, Filing, percentile, submit_all
from tests.support.s3 import S3Server
from tests.support.servers import Process, base_env, free_port, start_process, start_worker

pytestmark = pytest.mark.e2e
TOKEN = "demo-scale-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
CLIENTS = 50
# Each client files its body's reports of these years. Issue 11 asks for 20 each, but
# 1000 filings cost ~330 CPU seconds (~0.3 a filing: ~37 S3 requests through boto3 and
# Ceph, the SQL, the deliveries; see the figures this test prints), over 165 s on 2
# cores. Since issue 13 a filing also gets its tag manifest stamped and its portal page
# captured as WARC and stamped (~47 S3 requests, ~0.5 CPU s): 300 took 151 CPU s and
# 71 s of 2 idle cores, at the edge of the budget; 200 take about 50 s.
PERIODS = [str(year) for year in range(2019, 2023)]
FILINGS = CLIENTS * len(PERIODS)
API_PROCESSES = 2
WORKERS = 3
STARTUP_TIMEOUT_S = 60  # five processes start at once on two cores
SUBMIT_BUDGET_S = 80
DRAIN_BUDGET_S = 30
# Every fault each simulator speaks but `slow`, which without latency is no fault.
PORTAL_FAULTS = ",".join(k for k in FAULT_KINDS if k != "slow")
LEGAL_FAULTS = ",".join(k for k in LEGAL_PLATFORM_FAULT_KINDS if k != "slow")
VERIFIED_SAMPLE = 30  # filings re-hashed from the archive (POST …/verify), 6 at a time
# An unhandled error in the service's JSON logs, or one that escaped them (uvicorn's own).
ERROR_MARKS = ('"level": "error"', '"level": "critical"', "Traceback", "ERROR")
# What uvicorn logs when a simulator cuts a response short: the drop_connection fault.
DROPPED = "ASGI callable returned without completing response"


# -- the bodies and their reports -------------------------------------------------------


def body_code(n: int) -> str:
    return uscc(f"11120104MB1{n:06d}")


def body_alias(n: int) -> str:
    return f"南开区第{n + 1}合作交流办"


def registry_yaml() -> str:
    bodies = [
        f'  - {{org_code: "{body_code(n)}", name: 天津市{body_alias(n)}公室, '
        f"aliases: [{body_alias(n)}], level: department}}"
        for n in range(CLIENTS)
    ]
    return "bodies:\n" + "\n".join(bodies) + "\n"


def report(n: int, period: str) -> bytes:
    """The sample report as body n's for `period`, dated early the next year."""
    sample = SAMPLE_PATH.read_text(encoding="utf-8")
    text = sample.replace("2024", "{NEXT}").replace("2023", "{YEAR}")
    text = text.replace("{NEXT}", str(int(period) + 1)).replace("{YEAR}", period)
    return small_docx(text.replace("南开区合作交流办", body_alias(n)))


def client_filings(n: int) -> list[Filing]:
    return [
        Filing(
            key=f"scale-{n}-{period}",
            metadata=sample_metadata(org_code=body_code(n), org_name=body_alias(n), period=period),
            filename=f"{period}.docx",
            content=report(n, period),
        )
        for period in PERIODS
    ]


# -- the deployment -------------------------------------------------------------------------


@dataclass
class Deployment:
    apis: list[Process]
    workers: list[subprocess.Popen[bytes]]
    portal: Process
    legal: Process
    ceph: CephRGW
    database_url: str
    logs: list[Path]  # every process's but Ceph's
    spool_root: Path  # where the API processes, sharing one TMPDIR, spool uploads
    setup_s: tuple[float, float]  # Ceph, database and simulators; then the service

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time so far of each part: its processes and their children."""
        parts = {
            "api": [a.proc.pid for a in self.apis],
            "workers": [w.pid for w in self.workers],
            "simulators": [self.portal.proc.pid, self.legal.proc.pid],
            **{name: [pid] for name, pid in self.ceph.daemon_pids().items()},
        }
        return {name: sum(map(cpu_seconds, pids)) for name, pids in parts.items()}


def cpu_seconds(pid: int) -> float:
    process = psutil.Process(pid)
    return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])


def _simulator(kind: str, faults: str, tmp_path: Path) -> Process:
    port = free_port()
    admin = "/_admin/articles" if kind == "portal" else "/_admin/reports"
    args = ["simulate", kind, "--port", str(port), "--failure-rate", "0.3", "--kinds", faults]
    health = f"http://127.0.0.1:{port}{admin}"
    log = tmp_path / f"{kind}.log"
    return start_process([*args, "--seed", "11"], base_env(), log, health, STARTUP_TIMEOUT_S)


def _api(env: dict[str, str], log: Path) -> Process:
    port = free_port()
    health = f"http://127.0.0.1:{port}/healthz"
    return start_process(["serve", "--port", str(port)], env, log, health, STARTUP_TIMEOUT_S)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    """SIGTERM to all at once, then wait for each (SIGKILL after 15 s)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _stop_when_closed(stack: ExitStack, starting: list[Future[Any]]) -> None:
    """Once every start has ended, the processes that did start are stopped (together)
    when `stack` closes, even if another failed to start."""
    wait(starting)
    started = [f.result() for f in starting if f.exception() is None]
    stack.callback(_stop, [p.proc if isinstance(p, Process) else p for p in started])


def service_env(
    tmp_path: Path, s3: S3Server, database_url: str, portal: Process, legal: Process
) -> dict[str, str]:
    registry = tmp_path / "orgs.yaml"
    registry.write_text(registry_yaml(), encoding="utf-8")
    (tmp_path / "tmp").mkdir()
    return base_env(
        TMPDIR=str(tmp_path / "tmp"),
        AWS_ACCESS_KEY_ID=s3.access_key,
        AWS_SECRET_ACCESS_KEY=s3.secret_key,
        DISCLOSURE_ARCHIVE_URL=f"s3://{s3.new_bucket('locked')}/archive",
        DISCLOSURE_S3_ENDPOINT_URL=s3.endpoint_url,
        DISCLOSURE_DATABASE_URL=database_url,
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(registry),
        DISCLOSURE_PORTAL_URL=portal.url,
        DISCLOSURE_LEGAL_PLATFORM_URL=legal.url,
        DISCLOSURE_ROUTES=json.dumps({"rule_of_law_report": ["portal", "legal_platform"]}),
        DISCLOSURE_SERVE_WORKER="false",
        DISCLOSURE_TICK_INTERVAL_S="0",
        DISCLOSURE_READING_WORKERS="1",
        DISCLOSURE_WORKER_CONCURRENCY="4",
        DISCLOSURE_WORKER_POLL_S="0.25",
        DISCLOSURE_LEASE_S="30",
        DISCLOSURE_QUICK_TRIES="3",
        DISCLOSURE_BACKOFF_INITIAL_S="0.02",
        DISCLOSURE_BACKOFF_MAX_S="0.2",
        DISCLOSURE_RETRY_SCHEDULE_S="[0.1, 0.2, 0.5, 1, 2]",
        DISCLOSURE_PORTAL_TIMEOUT_S="10",
        DISCLOSURE_LEGAL_PLATFORM_TIMEOUT_S="10",
    )


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """Simulators, Ceph and the database start at once; then the API processes and the
    workers, at once."""
    reason = ceph_missing()
    if reason:
        pytest.skip(reason)  # outside CI only: in CI a skip fails the run (tests/conftest.py)
    started = time.monotonic()
    with ExitStack() as stack, ThreadPoolExecutor(API_PROCESSES + WORKERS) as pool:
        simulators = [
            pool.submit(_simulator, "portal", PORTAL_FAULTS, tmp_path),
            pool.submit(_simulator, "legal-platform", LEGAL_FAULTS, tmp_path),
        ]
        ceph = stack.enter_context(ceph_rgw())
        database_url = stack.enter_context(throwaway_postgres())
        migrate(database_url)  # as deploy/ does, once before the replicas start
        _stop_when_closed(stack, simulators)
        portal, legal = (f.result() for f in simulators)
        dependencies_up = time.monotonic()
        s3 = S3Server("ceph", ceph.endpoint_url, ceph.access_key, ceph.secret_key)
        env = service_env(tmp_path, s3, database_url, portal, legal)
        api_logs = [tmp_path / f"serve-{i}.log" for i in range(API_PROCESSES)]
        worker_logs = [tmp_path / f"worker-{i}.log" for i in range(WORKERS)]
        apis = [pool.submit(_api, env, log) for log in api_logs]
        workers = [pool.submit(start_worker, env, log, STARTUP_TIMEOUT_S) for log in worker_logs]
        _stop_when_closed(stack, [*apis, *workers])
        yield Deployment(
            [f.result() for f in apis],
            [f.result() for f in workers],
            portal,
            legal,
            ceph,
            database_url,
            [*api_logs, *worker_logs, portal.log, legal.log],
            tmp_path / "tmp" / "disclosure-uploads",
            (dependencies_up - started, time.monotonic() - dependencies_up),
        )


# -- load, drain, check ---------------------------------------------------------------------


def run_clients(apis: list[Process]) -> list[Ack]:
    """CLIENTS clients at once, client n on API process n mod 2; their acknowledgements."""
    deadline = time.monotonic() + SUBMIT_BUDGET_S

    def client(n: int) -> list[Ack]:
        url = apis[n % len(apis)].url
        with httpx.Client(base_url=url, headers=AUTH, timeout=60) as http:
            return submit_all(http, client_filings(n), deadline=deadline)

    with ThreadPoolExecutor(CLIENTS) as pool:
        return [ack for acks in pool.map(client, range(CLIENTS)) for ack in acks]


def pending_deliveries(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            query = text("SELECT count(*) FROM deliveries WHERE status = 'pending'")
            return int(conn.execute(query).scalar_one())
    finally:
        engine.dispose()


def wait_until_drained(database_url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while (pending := pending_deliveries(database_url)) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert pending == 0, f"{pending} deliveries still pending {timeout_s} s after the last 201"


def all_filings(api: Process) -> list[dict[str, Any]]:
    pages = [
        httpx.get(
            f"{api.url}/v1/filings",
            params={"limit": 500, "offset": offset},
            headers=AUTH,
            timeout=60,
        ).json()["filings"]
        for offset in range(0, FILINGS + 1, 500)
    ]
    return [filing for page in pages for filing in page]


def verified(apis: list[Process], ids: list[str]) -> list[bool]:
    def verify(n: int) -> bool:
        url = f"{apis[n % len(apis)].url}/v1/filings/{ids[n]}/verify"
        return bool(httpx.post(url, headers=AUTH, timeout=60).json()["ok"])

    with ThreadPoolExecutor(6) as pool:
        return list(pool.map(verify, range(len(ids))))


def receipts(filings: list[dict[str, Any]], destination: str, field: str) -> Counter[str]:
    return Counter(
        d["receipt"][field]
        for f in filings
        for d in f["deliveries"]
        if d["destination"] == destination
    )


def unhandled_errors(logs: list[Path]) -> list[str]:
    lines = [line for log in logs for line in log.read_text(errors="replace").splitlines()]
    errors = [line for line in lines if any(mark in line for mark in ERROR_MARKS)]
    return [line[:2000] for line in errors if DROPPED not in line]


def admin(process: Process, path: str) -> Any:
    return httpx.get(f"{process.url}/_admin/{path}", timeout=60).json()


def show(capsys: pytest.CaptureFixture[str], *lines: str) -> None:
    """Into the CI log, with or without -s."""
    with capsys.disabled():
        print("\n" + "\n".join(f"scale: {line}" for line in lines), flush=True)


def setup_figures(deployment: Deployment) -> str:
    deps, service = deployment.setup_s
    return (
        f"setup {deps + service:.1f} s: Ceph, database and simulators {deps:.1f} s, "
        f"then the API processes and workers {service:.1f} s; load average "
        f"{os.getloadavg()[0]:.1f} on {psutil.cpu_count()} CPUs"
    )


def submit_figures(acks: list[Ack], seconds: float) -> list[str]:
    latencies = [a.seconds for a in acks]
    retried = Counter(r for a in acks for r in a.retries)
    return [
        f"{CLIENTS} clients x {len(PERIODS)} filings, {API_PROCESSES} API processes, "
        f"{WORKERS} workers, 30 % faults",
        f"acknowledged {len(acks)} filings in {seconds:.1f} s: {len(acks) / seconds:.1f} "
        f"filings/s; submit latency p50 {percentile(latencies, 50):.2f} s, "
        f"p95 {percentile(latencies, 95):.2f} s, max {max(latencies):.2f} s; "
        f"client retries {dict(retried)}",
    ]


def delivery_figures(deliveries: list[dict[str, Any]], seconds: float, faults: int) -> str:
    attempts = sum(d["attempts"] for d in deliveries)
    return (
        f"{len(deliveries)} deliveries done {seconds:.1f} s after the first submission: "
        f"{len(deliveries) / seconds:.1f} deliveries/s; {attempts} attempts, "
        f"{faults} faults injected"
    )


def cost_figures(deployment: Deployment, clients_cpu_s: float, wall_s: float) -> list[str]:
    cpu = {**deployment.cpu_seconds(), "test clients": clients_cpu_s}
    requests = deployment.ceph.log("client.rgw.a").count("req done")
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in cpu.items())
    return [
        f"CPU seconds: {parts}; total {sum(cpu.values()):.1f} in {wall_s:.1f} s of load "
        "(PostgreSQL not counted)",
        f"Ceph RGW served {requests} requests, {requests / FILINGS:.1f} per filing",
    ]


def check_catalog(filings: list[dict[str, Any]], acks: list[Ack]) -> None:
    """Every acknowledged filing once, published, delivered to each destination."""
    ids = [a.filing_id for a in acks]
    assert len(set(ids)) == FILINGS
    assert sorted(f["id"] for f in filings) == sorted(ids)
    assert {f["status"] for f in filings} == {"published"}
    deliveries = Counter((x["destination"], x["status"]) for f in filings for x in f["deliveries"])
    assert deliveries == {
        ("portal", "delivered"): FILINGS,
        ("legal_platform", "delivered"): FILINGS,
    }


def check_destinations(portal: Process, legal: Process, filings: list[dict[str, Any]]) -> None:
    """Each filing exactly once at each destination: the one its receipt names."""
    articles = admin(portal, "articles")["articles"]
    assert Counter(a["source_id"] for a in articles) == Counter(f"{f['id']}/v1" for f in filings)
    assert Counter(a["article_id"] for a in articles) == receipts(filings, "portal", "article_id")
    reports = admin(legal, "reports")["reports"]
    filed = Counter((r["org_code"], r["report_year"], r["file_sha256"]) for r in reports)
    assert filed == Counter((f["org_code"], f["period"], f["sha256"]) for f in filings)
    on_platform = Counter(r["receipt_no"] for r in reports)
    assert on_platform == receipts(filings, "legal_platform", "receipt_no")


@pytest.mark.timeout(120)
def test_50_clients_file_at_once_and_each_filing_is_archived_and_delivered_once_to_each_destination(
    deployment: Deployment, capsys: pytest.CaptureFixture[str]
) -> None:
    d = deployment
    show(capsys, setup_figures(d))
    assert len(list(d.spool_root.glob("*.lock"))) == API_PROCESSES, "each has a spool area"
    started, cpu_before = time.monotonic(), time.process_time()
    acks = run_clients(d.apis)
    show(capsys, *submit_figures(acks, time.monotonic() - started))
    wait_until_drained(d.database_url, DRAIN_BUDGET_S)
    drained = time.monotonic() - started
    filings = all_filings(d.apis[0])
    deliveries = [x for f in filings for x in f["deliveries"]]
    faults = sum(sum(admin(s, "stats").get("faults", {}).values()) for s in (d.portal, d.legal))
    show(
        capsys,
        delivery_figures(deliveries, drained, faults),
        *cost_figures(d, time.process_time() - cpu_before, time.monotonic() - started),
    )
    check_catalog(filings, acks)
    assert all(verified(d.apis, [a.filing_id for a in acks][:: FILINGS // VERIFIED_SAMPLE]))
    check_destinations(d.portal, d.legal, filings)
    assert unhandled_errors(d.logs) == []
