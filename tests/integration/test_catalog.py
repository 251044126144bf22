"""The catalog's contract: every port, on SQLite, on PostgreSQL and in memory (the fake
the use cases' unit tests run on). A backend passes only if it does exactly this."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from service.catalog.database import POOL_OVERFLOW, POOL_SIZE, make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import (
    AttemptRecord,
    AuditEvent,
    DeliveryRecord,
    FilingQuery,
    NewVersion,
)
from service.catalog.sql import SqlCatalog
from service.domain.errors import Conflict
from service.domain.filing import DeliveryStatus, FilingKey, VersionStatus
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.support.clock import FakeClock

ORG = "111201990000123458"


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


LEASE = timedelta(seconds=60)


def _version(filing_id: str, number: int, publish_at: object = None) -> NewVersion:
    return NewVersion(
        filename="report.docx",
        kind="docx",
        media_type="application/docx",
        size=10,
        sha256="ab" * 32,
        title="2023年度法治政府建设情况报告",
        package_prefix=f"filings/{ORG}/x/2023/{filing_id}/v{number}/",
        metadata={
            "category": "rule_of_law_report",
            "org_code": ORG,
            "org_name": "滨河区",
            "period": "2023",
        },
        findings=[],
        publish_at=publish_at,  # type: ignore[arg-type]
    )


def _event(action: str = "filing.submitted") -> AuditEvent:
    return AuditEvent(actor="op", role="operator", action=action, subject="s", org_code=ORG)


def _reserve(
    catalog: Catalog,
    filing_id: str | None,
    make_version: Callable[[str, int], NewVersion] = _version,
    content_sha256: str | None = None,
) -> tuple[str, int]:
    """Reserve the next version of a 2023 rule-of-law report of the test body."""
    return catalog.reserve_version(
        filing_id=filing_id,
        org_code=ORG,
        org_name="滨河区",
        category="rule_of_law_report",
        period="2023",
        actor="op",
        make_version=make_version,
        content_sha256=content_sha256,
    )


def _submit(
    catalog: Catalog,
    filing_id: str | None = None,
    destinations: tuple[str, ...] = ("portal",),
    publish_at: object = None,
) -> tuple[str, int]:
    fid, number = _reserve(catalog, filing_id, lambda f, n: _version(f, n, publish_at))
    catalog.complete_version(fid, number, destinations, _event())
    return fid, number


def _token(delivery: DeliveryRecord) -> str:
    assert delivery.lease_owner is not None
    return delivery.lease_owner


def _attempt(number: int = 1, worker: str = "w1") -> AttemptRecord:
    return AttemptRecord(number, worker, FakeClock().now, 12, "delivered", 201, None, None)


def test_a_submitted_filing_has_its_version_and_pending_deliveries(catalog: Catalog) -> None:
    fid, number = _submit(catalog, destinations=("portal", "legal_platform"))
    filing = catalog.get_filing(fid)
    assert filing is not None and number == 1
    assert [v.status for v in filing.versions] == [VersionStatus.ARCHIVED]
    assert sorted(d.destination for d in filing.deliveries) == ["legal_platform", "portal"]
    assert {d.status for d in filing.deliveries} == {DeliveryStatus.PENDING}
    assert {d.idempotency_key for d in filing.deliveries} == {
        f"{fid}-v1-portal",
        f"{fid}-v1-legal_platform",
    }


def test_a_filing_without_destinations_is_published_on_archiving(catalog: Catalog) -> None:
    fid, _ = _submit(catalog, destinations=())
    filing = catalog.get_filing(fid)
    assert filing is not None and filing.versions[0].status == VersionStatus.PUBLISHED


def test_concurrent_corrections_never_share_a_version_number(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    barrier = threading.Barrier(6)
    got: list[int] = []
    conflicts: list[Conflict] = []

    def correct() -> None:
        barrier.wait()
        try:
            got.append(_reserve(catalog, fid)[1])
        except Conflict as exc:
            conflicts.append(exc)

    threads = [threading.Thread(target=correct) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == len(set(got)), got
    assert len(got) + len(conflicts) == 6
    assert all(n >= 2 for n in got)


def test_a_claimed_delivery_is_not_claimed_again_until_its_lease_runs_out(
    catalog: Catalog, clock: FakeClock
) -> None:
    _submit(catalog)
    assert len(catalog.claim_due_deliveries("w1", 10, LEASE)) == 1
    assert catalog.claim_due_deliveries("w2", 10, LEASE) == []
    clock.advance(61)
    taken_over = catalog.claim_due_deliveries("w2", 10, LEASE)
    assert [_token(d).split(":")[0] for d in taken_over] == ["w2"]


def test_a_worker_that_lost_its_lease_cannot_settle_the_delivery(
    catalog: Catalog, clock: FakeClock
) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    clock.advance(61)
    [taken] = catalog.claim_due_deliveries("w2", 10, LEASE)
    held = catalog.finish_attempt(
        delivery.id,
        _token(delivery),
        _attempt(),
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        receipt={"article_id": "a"},
    )
    assert held is False
    assert catalog.finish_attempt(
        taken.id,
        _token(taken),
        _attempt(worker="w2"),
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        receipt={"article_id": "a"},
    )
    filing = catalog.get_filing(delivery.filing_id)
    assert filing is not None
    assert filing.deliveries[0].status == DeliveryStatus.DELIVERED
    assert [a.worker for a in filing.deliveries[0].attempt_log] == ["w1", "w2"]
    assert filing.versions[0].status == VersionStatus.PUBLISHED


def test_concurrent_workers_claim_disjoint_deliveries(catalog: Catalog) -> None:
    for _ in range(20):
        _submit(catalog)
    claimed: dict[str, list[str]] = {}
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        barrier.wait()
        claimed[worker] = [d.id for d in catalog.claim_due_deliveries(worker, 8, LEASE)]

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in claimed.values() for i in batch]
    assert len(ids) == len(set(ids)) == 20


def test_a_scheduled_filing_is_held_until_its_publish_time(
    catalog: Catalog, clock: FakeClock
) -> None:
    _submit(catalog, publish_at=clock.now + timedelta(hours=2))
    assert catalog.claim_due_deliveries("w1", 10, LEASE) == []
    clock.advance(2 * 3600)
    assert len(catalog.claim_due_deliveries("w1", 10, LEASE)) == 1


def test_a_newer_version_supersedes_an_untried_older_delivery(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    _submit(catalog, filing_id=fid)
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [(d.version, d.status) for d in filing.deliveries] == [(1, "superseded"), (2, "pending")]


def test_a_newer_version_waits_for_an_older_delivery_already_tried(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid, _ = _submit(catalog)
    [first] = catalog.claim_due_deliveries("w1", 10, LEASE)
    catalog.finish_attempt(
        first.id,
        _token(first),
        _attempt(),
        status=DeliveryStatus.PENDING,
        next_attempt_at=clock.now,
    )
    _submit(catalog, filing_id=fid)
    claimed = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert [d.version for d in claimed] == [1]
    catalog.finish_attempt(
        first.id,
        _token(claimed[0]),
        _attempt(2),
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        receipt={"article_id": "art_1"},
    )
    [second] = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert second.version == 2
    assert catalog.delivered_receipt_before(fid, 2, "portal") == {"article_id": "art_1"}


def test_released_leases_are_claimable_at_once(catalog: Catalog) -> None:
    _submit(catalog)
    catalog.claim_due_deliveries("w1", 10, LEASE)
    assert catalog.release_leases("w1") == 1
    assert len(catalog.claim_due_deliveries("w2", 10, LEASE)) == 1


def test_a_postponed_delivery_comes_back_at_its_time_untried_and_its_clock_unstarted(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid, _ = _submit(catalog)
    [claimed] = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert claimed.first_attempt_at is not None

    assert catalog.postpone_delivery(claimed.id, _token(claimed), clock() + timedelta(seconds=30))
    assert catalog.claim_due_deliveries("w2", 10, LEASE) == []
    [waiting] = catalog.get_filing(fid).deliveries  # type: ignore[union-attr]
    assert (waiting.attempts, waiting.first_attempt_at, waiting.lease_owner) == (0, None, None)
    assert waiting.status is DeliveryStatus.PENDING

    clock.advance(31)
    [again] = catalog.claim_due_deliveries("w2", 10, LEASE)
    assert again.id == claimed.id
    assert not catalog.postpone_delivery(claimed.id, _token(claimed), clock())  # lease gone


def test_filings_are_listed_only_for_the_bodies_asked(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    assert [f.id for f in catalog.list_filings(FilingQuery(org_codes=frozenset({ORG})))] == [fid]
    assert catalog.list_filings(FilingQuery(org_codes=frozenset({"other"}))) == []
    assert [f.id for f in catalog.list_filings(FilingQuery(status="archived"))] == [fid]
    assert catalog.list_filings(FilingQuery(delivery_status="failed")) == []


@pytest.mark.parametrize("action", ["filing.submitted"])
def test_completing_a_version_writes_its_audit_event(catalog: Catalog, action: str) -> None:
    _submit(catalog)
    assert [e.action for e in catalog.audit_events()] == [action]


def test_a_version_whose_every_delivery_was_superseded_is_superseded(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    _submit(catalog, filing_id=fid)
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [(v.version, v.status) for v in filing.versions] == [(1, "superseded"), (2, "archived")]


def test_a_delivery_once_claimed_is_not_superseded_even_without_a_recorded_attempt(
    catalog: Catalog,
) -> None:
    fid, _ = _submit(catalog)
    catalog.claim_due_deliveries("w1", 10, LEASE)
    catalog.release_leases("w1")  # the worker stopped after its POST, before recording it
    _submit(catalog, filing_id=fid)
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [(d.version, d.status) for d in filing.deliveries] == [(1, "pending"), (2, "pending")]


def test_the_latest_version_is_the_newest_archived_one(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    _reserve(catalog, fid)
    filing = catalog.get_filing(fid)
    assert filing is not None and filing.latest_version == 1
    catalog.complete_version(fid, 2, ["portal"], _event())
    assert catalog.get_filing(fid).latest_version == 2  # type: ignore[union-attr]


def test_an_acknowledged_version_cannot_be_abandoned(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    assert catalog.abandon_version(fid, 1, _event("filing.abandoned")) is False
    assert catalog.get_version(fid, 1).status == "archived"  # type: ignore[union-attr]


def test_an_old_failed_version_is_not_requeued_after_a_newer_one(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    [first] = catalog.claim_due_deliveries("w1", 10, LEASE)
    catalog.finish_attempt(
        first.id, _token(first), _attempt(), status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    _submit(catalog, filing_id=fid)
    with pytest.raises(Conflict) as refused:
        catalog.requeue_failed_delivery(fid, "portal", _event("delivery.retry_requested"))
    assert refused.value.code == "newer_version_delivered"


def test_two_claims_by_one_worker_are_fenced_apart(catalog: Catalog, clock: FakeClock) -> None:
    """A slow attempt outlives its lease and the same worker claims the row again: only
    the newer claim may save state or settle it."""
    _submit(catalog)
    [stale] = catalog.claim_due_deliveries("w1", 10, LEASE)
    clock.advance(61)
    [fresh] = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert _token(stale) != _token(fresh)
    assert catalog.save_delivery_state(stale.id, _token(stale), {"x": 1}, LEASE) is False
    assert catalog.save_delivery_state(fresh.id, _token(fresh), {"x": 2}, LEASE) is True
    stale_failed = catalog.finish_attempt(
        stale.id, _token(stale), _attempt(), status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    fresh_delivered = catalog.finish_attempt(
        fresh.id,
        _token(fresh),
        _attempt(2),
        status=DeliveryStatus.DELIVERED,
        next_attempt_at=None,
        receipt={"article_id": "a"},
    )
    assert (stale_failed, fresh_delivered) == (False, True)
    assert catalog.get_filing(stale.filing_id).deliveries[0].status == "delivered"  # type: ignore[union-attr]


def test_saving_state_renews_the_lease(catalog: Catalog, clock: FakeClock) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    clock.advance(50)
    assert catalog.save_delivery_state(delivery.id, _token(delivery), {"x": 1}, LEASE)
    clock.advance(50)  # past the first lease, within the renewed one
    assert catalog.claim_due_deliveries("w2", 10, LEASE) == []


def test_a_delivery_in_flight_here_is_not_claimed_again(catalog: Catalog, clock: FakeClock) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("w1", 10, LEASE)
    clock.advance(61)
    assert catalog.claim_due_deliveries("w1", 10, LEASE, exclude={delivery.id}) == []


def test_two_identical_submissions_at_once_reserve_only_one(catalog: Catalog) -> None:
    barrier = threading.Barrier(4)
    reserved: list[str] = []
    refused: list[str] = []

    def submit() -> None:
        barrier.wait()
        try:
            fid, _ = _reserve(catalog, None, content_sha256="ab" * 32)
            reserved.append(fid)
        except Conflict as exc:
            refused.append(exc.code)

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reserved) == 1
    assert refused == ["duplicate_in_progress"] * 3


# -- holds on reservations ---------------------------------------------------------------


def test_a_reservation_is_held_while_its_request_holds_it(catalog: Catalog) -> None:
    fid, number = _reserve(catalog, None)
    assert not catalog.reservation_held(fid, number)
    with catalog.hold_reservation(fid, number):
        assert catalog.reservation_held(fid, number)
    assert not catalog.reservation_held(fid, number)


def test_the_same_bytes_wait_for_a_living_request_and_not_for_a_dead_one(
    catalog: Catalog, clock: FakeClock
) -> None:
    sha = "ab" * 32  # what _version stores
    fid, number = _reserve(catalog, None, content_sha256=sha)
    with pytest.raises(Conflict) as fresh:  # just reserved: its hold is a moment away
        _reserve(catalog, None, content_sha256=sha)
    assert (fresh.value.code, fresh.value.retry_after) == ("duplicate_in_progress", 5)

    clock.advance(60)
    with catalog.hold_reservation(fid, number), pytest.raises(Conflict):
        _reserve(catalog, None, content_sha256=sha)  # held: still being archived

    other, _ = _reserve(catalog, None, content_sha256=sha)  # unheld and old: it died
    assert other != fid


def test_more_requests_at_once_than_the_pool_has_connections_each_hold_and_complete(
    catalog: Catalog,
) -> None:
    """A request holds its reservation while it archives, then commits its version: on
    PostgreSQL the hold is a pooled connection and the commit another, so had every
    connection a hold, each request would wait for a second that none gives back."""
    requests = [_reserve(catalog, None) for _ in range(POOL_SIZE + POOL_OVERFLOW + 10)]

    def archive_and_complete(reserved: tuple[str, int]) -> None:
        with catalog.hold_reservation(*reserved):
            time.sleep(0.2)  # archiving, while the other requests take their holds
            catalog.complete_version(*reserved, ("portal",), _event())

    with ThreadPoolExecutor(len(requests)) as pool:
        list(pool.map(archive_and_complete, requests))
    versions = [catalog.get_version(*reserved) for reserved in requests]
    assert {v.status for v in versions if v is not None} == {VersionStatus.ARCHIVED}


HOLDER = """
import sys, time
from service.catalog.database import make_engine, make_sessions
from service.catalog.sql import SqlCatalog
catalog = SqlCatalog(make_sessions(make_engine(sys.argv[1])))
with catalog.hold_reservation(sys.argv[2], 1):
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_a_hold_ends_with_its_process_however_it_dies(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> None:
    url = fresh_database(kind, request, tmp_path)
    engine = make_engine(url)
    catalog = SqlCatalog(make_sessions(engine), clock=clock)
    fid, number = _reserve(catalog, None)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, url, fid], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        assert catalog.reservation_held(fid, number)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(10)
    deadline = time.monotonic() + 10  # PostgreSQL notices the dead connection at once
    while catalog.reservation_held(fid, number) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not catalog.reservation_held(fid, number)
    engine.dispose()


# -- one filing per body, kind and period for the annual kinds (issue 12) -------------------


def _file_once(catalog: Catalog, variant: str | None = None, sha: str = "cd") -> str:
    key = FilingKey(ORG, "budget_final_accounts", "2023", variant)
    fid, number = catalog.reserve_version(
        filing_id=None,
        org_code=ORG,
        org_name="滨河区",
        category=key.category,
        period=key.period,
        actor="op",
        make_version=lambda f, n: replace(_version(f, n), sha256=sha * 32),
        content_sha256=sha * 32,
        filed_once=key,
    )
    catalog.complete_version(fid, number, ("portal",), _event())
    return fid


def test_a_key_filed_once_refuses_a_second_filing_and_names_the_first(catalog: Catalog) -> None:
    budget = _file_once(catalog, "budget", sha="01")
    final_accounts = _file_once(catalog, "final_accounts", sha="02")  # its own key
    with pytest.raises(Conflict) as refused:
        _file_once(catalog, "budget", sha="03")
    assert refused.value.code == "already_filed"
    assert refused.value.detail["filing_id"] == budget
    assert catalog.find_filed(FilingKey(ORG, "budget_final_accounts", "2023", "budget")) == budget
    found = catalog.find_filed(FilingKey(ORG, "budget_final_accounts", "2023", "final_accounts"))
    assert found == final_accounts != budget
    assert catalog.find_filed(FilingKey(ORG, "budget_final_accounts", "2022", "budget")) is None


def test_a_key_being_filed_asks_the_second_to_wait_and_a_correction_goes_through(
    catalog: Catalog,
) -> None:
    key = FilingKey(ORG, "rule_of_law_report", "2023")
    fid, number = catalog.reserve_version(
        filing_id=None,
        org_code=ORG,
        org_name="滨河区",
        category=key.category,
        period=key.period,
        actor="op",
        make_version=_version,
        filed_once=key,
    )
    with catalog.hold_reservation(fid, number), pytest.raises(Conflict) as waiting:
        catalog.reserve_version(
            filing_id=None,
            org_code=ORG,
            org_name="滨河区",
            category=key.category,
            period=key.period,
            actor="op",
            make_version=_version,
            filed_once=key,
        )
    assert waiting.value.code == "filing_in_progress" and waiting.value.retry_after
    catalog.complete_version(fid, number, ("portal",), _event())
    assert _reserve(catalog, fid)[1] == 2  # a correction is a version of the filing, never refused
