"""The catalog's contract for searching: the list of filings (filters, words, sorts,
keyset pages, totals) and the audit trail, on SQLite, on PostgreSQL and in memory."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import (
    AttemptRecord,
    AuditEvent,
    AuditQuery,
    FilingQuery,
    FilingSort,
    NewVersion,
)
from service.catalog.sql import SqlCatalog
from service.domain.filing import DeliveryStatus, VersionStatus
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.support.clock import FakeClock

NANKAI = ("11120104MB0000001Q", "南开区合作交流办")
HEXI = ("11120103MB0000002R", "河西区司法局")
BINHAI = ("11120116MB0000003S", "滨海新区财政局")


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


def _file(
    catalog: Catalog,
    body: tuple[str, str],
    title: str,
    *,
    category: str = "rule_of_law_report",
    period: str = "2023",
    filing_id: str | None = None,
) -> str:
    """An archived filing (or a correction of `filing_id`), its portal delivery pending."""

    def version(fid: str, number: int) -> NewVersion:
        return NewVersion(
            "report.pdf", "pdf", "application/pdf", 10, f"{fid}{number}".ljust(64, "0")[:64],
            title, f"filings/{body[0]}/{category}/{period}/{fid}/v{number}/",
            {"category": category, "org_code": body[0], "org_name": body[1], "period": period},
            [], None,
        )  # fmt: skip

    fid, number = catalog.reserve_version(
        filing_id=filing_id,
        org_code=body[0],
        org_name=body[1],
        category=category,
        period=period,
        actor="op",
        make_version=version,
    )
    event = AuditEvent("op", "operator", "filing.submitted", f"{fid}/v{number}", body[0])
    catalog.complete_version(fid, number, ["portal"], event)
    return fid


def _ids(catalog: Catalog, **asked: object) -> list[str]:
    return [f.id for f in catalog.list_filings(FilingQuery(**asked))]  # type: ignore[arg-type]


def test_words_find_filings_by_a_chinese_part_of_their_title_or_body_name(
    catalog: Catalog, clock: FakeClock
) -> None:
    rule_of_law = _file(catalog, NANKAI, "南开区合作交流办2023年度法治政府建设情况报告")
    clock.advance(60)
    budget = _file(catalog, HEXI, "河西区司法局2024年部门预算", category="budget_final_accounts")
    assert _ids(catalog, title="法治") == [rule_of_law]
    assert _ids(catalog, title="部门预算") == [budget]
    assert _ids(catalog, org_name="南开") == [rule_of_law]
    assert _ids(catalog, org_name="司法局") == [budget]
    assert _ids(catalog, title="年") == [budget, rule_of_law]
    assert _ids(catalog, title="北京") == _ids(catalog, org_name="北京") == []
    assert _ids(catalog, org_name="南开", title="预算") == []


def test_a_body_is_found_by_any_name_it_has_filed_under(catalog: Catalog, clock: FakeClock) -> None:
    before = _file(catalog, (NANKAI[0], "南开区经济合作办"), "2022年度报告", period="2022")
    clock.advance(60)
    after = _file(catalog, NANKAI, "2023年度报告")
    assert _ids(catalog, org_name="合作交流") == [after, before]
    assert _ids(catalog, org_name="经济合作") == [after, before]


def test_percent_and_underscore_in_words_are_only_themselves(catalog: Catalog) -> None:
    literal = _file(catalog, NANKAI, "完成率100%_报告")
    _file(catalog, HEXI, "完成率1000x报告")
    assert _ids(catalog, title="100%") == [literal]
    assert _ids(catalog, title="0%_") == [literal]
    assert _ids(catalog, title="%") == [literal]


def test_the_latest_titles_words_count_not_an_earlier_versions(catalog: Catalog) -> None:
    fid = _file(catalog, NANKAI, "草稿")
    _file(catalog, NANKAI, "2023年度法治政府建设情况报告", filing_id=fid)
    assert _ids(catalog, title="法治") == [fid]
    assert _ids(catalog, title="草稿") == []


def test_the_status_filter_follows_the_latest_version_through_its_deliveries(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid = _file(catalog, NANKAI, "报告")
    assert _ids(catalog, status=VersionStatus.ARCHIVED) == [fid]
    [claimed] = catalog.claim_due_deliveries("w1", 10, timedelta(seconds=60))
    assert claimed.lease_owner is not None
    attempt = AttemptRecord(1, "w1", clock(), 5, "failed", 500, None, None)
    catalog.finish_attempt(
        claimed.id, claimed.lease_owner, attempt, status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    assert _ids(catalog, status=VersionStatus.DELIVERY_FAILED) == [fid]
    assert _ids(catalog, delivery_status=DeliveryStatus.FAILED) == [fid]
    assert _ids(catalog, status=VersionStatus.ARCHIVED) == []
    retry = AuditEvent("op", "operator", "delivery.retry_requested", f"{fid}/portal", NANKAI[0])
    catalog.requeue_failed_delivery(fid, "portal", retry)
    assert _ids(catalog, status=VersionStatus.ARCHIVED) == [fid]


def test_submitted_since_counts_its_moment_and_until_does_not(
    catalog: Catalog, clock: FakeClock
) -> None:
    first_at = clock()
    first = _file(catalog, NANKAI, "一")
    clock.advance(3600)
    second_at = clock()
    second = _file(catalog, HEXI, "二")
    assert _ids(catalog, submitted_since=first_at) == [second, first]
    assert _ids(catalog, submitted_since=second_at) == [second]
    assert _ids(catalog, submitted_until=second_at) == [first]
    assert _ids(catalog, submitted_since=first_at, submitted_until=second_at) == [first]


def _many(catalog: Catalog, clock: FakeClock) -> list[str]:
    made = []
    for n in range(11):
        body = (NANKAI, HEXI, BINHAI)[n % 3]
        category = ("rule_of_law_report", "budget_final_accounts")[n % 2]
        made.append(_file(catalog, body, f"报告{n}", category=category, period=str(2019 + n % 4)))
        clock.advance(0 if n == 4 else 60)  # two filings at one moment: ties break by id
    return made


@pytest.mark.parametrize("sort", list(FilingSort))
@pytest.mark.parametrize("descending", [True, False])
def test_keyset_pages_list_every_filing_once_in_order(
    catalog: Catalog, clock: FakeClock, sort: FilingSort, descending: bool
) -> None:
    _many(catalog, clock)
    whole = FilingQuery(sort=sort, descending=descending, limit=100)
    everything = catalog.search_filings(whole)
    key = (
        (lambda f: (f.created_at, f.id))
        if sort is FilingSort.CREATED_AT
        else (lambda f: (getattr(f, sort.value), f.created_at, f.id))
    )
    assert list(everything.filings) == sorted(everything.filings, key=key, reverse=descending)
    assert everything.next_after is None and everything.total == 11
    seen, after, totals = [], None, set()
    while True:
        page = catalog.search_filings(replace(whole, limit=4, after=after))
        seen += [f.id for f in page.filings]
        totals.add(page.total)
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [f.id for f in everything.filings]
    assert totals == {11}


def test_offset_pages_agree_with_keyset_pages(catalog: Catalog, clock: FakeClock) -> None:
    _many(catalog, clock)
    first = catalog.search_filings(FilingQuery(limit=5))
    by_cursor = catalog.search_filings(FilingQuery(limit=5, after=first.next_after))
    by_offset = catalog.search_filings(FilingQuery(limit=5, offset=5))
    assert [f.id for f in by_cursor.filings] == [f.id for f in by_offset.filings]
    assert by_cursor.total == by_offset.total == 11


def test_a_total_past_its_limit_says_so_instead_of_counting_on(
    catalog: Catalog, clock: FakeClock
) -> None:
    _many(catalog, clock)
    first = catalog.search_filings(FilingQuery(limit=2, count_up_to=5))
    assert (first.total, first.total_exact) == (5, False)  # shown as "5+"
    assert len(first.filings) == 2 and first.next_after is not None
    under = catalog.search_filings(FilingQuery(limit=2, count_up_to=11))
    assert (under.total, under.total_exact) == (11, True)
    pending = FilingQuery(limit=2, delivery_status=DeliveryStatus.PENDING, count_up_to=5)
    assert catalog.search_filings(pending).total_exact is False  # each has one pending
    mine = replace(pending, org_codes=frozenset({NANKAI[0]}), count_up_to=11)
    counted = catalog.search_filings(mine)
    assert counted.total_exact and counted.total == catalog.count_filings(mine)


def test_a_token_sees_and_counts_only_its_bodies(catalog: Catalog, clock: FakeClock) -> None:
    made = _many(catalog, clock)
    mine = FilingQuery(org_codes=frozenset({NANKAI[0], HEXI[0]}), limit=3)
    page = catalog.search_filings(mine)
    assert page.total == len([m for n, m in enumerate(made) if n % 3 != 2])
    assert {f.org_code for f in page.filings} <= {NANKAI[0], HEXI[0]}
    assert catalog.count_filings(replace(mine, org_code=BINHAI[0])) == 0
    assert catalog.count_filings(replace(mine, org_name="滨海")) == 0


def test_a_filing_never_acknowledged_is_neither_listed_nor_counted(catalog: Catalog) -> None:
    catalog.reserve_version(
        filing_id=None,
        org_code=NANKAI[0],
        org_name=NANKAI[1],
        category="rule_of_law_report",
        period="2023",
        actor="op",
        make_version=lambda f, n: NewVersion(
            "a.pdf", "pdf", "application/pdf", 1, "0" * 64, "报告", "p/", {}, [], None
        ),
    )
    assert catalog.search_filings(FilingQuery(org_name="南开")).total == 0
    assert catalog.count_filings(FilingQuery()) == 0


# -- the audit trail ------------------------------------------------------------------


def _events(catalog: Catalog, clock: FakeClock) -> None:
    for n, (actor, action, subject, org) in enumerate(
        [
            ("op-nankai", "filing.submitted", "fil_20240112aaaaaaaaaaaa/v1", NANKAI[0]),
            ("worker-1", "delivery.delivered", "fil_20240112aaaaaaaaaaaa/v1/portal", NANKAI[0]),
            ("op-hexi", "filing.refused", f"{HEXI[0]}/rule_of_law_report/2023", HEXI[0]),
            ("auditor", "package.downloaded", "fil_20240112aaaaaaaaaaaa/v1", NANKAI[0]),
            ("admin", "catalog.rebuilt", "catalog", None),
        ]
    ):
        catalog.audit(AuditEvent(actor, "operator", action, subject, org, detail={"n": n}))
        clock.advance(0 if n == 0 else 10)  # two events at one moment: ties by their order


def _trail(catalog: Catalog, **asked: object) -> list[int]:
    page = catalog.audit_trail(AuditQuery(**asked))  # type: ignore[arg-type]
    return [e.event.detail["n"] for e in page.entries]


def test_the_trail_is_newest_first_and_pages_by_its_cursor(
    catalog: Catalog, clock: FakeClock
) -> None:
    _events(catalog, clock)
    assert _trail(catalog) == [4, 3, 2, 1, 0]
    first = catalog.audit_trail(AuditQuery(limit=2))
    second = catalog.audit_trail(AuditQuery(limit=2, after=first.next_after))
    third = catalog.audit_trail(AuditQuery(limit=2, after=second.next_after))
    pages = [first, second, third]
    assert [[e.event.detail["n"] for e in p.entries] for p in pages] == [[4, 3], [2, 1], [0]]
    assert third.next_after is None


def test_the_trail_filters_by_filing_body_actor_action_and_time(
    catalog: Catalog, clock: FakeClock
) -> None:
    start = clock()
    _events(catalog, clock)
    assert _trail(catalog, filing_id="fil_20240112aaaaaaaaaaaa") == [3, 1, 0]
    assert _trail(catalog, org_code=HEXI[0]) == [2]
    assert _trail(catalog, actor="worker-1") == [1]
    assert _trail(catalog, action="package.downloaded") == [3]
    assert _trail(catalog, since=start + timedelta(seconds=10)) == [4, 3, 2]
    assert _trail(catalog, until=start + timedelta(seconds=10)) == [1, 0]


def test_events_of_no_body_are_for_tokens_of_every_body_only(
    catalog: Catalog, clock: FakeClock
) -> None:
    _events(catalog, clock)
    assert _trail(catalog, org_codes=frozenset({NANKAI[0]})) == [3, 1, 0]
    assert 4 in _trail(catalog, org_codes=None)


def test_recent_events_of_an_action_are_counted_per_address(
    catalog: Catalog, clock: FakeClock
) -> None:
    """What the sign-in throttle asks, across every API replica."""
    failed = "session.sign_in_failed"
    for source in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        catalog.audit(AuditEvent("anonymous", "", failed, "session", source=source))
        clock.advance(20)
    catalog.audit(
        AuditEvent("op", "operator", "session.signed_in", "session/op", source="10.0.0.1")
    )
    since = clock() - timedelta(minutes=1)
    assert catalog.count_recent(failed, "10.0.0.1", since) == 2
    assert catalog.count_recent(failed, "10.0.0.2", since) == 1
    clock.advance(15)  # the first failure is now more than a minute old
    assert catalog.count_recent(failed, "10.0.0.1", clock() - timedelta(minutes=1)) == 1
