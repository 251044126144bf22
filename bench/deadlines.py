"""The deadline board's speed: a catalog of BODIES bodies × YEARS years of filings (the
four annual rows and EVENTS event items a body a year, each with one version and one
delivered portal delivery), on SQLite and on PostgreSQL (127.0.0.1:5432).

    .venv/bin/python bench/deadlines.py [--bodies 1000] [--years 5] [--events 6] [--runs 200]

Prints p50/p95 of `DeadlineBoard.rows` for one year: a district's board (DISTRICT bodies
visible, as a district's token sees it) and the whole registry's (an all-bodies token).
Goal (issue 12): p95 ≤ 100 ms for a district's board. Rows are inserted straight into the
tables: this measures the board, not ingest.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.catalog.database import make_engine, make_sessions, migrate  # noqa: E402
from service.catalog.sql import SqlCatalog  # noqa: E402
from service.catalog.sql.tables import DeliveryRow, FilingRow, VersionRow  # noqa: E402
from service.domain.org import Level, Organisation, OrgRegistry  # noqa: E402
from service.usecases.deadlines import DeadlineBoard, DueDates  # noqa: E402
from service.validation.config import ValidationRules  # noqa: E402
from tests.support.bodies import uscc  # noqa: E402
from tests.support.databases import throwaway_postgres  # noqa: E402

DISTRICT = 50
FIRST_YEAR = 2019
BOARD_YEAR = 2022
ANNUAL = [
    ("rule_of_law_report", None),
    ("gov_info_annual_report", None),
    ("budget_final_accounts", "budget"),
    ("budget_final_accounts", "final_accounts"),
]
EVENTS = ["leadership", "organization", "livelihood"]
BATCH = 5_000


def bodies(count: int) -> list[Organisation]:
    return [
        Organisation(
            uscc(f"1112{n // 1000:04d}MB{n % 1000:07d}"),
            f"第{n}号单位",
            level=Level.DISTRICT_GOVERNMENT if n % DISTRICT == 0 else Level.DEPARTMENT,
        )
        for n in range(count)
    ]


def rows(orgs: list[Organisation], years: int, events: int) -> Iterator[tuple[dict[str, Any], ...]]:
    """(filing, version, delivery) rows: on time, late or (one in seven) missing."""
    n = 0
    for org in orgs:
        for year in range(FIRST_YEAR, FIRST_YEAR + years):
            kinds = [(c, v, str(year)) for c, v in ANNUAL]
            kinds += [
                (EVENTS[i % len(EVENTS)], None, f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}")
                for i in range(events)
            ]
            for category, variant, period in kinds:
                n += 1
                if n % 7 == 0:
                    continue
                yield _filing(n, org.org_code, category, variant, period, year)


def _filing(
    n: int, org: str, category: str, variant: str | None, period: str, year: int
) -> tuple[dict[str, Any], ...]:
    filing_id = f"fil_bench{n:010d}"
    at = datetime(year + 1, 1, 1, tzinfo=UTC) + timedelta(days=n % 120)
    metadata: dict[str, Any] = {"org_code": org, "category": category, "period": period}
    if variant:
        metadata["budget"] = {"kind": variant, "approved_on": f"{year}-02-{1 + n % 27:02d}"}
    filing = {
        "id": filing_id,
        "org_code": org,
        "org_name": "单位",
        "category": category,
        "period": period,
        "variant": variant,
        "latest_version": 1,
        "created_at": at,
        "created_by": "bench",
    }
    version = {
        "filing_id": filing_id,
        "version": 1,
        "status": "published",
        "supersedes": None,
        "filename": "r.pdf",
        "kind": "pdf",
        "media_type": "application/pdf",
        "size": 1,
        "sha256": "0" * 64,
        "title": None,
        "package_prefix": f"filings/{org}/{category}/{period}/{filing_id}/v1/",
        "manifest_sha256": None,
        "last_verified_at": None,
        "last_verified_ok": None,
        "metadata_json": metadata,
        "findings_json": [],
        "publish_at": None,
        "created_at": at,
        "created_by": "bench",
    }
    delivery = {
        "id": f"dlv_bench{n:010d}",
        "filing_id": filing_id,
        "version": 1,
        "destination": "portal",
        "idempotency_key": f"{filing_id}-v1-portal",
        "status": "delivered",
        "attempts": 1,
        "next_attempt_at": at,
        "first_attempt_at": at,
        "state_json": {},
        "receipt_json": {"article_id": filing_id},
        "created_at": at,
        "updated_at": at,
        "delivered_at": at + timedelta(hours=1),
    }
    return filing, version, delivery


def load(url: str, orgs: list[Organisation], years: int, events: int) -> int:
    migrate(url)
    engine = make_engine(url)
    batches: tuple[list[dict[str, Any]], ...] = ([], [], [])
    count = 0
    with engine.begin() as conn:
        for triple in rows(orgs, years, events):
            count += 1
            for batch, row in zip(batches, triple, strict=True):
                batch.append(row)
            if len(batches[0]) >= BATCH:
                _flush(conn, batches)
        _flush(conn, batches)
    engine.dispose()
    return count


def _flush(conn: Any, batches: tuple[list[dict[str, Any]], ...]) -> None:
    for table, batch in zip((FilingRow, VersionRow, DeliveryRow), batches, strict=True):
        if batch:
            conn.execute(insert(table), batch)
            batch.clear()


def timed(call: Callable[[], object], runs: int) -> tuple[float, float]:
    call()  # warm the connection pool and caches
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def measure(name: str, url: str, args: argparse.Namespace) -> None:
    orgs = bodies(args.bodies)
    started = time.perf_counter()
    filings = load(url, orgs, args.years, args.events)
    loaded = time.perf_counter() - started
    engine = make_engine(url)
    catalog = SqlCatalog(make_sessions(engine))
    board = DeadlineBoard(
        catalog, OrgRegistry.of(orgs), DueDates(ValidationRules()), lambda: datetime.now(UTC)
    )
    district = frozenset(o.org_code for o in orgs[:DISTRICT])
    as_of = date(BOARD_YEAR + 1, 6, 30)
    cases = {
        f"district ({DISTRICT} bodies)": lambda: board.rows(
            BOARD_YEAR, visible=district, as_of=as_of
        ),
        f"all ({len(orgs)} bodies)": lambda: board.rows(BOARD_YEAR, visible=None, as_of=as_of),
        "one body": lambda: board.rows(
            BOARD_YEAR, visible=None, as_of=as_of, org_code=orgs[7].org_code
        ),
    }
    print(f"{name}: {filings:,} filings loaded in {loaded:.1f} s")
    for case, call in cases.items():
        runs = args.runs if "district" in case or "one" in case else max(5, args.runs // 20)
        p50, p95 = timed(call, runs)
        print(f"  {case:<22} rows {len(call()):>6,}   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bodies", type=int, default=1000)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--events", type=int, default=6)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", args)
    if not args.sqlite_only:
        with throwaway_postgres() as url:
            measure("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
