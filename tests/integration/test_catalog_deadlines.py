"""The catalog's deadline-board port — a year's filings of many bodies, exemptions —
on SQLite, PostgreSQL and the in-memory fake alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import AttemptRecord, AuditEvent, Exemption
from service.catalog.sql import SqlCatalog
from service.catalog.sql.restore import CatalogRestore
from service.domain.errors import Conflict
from service.domain.filing import DeliveryStatus
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.support.board import file_on, shanghai_morning
from tests.support.bodies import uscc
from tests.support.clock import FakeClock

ORG = uscc("11120104MB0000011")
OTHER = uscc("11120104MB0000012")


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


def _exemption(org: str = ORG, category: str = "gov_info_annual_report") -> Exemption:
    return Exemption(org, category, "2023", "机构撤并", FakeClock().now, "admin")


def _granted(org: str = ORG) -> AuditEvent:
    return AuditEvent("admin", "admin", "exemption.granted", f"exemption/{org}", org_code=org)


def test_the_board_gets_the_years_filings_of_the_bodies_asked_and_no_others(
    catalog: Catalog, clock: FakeClock
) -> None:
    day = date(2024, 1, 20)
    mine = file_on(catalog, clock, day, org_code=ORG, category="rule_of_law_report", period="2023")
    event = file_on(catalog, clock, day, org_code=ORG, category="livelihood", period="2023-12-01")
    file_on(catalog, clock, day, org_code=ORG, category="rule_of_law_report", period="2022")
    file_on(catalog, clock, day, org_code=ORG, category="livelihood", period="2024-01-02")
    file_on(catalog, clock, day, org_code=OTHER, category="rule_of_law_report", period="2023")

    found = catalog.board_filings(frozenset({ORG}), 2023)

    assert [(f.filing_id, f.category, f.period) for f in found] == [
        (event, "livelihood", "2023-12-01"),
        (mine, "rule_of_law_report", "2023"),
    ]
    assert found[1].filed_at == shanghai_morning(day)
    assert len(catalog.board_filings(None, 2023)) == 3


def test_a_filing_counts_from_its_first_version_and_a_budget_by_its_latest_approval_day(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid = file_on(
        catalog,
        clock,
        date(2023, 3, 1),
        org_code=ORG,
        category="budget_final_accounts",
        period="2023",
        variant="budget",
        approved_on=date(2023, 2, 10),
    )
    clock.now = shanghai_morning(date(2023, 5, 1))
    number = catalog.reserve_version(
        filing_id=fid,
        org_code=ORG,
        org_name="测试单位",
        category="budget_final_accounts",
        period="2023",
        actor="op",
        make_version=lambda f, n: _correction(f, n),
    )[1]
    catalog.complete_version(fid, number, (), _granted())

    [found] = catalog.board_filings(frozenset({ORG}), 2023)

    assert found.filed_at == shanghai_morning(date(2023, 3, 1))
    assert (found.variant, found.approved_on) == ("budget", "2023-02-20")
    assert found.withdrawn is False


def _correction(filing_id: str, number: int) -> object:
    from tests.support.board import _version

    metadata = {"budget": {"kind": "budget", "approved_on": "2023-02-20"}, "reason": "更正批复日期"}
    return _version(filing_id, number, ORG, "budget_final_accounts", "2023", metadata)


def test_published_on_is_when_the_portal_first_took_the_filing(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid = file_on(
        catalog,
        clock,
        date(2024, 1, 20),
        org_code=ORG,
        category="rule_of_law_report",
        period="2023",
        destinations=("portal",),
    )
    [unpublished] = catalog.board_filings(None, 2023)
    clock.now = shanghai_morning(date(2024, 1, 22))
    [delivery] = catalog.claim_due_deliveries("w1", 10, timedelta(seconds=60))
    assert delivery.lease_owner is not None
    attempt = AttemptRecord(1, "w1", clock.now, 5, "delivered", 201, None, None)
    catalog.finish_attempt(
        delivery.id,
        delivery.lease_owner,
        attempt,
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        receipt={"article_id": "a1"},
        receipt_key=f"filings/x/{fid}/v1/receipts/portal.json",
        receipt_sha256="0" * 64,
    )

    [published] = catalog.board_filings(None, 2023)

    assert unpublished.published_at is None
    assert (published.filing_id, published.published_at) == (fid, clock.now)


def test_an_exemption_is_recorded_once_with_its_audit_event(catalog: Catalog) -> None:
    catalog.add_exemption(_exemption(), _granted())
    with pytest.raises(Conflict) as refused:
        catalog.add_exemption(_exemption(), _granted())

    assert refused.value.code == "exemption_exists"
    assert catalog.exemptions(frozenset({ORG})) == [_exemption()]
    assert catalog.exemptions(frozenset({OTHER})) == []
    assert catalog.exemptions(None, "2022") == []
    assert [e.action for e in catalog.audit_events("exemption/")] == ["exemption.granted"]


def test_a_restore_brings_exemptions_back(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> None:
    engine = make_engine(fresh_database("sqlite", request, tmp_path))
    restore = CatalogRestore(make_sessions(engine), clock=clock)
    with restore.restoring() as writer:
        writer.add_exemptions([_exemption(), _exemption(OTHER)])
    assert SqlCatalog(make_sessions(engine), clock=clock).exemptions(None) == [
        _exemption(),
        _exemption(OTHER),
    ]
    assert not restore.is_empty()
    engine.dispose()
