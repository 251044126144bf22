"""The legal platform's review, followed to the end: a report delivered, then accepted or
returned; a returned report needs correction, and its correction goes as version 2."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from service.archive.packages import Packages
from service.catalog.ports import Catalog
from service.delivery.legal_platform import LegalPlatformAdapter, LegalPlatformConfig
from service.delivery.policy import RetryPolicy
from service.delivery.reviews import poll_reviews
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.simulators.legal_platform import SimulatorConfig, start_in_thread
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.verification import verify_filing
from tests.fakes import InMemoryStore
from tests.support.bodies import sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


@pytest.fixture
def platform() -> Iterator[str]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running.url


@pytest.fixture
def packages(clock: FakeClock) -> Packages:
    return Packages(InMemoryStore(), clock=clock)


def _ingest(catalog: Catalog, packages: Packages, clock: FakeClock) -> Ingest:
    return Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for({Category.RULE_OF_LAW_REPORT: [Destination.LEGAL_PLATFORM]}),
        clock=clock,
    )


def _submit(ingest: Ingest, text: str, correcting: str | None = None) -> str:
    upload = spool([docx_from_text(text)], "report.docx", 10**8)
    reason = {"reason": "按审核意见更正"} if correcting else {}
    metadata = FilingMetadata.model_validate(sample_metadata(**reason))
    return submit_filing(
        ingest, OPERATOR, metadata, upload, Origin(), correcting=correcting
    ).filing.id


def _deliver(
    catalog: Catalog, packages: Packages, clock: FakeClock, adapter: LegalPlatformAdapter
) -> None:
    config = WorkerConfig("w", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 3600))
    Worker(
        catalog=catalog,
        packages=packages,
        adapters={"legal_platform": adapter},
        config=config,
        clock=clock,
        reader=in_process_reader(),
    ).run_once()


def _review(platform: str, receipt_no: str, status: str, reason: str | None = None) -> None:
    body: dict[str, Any] = {"status": status, **({"return_reason": reason} if reason else {})}
    response = httpx.post(f"{platform}/_admin/reviews/{receipt_no}", json=body)
    assert response.status_code == 200, response.text


def _adapter(platform: str) -> LegalPlatformAdapter:
    return LegalPlatformAdapter(
        LegalPlatformConfig(
            base_url=platform, app_key="legal-demo", app_secret="legal-demo-secret", quick_tries=1
        )
    )


def test_a_returned_report_needs_correction_and_its_correction_goes_as_version_2(
    catalog: Catalog, packages: Packages, clock: FakeClock, platform: str
) -> None:
    ingest, adapter = _ingest(catalog, packages, clock), _adapter(platform)
    text = SAMPLE_PATH.read_text(encoding="utf-8")
    filing_id = _submit(ingest, text)
    _deliver(catalog, packages, clock, adapter)
    filing = catalog.get_filing(filing_id)
    assert filing is not None
    receipt_no = filing.deliveries[0].receipt["receipt_no"]  # type: ignore[index]

    assert poll_reviews(catalog, packages, adapter, clock=clock, interval=timedelta(0)).polled == 1
    assert catalog.get_filing(filing_id).deliveries[0].review_status == "RECEIVED"  # type: ignore[union-attr]

    _review(platform, receipt_no, "RETURNED", "第三部分未写明主要负责人履职情况")
    clock.advance(1)
    outcome = poll_reviews(catalog, packages, adapter, clock=clock, interval=timedelta(0))
    assert outcome.returned == 1
    returned = catalog.get_filing(filing_id)
    assert returned is not None
    assert returned.deliveries[0].review_status == "RETURNED"
    assert returned.deliveries[0].review_reason == "第三部分未写明主要负责人履职情况"
    assert "review.returned" in [e.action for e in catalog.audit_events()]
    assert all(
        r.ok for r in verify_filing(catalog, packages, filing_id, checked_by="t", now=clock())
    )

    _submit(ingest, text.replace("夯实理论根基", "夯实理论根基（更正）"), correcting=filing_id)
    _deliver(catalog, packages, clock, adapter)
    corrected = catalog.get_filing(filing_id)
    assert corrected is not None
    second = next(d for d in corrected.deliveries if d.version == 2)
    assert second.status == "delivered"
    assert second.receipt is not None and second.receipt["platform_version"] == 2
    reports = httpx.get(f"{platform}/_admin/reports").json()["reports"]
    assert sorted(r["version"] for r in reports) == [1, 2]


def test_an_accepted_report_is_not_polled_again(
    catalog: Catalog, packages: Packages, clock: FakeClock, platform: str
) -> None:
    ingest, adapter = _ingest(catalog, packages, clock), _adapter(platform)
    filing_id = _submit(ingest, SAMPLE_PATH.read_text(encoding="utf-8"))
    _deliver(catalog, packages, clock, adapter)
    receipt_no = catalog.get_filing(filing_id).deliveries[0].receipt["receipt_no"]  # type: ignore[union-attr,index]
    _review(platform, receipt_no, "ACCEPTED")
    assert (
        poll_reviews(catalog, packages, adapter, clock=clock, interval=timedelta(0)).accepted == 1
    )
    clock.advance(10)
    assert poll_reviews(catalog, packages, adapter, clock=clock, interval=timedelta(0)).polled == 0


def test_a_report_polled_recently_waits_for_the_interval(
    catalog: Catalog, packages: Packages, clock: FakeClock, platform: str
) -> None:
    ingest, adapter = _ingest(catalog, packages, clock), _adapter(platform)
    _submit(ingest, SAMPLE_PATH.read_text(encoding="utf-8"))
    _deliver(catalog, packages, clock, adapter)
    hour = timedelta(hours=1)
    assert poll_reviews(catalog, packages, adapter, clock=clock, interval=hour).polled == 1
    assert poll_reviews(catalog, packages, adapter, clock=clock, interval=hour).polled == 0
    clock.advance(3601)
    assert poll_reviews(catalog, packages, adapter, clock=clock, interval=hour).polled == 1
