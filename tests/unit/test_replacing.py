"""Replacing the report the legal platform holds, on the fakes of our ports: who may, when,
what the decision leaves (a replace delivery with its own key, the platform's version + 1,
an archived decision, an audit event), and that the worker then sends it so."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from service.archive.packages import Packages
from service.catalog.records import DeliveryRecord, FilingRecord
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, DeliveryJob, Failed, Journal, Outcome
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.destinations import Capability
from service.domain.errors import Conflict, Forbidden, NotFound
from service.domain.filing import (
    Category,
    DeliveryAction,
    DeliveryStatus,
    Destination,
    VersionStatus,
)
from service.domain.metadata import FilingMetadata
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.replacing import ReplacementRequest, replace_existing
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
STRANGER = Principal("stranger", Role.OPERATOR, frozenset({OTHER_BODY}))
COMPLIANCE = Principal("auditor", Role.COMPLIANCE, frozenset({"*"}))
ADMIN = Principal("root", Role.ADMIN, frozenset({"*"}))
THEIRS = {"receipt_no": "TJFG-2024-000007", "file_sha256": "0" * 64, "version": 2}


@dataclass
class Platform:
    """The legal platform as the adapter reports it: it holds a report filed by hand (a
    conflict, journaled as the adapter does) until a job comes with a version to send."""

    destination: str = "legal_platform"
    capabilities: frozenset[Capability] = frozenset({Capability.REVIEWS})
    jobs: list[DeliveryJob] = field(default_factory=list)
    refuse: Outcome | None = None

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        self.jobs.append(job)
        if self.refuse is not None:
            return self.refuse
        if "platform_version" not in job.state:
            journal.save({"conflict": {**THEIRS, "our_sha256": job.file.sha256}})
            return Failed("conflict", "40901: the platform holds another report", 200)
        version = job.state["platform_version"]
        return Delivered({"receipt_no": "TJFG-2024-000300", "platform_version": version}, 200)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def packages(clock: FakeClock) -> Packages:
    return Packages(InMemoryStore(), clock=clock)


def _submit(catalog: MemoryCatalog, packages: Packages, clock: FakeClock) -> str:
    ingest = Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for({Category.RULE_OF_LAW_REPORT: [Destination.LEGAL_PLATFORM]}),
        clock=clock,
    )
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**7)
    metadata = FilingMetadata.model_validate(sample_metadata())
    return submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id


def _run(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, platform: Platform) -> None:
    Worker(
        catalog=catalog,
        packages=packages,
        adapters={"legal_platform": platform},
        config=WorkerConfig("w1", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 60)),
        clock=clock,
        reader=in_process_reader(),
    ).run_once()


def _conflicted(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, platform: Platform
) -> str:
    filing_id = _submit(catalog, packages, clock)
    _run(catalog, packages, clock, platform)
    return filing_id


def _replace(
    catalog: MemoryCatalog,
    packages: Packages,
    clock: FakeClock,
    filing_id: str,
    who: Principal = OPERATOR,
) -> tuple[FilingRecord, bool]:
    asked = ReplacementRequest(filing_id, "平台上的报告为人工误报", who, Origin("api", "req-9"))
    return replace_existing(catalog, packages, asked, now=clock())


def _by_action(filing: FilingRecord) -> dict[DeliveryAction, DeliveryRecord]:
    return {d.action: d for d in filing.deliveries}


def test_a_replacement_goes_in_a_new_delivery_as_the_platforms_version_plus_one(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    platform = Platform()
    filing_id = _conflicted(catalog, packages, clock, platform)

    filing, created = _replace(catalog, packages, clock, filing_id)

    assert created
    actions = _by_action(filing)
    failed, replacing = actions[DeliveryAction.PUBLISH], actions[DeliveryAction.REPLACE]
    assert failed.status is DeliveryStatus.SUPERSEDED
    assert replacing.status is DeliveryStatus.PENDING
    assert replacing.idempotency_key != failed.idempotency_key
    assert replacing.state["platform_version"] == 3
    assert replacing.state["replacing"]["receipt_no"] == "TJFG-2024-000007"
    assert filing.versions[-1].status is VersionStatus.ARCHIVED

    _run(catalog, packages, clock, platform)

    sent = platform.jobs[-1]
    assert (sent.idempotency_key, sent.state["platform_version"]) == (
        replacing.idempotency_key,
        3,
    )
    after = catalog.get_filing(filing_id)
    assert after is not None and after.versions[-1].status is VersionStatus.PUBLISHED
    assert _by_action(after)[DeliveryAction.REPLACE].receipt == {
        "receipt_no": "TJFG-2024-000300",
        "platform_version": 3,
    }


def test_the_decision_is_archived_beside_the_package_and_audited(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    filing_id = _conflicted(catalog, packages, clock, Platform())

    filing, _ = _replace(catalog, packages, clock, filing_id, ADMIN)

    stored = packages.latest_decision(filing.versions[-1].package_prefix, "replace_legal_platform")
    assert stored is not None
    decision = packages.read_receipt(stored)
    assert (decision["reason"], decision["by"], decision["existing"]) == (
        "平台上的报告为人工误报",
        "root",
        THEIRS,
    )
    assert decision["our_sha256"] == filing.versions[-1].sha256
    events = [
        e for e in catalog.audit_events(filing_id) if e.action == "delivery.replace_requested"
    ]
    assert [(e.actor, e.detail["reason"], e.request_id) for e in events] == [
        ("root", "平台上的报告为人工误报", "req-9")
    ]


def test_a_repeat_changes_nothing_and_says_so(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    filing_id = _conflicted(catalog, packages, clock, Platform())
    first, _ = _replace(catalog, packages, clock, filing_id)

    again, created = _replace(catalog, packages, clock, filing_id)

    assert not created
    assert again.deliveries == first.deliveries
    events = [
        e for e in catalog.audit_events(filing_id) if e.action == "delivery.replace_requested"
    ]
    assert len(events) == 1


@pytest.mark.parametrize(
    ("who", "refused"), [(COMPLIANCE, Forbidden), (STRANGER, NotFound)], ids=["compliance", "other"]
)
def test_compliance_staff_and_other_bodies_may_not(
    catalog: MemoryCatalog,
    packages: Packages,
    clock: FakeClock,
    who: Principal,
    refused: type[Exception],
) -> None:
    filing_id = _conflicted(catalog, packages, clock, Platform())

    with pytest.raises(refused):
        _replace(catalog, packages, clock, filing_id, who)

    filing = catalog.get_filing(filing_id)
    assert filing is not None
    assert [d.action for d in filing.deliveries] == [DeliveryAction.PUBLISH]


@pytest.mark.parametrize(
    "outcome",
    [None, Failed("file_type_not_accepted", "PDF, OFD and DOCX only")],
    ids=["pending", "failed_otherwise"],
)
def test_without_a_conflict_there_is_nothing_to_replace(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock, outcome: Outcome | None
) -> None:
    filing_id = _submit(catalog, packages, clock)
    if outcome is not None:
        _run(catalog, packages, clock, Platform(refuse=outcome))

    with pytest.raises(Conflict) as refused:
        _replace(catalog, packages, clock, filing_id)

    assert refused.value.code == "no_conflict"
    assert (
        packages.latest_decision(
            catalog.get_filing(filing_id).versions[-1].package_prefix,  # type: ignore[union-attr]
            "replace_legal_platform",
        )
        is None
    )
