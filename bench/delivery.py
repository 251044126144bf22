"""Delivery throughput: drain 2,000 queued deliveries against the portal simulator.

    .venv/bin/python bench/delivery.py [--deliveries 2000] [--latency-ms 20] [--concurrency 8]

Runs every combination of 1 and 4 worker processes × 0 % and 30 % faults, each on a
fresh PostgreSQL database (127.0.0.1:5432) and a fresh simulator process, and prints
deliveries per second, the ratio to the limit that concurrency and latency allow
(processes × concurrency ÷ latency), and the lost and duplicated counts (both must be 0).
The queue is filled directly through the catalog and archive (not the HTTP API):
this measures delivery, not ingest.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.archive.filesystem import FilesystemStore  # noqa: E402
from service.archive.packages import Packages, PayloadFile, package_prefix  # noqa: E402
from service.catalog.database import make_engine, make_sessions, migrate  # noqa: E402
from service.catalog.records import AuditEvent, NewVersion  # noqa: E402
from service.catalog.sql import SqlCatalog  # noqa: E402
from tests.support.databases import throwaway_postgres  # noqa: E402
from tests.support.servers import DISCLOSURE, base_env, free_port, start_process, start_worker  # noqa: E402

ORG = "11120104MB00000012"
BODY = "南开区合作交流办2023年度法治政府建设情况报告。\n一、主要举措和成效……".encode()


@dataclass
class Run:
    processes: int
    fault_rate: float
    seconds: float
    delivered: int
    lost: int
    duplicated: int
    requests: int


def _version(n: int, digest: str, meta: dict[str, str], filing_id: str, number: int) -> NewVersion:
    prefix = package_prefix(ORG, "rule_of_law_report", "2023", filing_id, number)
    kind, media = "txt", "text/plain; charset=utf-8"
    return NewVersion(
        "report.txt", kind, media, len(BODY), digest, f"报告 {n}", prefix, meta, [], None
    )


def fill_queue(database_url: str, archive: Path, count: int) -> None:
    migrate(database_url)
    engine = make_engine(database_url)
    catalog = SqlCatalog(make_sessions(engine))
    packages = Packages(FilesystemStore(archive))
    digest = hashlib.sha256(BODY).hexdigest()
    meta = {
        "category": "rule_of_law_report",
        "org_code": ORG,
        "org_name": "南开区合作交流办",
        "period": "2023",
    }
    for n in range(count):
        make = functools.partial(_version, n, digest, meta)
        filing_id, number = catalog.reserve_version(
            filing_id=None,
            org_code=ORG,
            org_name="南开区合作交流办",
            category="rule_of_law_report",
            period="2023",
            actor="bench",
            make_version=make,
        )
        spec = make(filing_id, number)
        payload = [PayloadFile("report.txt", io.BytesIO(BODY), digest)]
        ref = packages.put_package(
            spec.package_prefix,
            payload,
            {"filing_id": filing_id, "version": number, "submitted": meta},
            {},
        )
        event = AuditEvent("bench", "system", "filing.submitted", filing_id)
        catalog.complete_version(
            filing_id, number, ["portal"], event, manifest_sha256=ref.manifest.sha256
        )
    engine.dispose()


def delivered_count(database_url: str) -> int:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
        ).scalar()
    engine.dispose()
    return int(n or 0)


def drain_seconds(database_url: str) -> float:
    """From the first claim to the last delivery, as the catalog recorded them."""
    engine = create_engine(database_url)
    with engine.connect() as conn:
        first, last = conn.execute(
            text("SELECT min(first_attempt_at), max(delivered_at) FROM deliveries")
        ).one()
    engine.dispose()
    if first is None or last is None:
        return float("nan")  # nothing was delivered before the timeout
    return float((last - first).total_seconds())


def one_run(args: argparse.Namespace, processes: int, fault_rate: float, work: Path) -> Run:
    with throwaway_postgres() as database_url:
        archive = work / "archive"
        archive.mkdir(parents=True)
        fill_queue(database_url, archive, args.deliveries)
        port = free_port()
        kinds = "http_500,http_502,http_503,http_504,rate_limit,after_commit_503,drop_connection,token_expired"
        portal = start_process(
            [
                "simulate",
                "portal",
                "--port",
                str(port),
                "--failure-rate",
                str(fault_rate),
                "--kinds",
                kinds,
                "--base-latency-ms",
                str(args.latency_ms),
                "--seed",
                "11",
            ],
            base_env(),
            work / "portal.log",
            f"http://127.0.0.1:{port}/_admin/stats",
        )
        env = base_env(
            DISCLOSURE_DATA_DIR=str(work),
            DISCLOSURE_DATABASE_URL=database_url,
            DISCLOSURE_ARCHIVE_URL=f"file://{archive}",
            DISCLOSURE_PORTAL_URL=portal.url,
            DISCLOSURE_WORKER_CONCURRENCY=str(args.concurrency),
            DISCLOSURE_WORKER_POLL_S="0.02",
            DISCLOSURE_QUICK_TRIES="2",
            DISCLOSURE_BACKOFF_INITIAL_S="0.02",
            DISCLOSURE_BACKOFF_MAX_S="0.1",
            DISCLOSURE_RETRY_SCHEDULE_S="[0.05, 0.1]",
        )
        started = time.monotonic()
        workers: list[subprocess.Popen[bytes]] = []
        try:
            with ThreadPoolExecutor(processes) as pool:
                workers = list(
                    pool.map(
                        lambda i: start_worker(env, work / f"worker-{i}.log"), range(processes)
                    )
                )
            done = 0
            while done < args.deliveries and time.monotonic() < started + args.timeout_s:
                time.sleep(0.2)
                done = delivered_count(database_url)
            seconds = drain_seconds(database_url)
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            for worker in workers:
                worker.wait(timeout=60)
            articles = httpx.get(f"{portal.url}/_admin/articles", timeout=60).json()["articles"]
            stats = httpx.get(f"{portal.url}/_admin/stats").json()
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.kill()
            portal.stop()
        counts = Counter(a["source_id"] for a in articles)
        return Run(
            processes,
            fault_rate,
            seconds,
            done,
            args.deliveries - len(counts),
            sum(c - 1 for c in counts.values()),
            int(stats["requests"]),
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout-s", type=float, default=600)
    args = parser.parse_args()
    print(
        f"{args.deliveries} deliveries, portal latency {args.latency_ms} ms, concurrency {args.concurrency} per worker ({DISCLOSURE})"
    )
    print(
        f"{'workers':>7} {'faults':>6} {'seconds':>8} {'deliv/s':>8} {'limit/s':>8} {'ratio':>6} {'req/deliv':>9} {'lost':>5} {'dup':>4}"
    )
    for processes in (1, 4):
        for fault_rate in (0.0, 0.3):
            with tempfile.TemporaryDirectory(prefix="bench-delivery-") as tmp:
                run = one_run(args, processes, fault_rate, Path(tmp))
            rate = run.delivered / run.seconds
            limit = processes * args.concurrency / (args.latency_ms / 1000)
            print(
                f"{run.processes:>7} {run.fault_rate:>6.0%} {run.seconds:>8.1f} {rate:>8.1f} {limit:>8.0f} "
                f"{rate / limit:>6.2f} {run.requests / max(run.delivered, 1):>9.2f} {run.lost:>5} {run.duplicated:>4}",
                flush=True,
            )


if __name__ == "__main__":
    main()
