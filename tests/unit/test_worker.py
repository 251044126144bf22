"""The worker as a use case, on the fakes of its ports: the catalog in memory, the
archive in memory, scripted destinations. No database: the catalog's SQL keeps the
same contract (tests/integration/test_catalog.py)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from service.archive.packages import Packages
from service.catalog.ports import Catalog
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, Failed, RetryLater
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from tests.fakes import InMemoryStore, MemoryCatalog, ScriptedPortal
from tests.support.bodies import sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def store() -> InMemoryStore:
    return InMemoryStore()


@pytest.fixture
def packages(store: InMemoryStore, clock: FakeClock) -> Packages:
    return Packages(store, clock=clock)


def _submit(catalog: Catalog, packages: Packages, clock: FakeClock) -> str:
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for({Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]}),
        clock=clock,
    )
    upload = spool([SAMPLE_PATH.read_bytes()], "report.txt", 10**7)
    record = submit_filing(
        ingest, OPERATOR, FilingMetadata.model_validate(sample_metadata()), upload, Origin()
    )
    return record.filing.id


def _worker(
    catalog: Catalog, packages: Packages, clock: FakeClock, portal: ScriptedPortal
) -> Worker:
    config = WorkerConfig(
        "w1",
        concurrency=2,
        lease=timedelta(seconds=30),
        poll_s=0.01,
        policy=RetryPolicy.of_seconds([0, 60], 3600),
    )
    return Worker(
        catalog=catalog,
        packages=packages,
        adapters={"portal": portal},
        config=config,
        clock=clock,
        reader=in_process_reader(),
    )


def test_a_delivered_filing_has_its_receipt_archived_beside_the_package(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    portal = ScriptedPortal(
        [Delivered({"article_id": "art_1", "url": "https://portal/art_1.html"}, 201)]
    )
    assert _worker(catalog, packages, clock, portal).run_once() == 1
    filing = catalog.get_filing(fid)
    assert filing is not None
    [delivery] = filing.deliveries
    assert delivery.status == "delivered" and delivery.receipt == {
        "article_id": "art_1",
        "url": "https://portal/art_1.html",
    }
    assert filing.versions[0].status == "published"
    [receipt_key] = packages.list_receipts(filing.versions[0].package_prefix)
    assert receipt_key == delivery.receipt_key
    assert "delivery.delivered" in [e.action for e in catalog.audit_events()]
    job = portal.jobs[0]
    assert job.idempotency_key == f"{fid}-v1-portal" and job.source_id == f"{fid}/v1"
    assert job.title == "南开区合作交流办党组2023年度法治政府建设情况报告"
    assert job.paragraphs[0].startswith("南开区合作交流办党组")


def test_a_transient_failure_is_rescheduled_along_the_schedule(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    portal = ScriptedPortal(
        [
            RetryLater("http_503", "busy", 503),
            RetryLater("http_503", "busy", 503),
            Delivered({"article_id": "a"}),
        ]
    )
    worker = _worker(catalog, packages, clock, portal)
    worker.run_once()
    worker.run_once()  # the first step of the schedule is "immediately"
    assert worker.run_once() == 0  # the second waits 60 s
    clock.advance(60)
    assert worker.run_once() == 1
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [a.outcome for a in filing.deliveries[0].attempt_log] == ["retry", "retry", "delivered"]
    assert [a.http_status for a in filing.deliveries[0].attempt_log] == [503, 503, None]


def test_a_permanent_failure_fails_the_delivery_loudly(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    _worker(
        catalog, packages, clock, ScriptedPortal([Failed("too_large", "413 too large", 413)])
    ).run_once()
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert filing.deliveries[0].status == "failed"
    assert filing.deliveries[0].last_error == "too_large: 413 too large"
    assert filing.versions[0].status == "delivery_failed"
    assert "delivery.failed" in [e.action for e in catalog.audit_events()]


def test_the_state_an_adapter_saves_comes_back_on_the_next_attempt(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    _submit(catalog, packages, clock)
    portal = ScriptedPortal(
        [RetryLater("timeout", "lost"), Delivered({"article_id": "a"})],
        save={"article_body": {"title": "t"}},
    )
    worker = _worker(catalog, packages, clock, portal)
    worker.run_once()
    worker.run_once()
    assert portal.jobs[0].state == {}
    assert portal.jobs[1].state == {"article_body": {"title": "t"}}


def test_an_adapter_that_crashes_does_not_lose_the_delivery(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    portal = ScriptedPortal([RuntimeError("bug"), Delivered({"article_id": "a"})])  # type: ignore[list-item]
    worker = _worker(catalog, packages, clock, portal)
    worker.run_once()
    worker.run_once()
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [a.code for a in filing.deliveries[0].attempt_log] == ["worker_error", None]
    assert filing.deliveries[0].status == "delivered"


def test_a_damaged_archived_file_is_never_delivered(
    catalog: Catalog, packages: Packages, store: InMemoryStore, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    version = catalog.get_version(fid, 1)
    assert version is not None
    store.corrupt(version.package_prefix + "data/report.txt", io.BytesIO(b"tampered").read())
    portal = ScriptedPortal([Delivered({"article_id": "a"})])
    _worker(catalog, packages, clock, portal).run_once()
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert portal.jobs == []
    assert filing.deliveries[0].status == "failed"
    assert filing.deliveries[0].attempt_log[0].code == "archive_fixity_mismatch"


def _submit_to(
    catalog: Catalog, packages: Packages, clock: FakeClock, destinations: list[Destination]
) -> str:
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for({Category.RULE_OF_LAW_REPORT: destinations}),
        clock=clock,
    )
    docx = docx_from_text(SAMPLE_PATH.read_text("utf-8"))  # the platform takes no plain text
    upload = spool([docx], "report.docx", 10**7)
    metadata = FilingMetadata.model_validate(sample_metadata())
    return submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id


def _linked_worker(
    catalog: Catalog, packages: Packages, clock: FakeClock, **adapters: ScriptedPortal
) -> Worker:
    """The legal platform's deliveries wait here for the portal's (as WeChat's will)."""
    config = WorkerConfig(
        "w1", concurrency=1, lease=timedelta(seconds=30), poll_s=0.01,
        policy=RetryPolicy.of_seconds([60], 3600), wait=timedelta(seconds=5),
    )  # fmt: skip
    return Worker(
        catalog=catalog,
        packages=packages,
        adapters=adapters,
        config=config,
        clock=clock,
        reader=in_process_reader(),
        after={"legal_platform": ["portal"]},
    )


def test_a_delivery_that_needs_another_destinations_receipt_waits_for_it_untried(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit_to(catalog, packages, clock, [Destination.PORTAL, Destination.LEGAL_PLATFORM])
    portal = ScriptedPortal([RetryLater("busy", "503", 503), Delivered({"article_id": "a1"})])
    platform = ScriptedPortal([Delivered({"receipt_no": "r1"})], destination="legal_platform")
    worker = _linked_worker(catalog, packages, clock, portal=portal, legal_platform=platform)

    while worker.run_once():  # the portal's first try fails; the platform's waits, untried
        pass
    waiting = {d.destination: d for d in catalog.get_filing(fid).deliveries}  # type: ignore[union-attr]
    assert platform.jobs == []
    assert waiting["legal_platform"].attempts == 0
    assert waiting["legal_platform"].first_attempt_at is None

    for _ in range(2):  # the portal's retry is due; the platform's next look after it
        clock.advance(61)
        while worker.run_once():
            pass
    assert [job.prior_receipts for job in platform.jobs] == [{"portal": {"article_id": "a1"}}]
    settled = catalog.get_filing(fid)
    assert settled is not None and settled.versions[0].status == "published"


def test_a_delivery_whose_prerequisite_failed_fails_too_and_says_why(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit_to(catalog, packages, clock, [Destination.PORTAL, Destination.LEGAL_PLATFORM])
    portal = ScriptedPortal([Failed("channel_forbidden", "403", 403)])
    platform = ScriptedPortal([], destination="legal_platform")
    worker = _linked_worker(catalog, packages, clock, portal=portal, legal_platform=platform)

    for _ in range(3):
        worker.run_once()
        clock.advance(6)
    deliveries = {d.destination: d for d in catalog.get_filing(fid).deliveries}  # type: ignore[union-attr]
    assert platform.jobs == []
    assert deliveries["legal_platform"].status == "failed"
    assert deliveries["legal_platform"].last_error == "prerequisite_unmet: portal: failed"


def test_a_delivery_whose_prerequisite_is_not_routed_fails_at_once(
    catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit_to(catalog, packages, clock, [Destination.LEGAL_PLATFORM])
    platform = ScriptedPortal([], destination="legal_platform")
    _linked_worker(catalog, packages, clock, legal_platform=platform).run_once()
    [delivery] = catalog.get_filing(fid).deliveries  # type: ignore[union-attr]
    assert delivery.status == "failed" and platform.jobs == []
    assert delivery.last_error == "prerequisite_unmet: portal: not_routed"
