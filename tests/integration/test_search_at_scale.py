"""The list at scale (issue 12): 20,000 filings of 2,000 bodies, as bench/query.py loads a
million. What a user would check without a stopwatch: a page costs the same few
statements however long it is (no statement per filing), and every search finds its
page's keys along an index, without sorting the table (SQLite's plan, which has no
statistics to change it; PostgreSQL's for the searches whose plan cannot depend on them).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from bench.query import load
from bench.query_data import NAMED_BODY
from service.catalog.database import make_engine, make_sessions
from service.catalog.records import FilingQuery, FilingSort
from service.catalog.sql import SqlCatalog
from service.domain.filing import DeliveryStatus, ReviewState, VersionStatus
from tests.support.databases import throwaway_postgres

FILINGS = 20_000


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    with _database(request.param, tmp_path_factory.mktemp("scale")) as url:
        load({request.param: url}, FILINGS, seed=7)
        engine = make_engine(url)
        yield engine
        engine.dispose()


@contextmanager
def _database(kind: str, directory: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{directory / 'catalog.sqlite3'}"
    else:
        with throwaway_postgres() as url:
            yield url


@contextmanager
def _statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


SEARCHES = {
    "first page": FilingQuery(),
    "a status": FilingQuery(status=VersionStatus.DELIVERY_FAILED),
    "a body": FilingQuery(org_code=NAMED_BODY[0]),
    "a kind": FilingQuery(category="livelihood"),
    "by period": FilingQuery(sort=FilingSort.PERIOD),
    "a kind, by period": FilingQuery(category="livelihood", sort=FilingSort.PERIOD),
    "by body name, ascending": FilingQuery(sort=FilingSort.ORG_NAME, descending=False),
    "words of a body's name": FilingQuery(org_name="南开"),
    "words of a title": FilingQuery(title="法治"),
    "a delivery's status": FilingQuery(delivery_status=DeliveryStatus.FAILED),
    "a review's outcome": FilingQuery(review_status=ReviewState.RETURNED),
}


@pytest.mark.parametrize("name", SEARCHES)
def test_a_page_costs_the_same_few_statements_however_long_it_is(loaded: Engine, name: str) -> None:
    catalog = SqlCatalog(make_sessions(loaded))
    counts = []
    for limit in (5, 50, 200):
        with _statements(loaded) as seen:
            page = catalog.list_filings(replace(SEARCHES[name], limit=limit))
        assert page, "the loaded catalog has filings for every search"
        counts.append(len(seen))
    # the page's keys, its filings, their versions, their deliveries, their withdrawals
    # (+ the bodies named)
    assert counts[0] == counts[1] == counts[2] <= 6


# A filter and a sort on one index; a filter on one column sorted on another ("a kind,
# by period") reads one of their indexes and filters or sorts what it finds.
PLAIN = ["first page", "a status", "a body", "a kind", "by period", "by body name, ascending"]


@pytest.mark.parametrize("name", PLAIN)
def test_a_page_is_read_along_an_index_in_its_order(loaded: Engine, name: str) -> None:
    plan = _plan_of_keys(loaded, SEARCHES[name])
    if loaded.dialect.name == "sqlite":
        assert all("USING COVERING INDEX" in step for step in plan), plan
        assert not any("TEMP B-TREE" in step for step in plan), plan
    else:
        assert any("Index" in step and "Scan" in step for step in plan), plan
        assert not any(step.lstrip(" ->").startswith("Sort") for step in plan), plan


@pytest.mark.parametrize("name", ["words of a body's name", "a body", "a status"])
def test_a_total_is_counted_along_an_index_without_the_table(loaded: Engine, name: str) -> None:
    plan = _plan_of_count(loaded, SEARCHES[name])
    if loaded.dialect.name == "sqlite":
        assert all("COVERING INDEX" in step for step in plan), plan
    else:
        assert not any("Seq Scan on filings" in step for step in plan), plan


def _plan_of_keys(engine: Engine, query: FilingQuery) -> list[str]:
    catalog = SqlCatalog(make_sessions(engine))
    with _statements(engine) as seen:
        catalog.list_filings(query)
    keys = next(
        s for s in seen if s[0].lstrip().startswith("SELECT filings.") and "FROM filings" in s[0]
    )
    return _explain(engine, *keys)


def _plan_of_count(engine: Engine, query: FilingQuery) -> list[str]:
    catalog = SqlCatalog(make_sessions(engine))
    with _statements(engine) as seen:
        catalog.count_filings(query)
    return _explain(engine, *next(s for s in seen if "count(" in s[0]))


def _explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(prefix + statement, parameters).all()
    return [str(row[-1]) for row in rows]


def test_the_loaded_catalog_is_what_the_bench_measures(loaded: Engine) -> None:
    with loaded.connect() as conn:
        filings = conn.execute(text("SELECT count(*) FROM filings")).scalar_one()
        bodies = conn.execute(text("SELECT count(DISTINCT org_code) FROM filings")).scalar_one()
    assert filings == FILINGS and bodies > 1500
