"""Searching a catalog of a million filings: the list, its filters, word searches and the
audit trail, on SQLite and on PostgreSQL.

    .venv/bin/python bench/query.py [--filings 1000000] [--rounds 40]
        [--sqlite PATH] [--postgres URL] [--backends sqlite,postgresql]

Loads `--filings` filings (bench/query_data.py: about 2,000 bodies, every kind of filing,
periods 2019–2026, corrections, failed and pending deliveries, reviews, audit events)
into a migrated catalog with executemany (SQLite) and COPY (PostgreSQL), once: a
database given with --sqlite or --postgres that holds filings already is used as it is
(a PostgreSQL one is vacuumed and analysed, as autovacuum would). Then, in rounds — each
case once per round, so that what else the machine does falls on every case alike — it
times the catalog's calls: a page (`list_filings`: its filings, versions and
deliveries), the exact total (`count_filings`), what `GET /v1/filings` asks
(`search_filings`: the page and its total counted up to 10,000), and pages of the audit
trail.

Prints p50 and p95 in milliseconds and the ratio of each page's p50 to the baseline's: the
database alone finding the first 100 ids (`SELECT id FROM filings ORDER BY created_at
DESC LIMIT 100`) in the same process. Figures, not pass/fail; compare runs on one machine.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.query_data import COLUMNS, NAMED_BODY, batches
from service.catalog.database import make_engine, make_sessions, migrate
from service.catalog.records import AuditQuery, FilingQuery, FilingSort
from service.catalog.sql import SqlCatalog
from service.domain.filing import DeliveryStatus, ReviewState, VersionStatus
from tests.support.databases import throwaway_postgres

BASELINE = "SELECT id FROM filings ORDER BY created_at DESC LIMIT 100"
BODY_NAMES = "INSERT INTO body_names SELECT DISTINCT org_code, org_name FROM filings"
YEAR = datetime(2026, 1, 1, tzinfo=UTC)


# -- loading ------------------------------------------------------------------------


class SqliteSink:
    """Rows into SQLite; its secondary indexes dropped first and built again at the end
    (much faster than keeping them up to date row by row)."""

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("PRAGMA synchronous=OFF")  # a bulk load: durability comes at commit
        found = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        self._indexes = self._db.execute(found).fetchall()
        for name, _ in self._indexes:
            self._db.execute(f"DROP INDEX {name}")

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        columns = COLUMNS[table] + (("filing_id",) if table == "audit_events" else ())
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self._db.executemany(statement, _with_filing_ids(table, rows))

    def finish(self) -> None:
        self._db.execute(BODY_NAMES)
        for _, definition in self._indexes:
            self._db.execute(definition)
        self._db.commit()
        self._db.close()


class PostgresSink:
    """Rows into PostgreSQL by COPY; indexes other than constraints' dropped first and
    built again at the end; then VACUUM ANALYZE, as autovacuum would in time."""

    def __init__(self, url: str) -> None:
        self._dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self._db = psycopg.connect(self._dsn)
        self._indexes = self._db.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = current_schema()"
            " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
        ).fetchall()
        for name, _ in self._indexes:
            self._db.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, rows: list[tuple[Any, ...]]) -> None:
        columns = COLUMNS[table] + (("filing_id",) if table == "audit_events" else ())
        with self._db.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in _with_filing_ids(table, rows):
                copy.write_row(row)

    def finish(self) -> None:
        self._db.execute(BODY_NAMES)
        for _, definition in self._indexes:
            self._db.execute(definition)
        self._db.commit()
        self._db.close()
        analyse(self._dsn)


def _with_filing_ids(table: str, rows: list[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
    if table != "audit_events":
        return iter(rows)
    subject = COLUMNS["audit_events"].index("subject")
    return ((*row, row[subject].split("/", 1)[0]) for row in rows)


def analyse(dsn: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def load(urls: dict[str, str], count: int, seed: int) -> None:
    """Every backend that is empty gets the same rows, generated once."""
    sinks: list[SqliteSink | PostgresSink] = []
    for kind, url in urls.items():
        migrate(url)
        if not _empty(url):
            if kind == "postgresql":
                analyse(url.replace("postgresql+psycopg://", "postgresql://"))
            continue
        sinks.append(SqliteSink(url.split("///", 1)[1]) if kind == "sqlite" else PostgresSink(url))
    if not sinks:
        return
    started = time.monotonic()
    for batch in batches(count, seed):
        for table in COLUMNS:
            for sink in sinks:
                sink.write(table, batch[table])
    for sink in sinks:
        sink.finish()
    print(f"loaded {count:,} filings in {time.monotonic() - started:.0f} s", flush=True)


def _empty(url: str) -> bool:
    engine = make_engine(url)
    with engine.connect() as conn:
        found = conn.execute(text("SELECT 1 FROM filings LIMIT 1")).first()
    engine.dispose()
    return found is None


# -- timing -------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    page: Callable[[], object]
    total: Callable[[], object] | None = None
    answer: Callable[[], object] | None = None
    page_ms: list[float] | None = None
    total_ms: list[float] | None = None
    answer_ms: list[float] | None = None


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def percentiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=20, method="inclusive")
    return statistics.median(samples), cuts[18]


def cases(engine: Engine, catalog: SqlCatalog, limit: int) -> list[Case]:
    """What a user of the list asks most, and what is hardest for it."""
    with engine.connect() as conn:
        org = conn.execute(
            text("SELECT org_code FROM filings WHERE org_name = :n LIMIT 1"), {"n": NAMED_BODY[1]}
        ).scalar_one()
        district = frozenset(
            conn.execute(text("SELECT org_code FROM body_names WHERE org_name LIKE '南开区%'"))
            .scalars()
            .all()
        )
    page_99 = _cursor_of_page(catalog, 100, limit)
    found: list[tuple[str, FilingQuery | None, AuditQuery | None]] = [
        ("first page of all", FilingQuery(), None),
        ("status=delivery_failed", FilingQuery(status=VersionStatus.DELIVERY_FAILED), None),
        ("status=published", FilingQuery(status=VersionStatus.PUBLISHED), None),
        ("page 100 by cursor", FilingQuery(after=page_99), None),
        ("page 100 by offset", FilingQuery(offset=99 * limit), None),
        ("by body (org_code)", FilingQuery(org_code=org), None),
        (f"a district's token ({len(district)} bodies)", FilingQuery(org_codes=district), None),
        ("sort=period asc", FilingQuery(sort=FilingSort.PERIOD, descending=False), None),
        ("delivery_status=failed", FilingQuery(delivery_status=DeliveryStatus.FAILED), None),
        ("delivery_status=delivered", FilingQuery(delivery_status=DeliveryStatus.DELIVERED), None),
        ("review_status=RETURNED", FilingQuery(review_status=ReviewState.RETURNED), None),
        ("title 法治", FilingQuery(title="法治"), None),
        ("title 法治政府 (3+ chars)", FilingQuery(title="法治政府"), None),
        ("body name 南开", FilingQuery(org_name="南开"), None),
        ("body name 合作交流办", FilingQuery(org_name="合作交流办"), None),
        ("audit: newest", None, AuditQuery()),
        ("audit: one body", None, AuditQuery(org_code=org)),
        ("audit: one action since 2026", None, AuditQuery(action="delivery.failed", since=YEAR)),
    ]
    return [
        _case(catalog, name, replace(filings, limit=limit) if filings else None, audit)
        for name, filings, audit in found
    ]


def _case(
    catalog: SqlCatalog, name: str, filings: FilingQuery | None, audit: AuditQuery | None
) -> Case:
    if filings is not None:
        return Case(
            name,
            lambda: catalog.list_filings(filings),
            lambda: catalog.count_filings(filings),
            lambda: catalog.search_filings(filings),
        )
    assert audit is not None
    return Case(name, lambda: catalog.audit_trail(audit))


def _cursor_of_page(catalog: SqlCatalog, number: int, limit: int) -> Any:
    after = None
    for _ in range(number - 1):
        after = catalog.search_filings(FilingQuery(after=after, limit=limit)).next_after
    return after


def measure(url: str, rounds: int, exact: bool, limit: int) -> tuple[list[float], list[Case]]:
    engine = make_engine(url)
    catalog = SqlCatalog(make_sessions(engine))

    def baseline() -> None:
        with engine.connect() as conn:
            conn.execute(text(BASELINE)).all()

    measured = cases(engine, catalog, limit)
    base: list[float] = []
    for case in measured:  # warm: plans, caches
        case.page()
        case.page_ms, case.total_ms, case.answer_ms = [], [], []
    for _ in range(rounds):
        base.append(timed(baseline))
        for case in measured:
            assert case.page_ms is not None and case.total_ms is not None
            case.page_ms.append(timed(case.page))
            if case.total is not None and case.answer is not None:
                assert case.answer_ms is not None
                if exact:
                    case.total_ms.append(timed(case.total))
                case.answer_ms.append(timed(case.answer))
    engine.dispose()
    return base, measured


def report(kind: str, base: list[float], measured: list[Case]) -> None:
    b50, b95 = percentiles(base)
    print(f"\n{kind}: baseline {b50:.2f} ms p50, {b95:.2f} ms p95 ({BASELINE})")
    print(
        f"{'case':38} {'page p50':>9} {'p95':>7} {'ratio':>6}   {'exact total p50':>15} "
        f"{'p95':>7}   {'API answer p50':>14} {'p95':>7}"
    )
    for case in measured:
        assert case.page_ms is not None
        p50, p95 = percentiles(case.page_ms)
        line = f"{case.name:38} {p50:9.1f} {p95:7.1f} {p50 / b50:6.0f}"
        if case.answer_ms:
            t50, t95 = percentiles(case.total_ms) if case.total_ms else (float("nan"),) * 2
            a50, a95 = percentiles(case.answer_ms)
            line += f"   {t50:15.1f} {t95:7.1f}   {a50:14.1f} {a95:7.1f}"
        print(line, flush=True)


# -- main ---------------------------------------------------------------------------


@contextmanager
def databases(args: argparse.Namespace) -> Iterator[dict[str, str]]:
    wanted = args.backends.split(",")
    with tempfile.TemporaryDirectory(prefix="bench-query-") as tmp:
        urls: dict[str, str] = {}
        if "sqlite" in wanted:
            urls["sqlite"] = f"sqlite:///{args.sqlite or os.path.join(tmp, 'catalog.sqlite3')}"
        if "postgresql" not in wanted:
            yield urls
        elif args.postgres:
            yield {**urls, "postgresql": args.postgres}
        else:
            with throwaway_postgres() as url:
                yield {**urls, "postgresql": url}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--filings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--sqlite", help="a SQLite file to load or reuse")
    parser.add_argument("--postgres", help="a PostgreSQL URL to load or reuse")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--limit", type=int, default=100, help="a page's filings (the API's 100)")
    parser.add_argument(
        "--no-exact", action="store_true", help="skip the exact totals (seconds each at 1 M)"
    )
    args = parser.parse_args()
    with databases(args) as urls:
        load(urls, args.filings, args.seed)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)
        for kind, url in urls.items():
            report(kind, *measure(url, args.rounds, not args.no_exact, args.limit))


if __name__ == "__main__":
    main()
