"""The worker's withdraw jobs, on the fakes of its ports: a takedown waits, untried, while a
publication of the filing is still in flight, then goes with that publication's receipt;
a failed takedown is retried along the schedule."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from service.archive.packages import Packages
from service.catalog.records import DeliveryRecord, WithdrawalRecord
from service.delivery.policy import RetryPolicy
from service.delivery.port import Delivered, DeliveryJob, Journal, Outcome, RetryLater, WithdrawJob
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.destinations import Capability
from service.domain.filing import DeliveryAction, DeliveryStatus
from service.usecases.ingest import Origin
from service.usecases.withdrawal import WithdrawalRequest, withdraw
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.checks import in_process_reader
from tests.support.clock import FakeClock
from tests.unit.test_worker import _submit

COMPLIANCE = Principal("auditor", Role.COMPLIANCE, frozenset({"*"}))


@dataclass
class Portal:
    """Publishes and withdraws from a script, and remembers the takedowns it saw."""

    withdraw_outcomes: list[Outcome]
    destination: str = "portal"
    capabilities: frozenset[Capability] = frozenset({Capability.PARAGRAPHS, Capability.WITHDRAW})
    takedowns: list[WithdrawJob] = field(default_factory=list)

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        return Delivered({"article_id": "art_1"}, 201)

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome:
        self.takedowns.append(job)
        return self.withdraw_outcomes.pop(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def catalog(clock: FakeClock) -> MemoryCatalog:
    return MemoryCatalog(clock=clock)


@pytest.fixture
def packages(clock: FakeClock) -> Packages:
    return Packages(InMemoryStore(), clock=clock)


def _worker(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, portal: Portal) -> Worker:
    policy = RetryPolicy.of_seconds([0, 60], 3600)
    return Worker(
        catalog=catalog,
        packages=packages,
        adapters={"portal": portal},
        config=WorkerConfig("w1", 2, timedelta(seconds=30), 0.01, policy),
        clock=clock,
        reader=in_process_reader(),
    )


def _withdraw(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, fid: str) -> None:
    request = WithdrawalRequest(fid, "误发", COMPLIANCE, Origin(request_id="r1"))
    withdraw(catalog, packages, request, takedown=("portal",), now=clock())


def _takedown_job(catalog: MemoryCatalog, fid: str) -> DeliveryRecord:
    filing = catalog.get_filing(fid)
    assert filing is not None
    (job,) = [d for d in filing.deliveries if d.action is DeliveryAction.WITHDRAW]
    return job


def test_a_takedown_waits_untried_for_a_publication_in_flight_then_uses_its_receipt(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    (in_flight,) = catalog.claim_due_deliveries("other", 1, timedelta(seconds=30))
    _withdraw(catalog, packages, clock, fid)
    portal = Portal([Delivered({"status": "withdrawn", "articles": []}, 200)])

    _worker(catalog, packages, clock, portal).run_once()  # the takedown only: it waits

    assert portal.takedowns == []
    job = _takedown_job(catalog, fid)
    assert job.attempts == 0 and job.status is DeliveryStatus.PENDING
    assert in_flight.lease_owner is not None
    catalog.release_leases("other")
    clock.advance(10)
    _worker(catalog, packages, clock, portal).run_once()  # the publication finishes
    clock.advance(10)
    _worker(catalog, packages, clock, portal).run_once()  # and the takedown goes

    (takedown,) = portal.takedowns
    assert takedown.published == ({"article_id": "art_1"},)
    assert (takedown.reason, takedown.requested_by) == ("误发", "auditor")
    assert takedown.idempotency_key == f"{fid}-withdraw-portal"
    assert _takedown_job(catalog, fid).status is DeliveryStatus.DELIVERED
    prefix = catalog.get_filing(fid).versions[0].package_prefix  # type: ignore[union-attr]
    assert f"{prefix}receipts/portal_withdrawal-000001.json" in packages.list_receipts(prefix)
    assert "withdrawal.delivered" in [e.action for e in catalog.audit_events()]


def test_a_takedown_that_fails_for_now_is_retried_with_its_journal(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    portal = Portal(
        [
            RetryLater("unavailable", "503", 503),
            Delivered({"status": "withdrawn", "articles": []}, 200),
        ]
    )
    _worker(catalog, packages, clock, portal).run_once()  # published
    _withdraw(catalog, packages, clock, fid)

    _worker(catalog, packages, clock, portal).run_once()
    clock.advance(61)
    _worker(catalog, packages, clock, portal).run_once()

    assert len(portal.takedowns) == 2
    job = _takedown_job(catalog, fid)
    assert job.status is DeliveryStatus.DELIVERED and job.attempts == 2


def test_withdrawal_record_names_the_principal(
    catalog: MemoryCatalog, packages: Packages, clock: FakeClock
) -> None:
    fid = _submit(catalog, packages, clock)
    _withdraw(catalog, packages, clock, fid)
    filing = catalog.get_filing(fid)
    assert filing is not None and isinstance(filing.withdrawal, WithdrawalRecord)
    assert (filing.withdrawal.by, filing.withdrawal.role, filing.withdrawal.request_id) == (
        "auditor",
        "compliance",
        "r1",
    )
