"""Polling the legal platform's reviews as a use case, on the fakes of its ports: the
catalog and the archive in memory, a scripted platform. What is final is recorded and
archived as a receipt; what is not is polled again after the interval."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from service.archive.packages import Packages
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, ReviewStatus, ReviewUnavailable, UnknownReceipt
from service.delivery.reviews import ReviewPoll, poll_reviews
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.destinations import Capability
from service.domain.filing import Category, Destination, ReviewState
from service.domain.metadata import FilingMetadata
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from tests.fakes import InMemoryStore, MemoryCatalog, ScriptedPortal
from tests.support.bodies import sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
NOW = timedelta(0)


@dataclass
class ScriptedPlatform:
    """Answers each poll from a script, and remembers the receipts it was asked about."""

    answers: list[ReviewPoll]
    asked: list[str] = field(default_factory=list)
    destination: str = "legal_platform"
    capabilities: frozenset[Capability] = frozenset({Capability.REVIEWS})

    def deliver(self, job: object, journal: object) -> object:
        raise AssertionError("only polled")

    def poll_review(self, receipt_no: str, org_code: str) -> ReviewPoll:
        self.asked.append(receipt_no)
        return self.answers.pop(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def packages(clock: FakeClock) -> Packages:
    return Packages(InMemoryStore(), clock=clock)


@pytest.fixture
def delivered(catalog: MemoryCatalog, packages: Packages, clock: FakeClock) -> str:
    """A report delivered to the legal platform, with receipt R-1."""
    routes = {Category.RULE_OF_LAW_REPORT: [Destination.LEGAL_PLATFORM]}
    ingest = Ingest(catalog=catalog, packages=packages, checks=checks_for(routes), clock=clock)
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8)
    metadata = FilingMetadata.model_validate(sample_metadata())
    filing_id = submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id
    platform = ScriptedPortal([Delivered({"receipt_no": "R-1"})], destination="legal_platform")
    config = WorkerConfig("w", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 60))
    worker = Worker(
        catalog=catalog,
        packages=packages,
        adapters={"legal_platform": platform},
        config=config,
        clock=clock,
        reader=in_process_reader(),
    )
    assert worker.run_once() == 1
    return filing_id


def _review(catalog: MemoryCatalog, filing_id: str) -> tuple[ReviewState | None, str | None]:
    filing = catalog.get_filing(filing_id)
    assert filing is not None
    return filing.deliveries[0].review_status, filing.deliveries[0].review_reason


def test_a_returned_report_is_recorded_audited_and_its_outcome_archived(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, delivered: str
) -> None:
    platform = ScriptedPlatform([ReviewStatus("R-1", "RETURNED", "第三部分缺主要负责人履职情况")])
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=NOW).returned == 1
    assert _review(catalog, delivered) == (ReviewState.RETURNED, "第三部分缺主要负责人履职情况")
    assert "review.returned" in [e.action for e in catalog.audit_events()]
    version = catalog.get_version(delivered, 1)
    assert version is not None
    receipts = packages.list_receipts(version.package_prefix)
    assert len(receipts) == 2  # the delivery's and the review's, write-once beside the package


def test_a_report_still_received_is_polled_again_only_after_the_interval(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, delivered: str
) -> None:
    hour = timedelta(hours=1)
    platform = ScriptedPlatform([ReviewStatus("R-1", "RECEIVED"), ReviewStatus("R-1", "ACCEPTED")])
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=hour).polled == 1
    assert _review(catalog, delivered) == (ReviewState.RECEIVED, None)
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=hour).polled == 0
    clock.advance(3601)
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=hour).accepted == 1
    clock.advance(3601)
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=hour).polled == 0
    assert platform.asked == ["R-1", "R-1"]


def test_a_receipt_the_platform_does_not_know_is_recorded_and_not_polled_again(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, delivered: str
) -> None:
    platform = ScriptedPlatform([UnknownReceipt("R-1", "回执号不存在")])
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=NOW).unknown == 1
    assert _review(catalog, delivered) == (ReviewState.UNKNOWN_RECEIPT, "回执号不存在")
    clock.advance(10)
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=NOW).polled == 0


def test_a_platform_that_cannot_say_changes_nothing(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, delivered: str
) -> None:
    platform = ScriptedPlatform([ReviewUnavailable("50001", "busy", permanent=False)])
    assert poll_reviews(catalog, packages, platform, clock=clock, interval=NOW).unavailable == 1
    assert _review(catalog, delivered) == (None, None)
