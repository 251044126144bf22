"""The catalog's contract for withdrawals, on SQLite, PostgreSQL and in memory: the record,
the cancelled deliveries, the withdraw jobs, the key set free, corrections refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, WithdrawalRecord
from service.domain.errors import Conflict, NotFound
from service.domain.filing import DeliveryAction, DeliveryStatus, FilingKey, VersionStatus
from tests.integration.test_catalog import (
    ORG,
    _attempt,
    _event,
    _file_once,
    _reserve,
    _submit,
    _token,
)
from tests.integration.test_catalog import catalog as contract_catalog
from tests.support.clock import FakeClock

catalog = contract_catalog  # the contract suite's fixture: SQLite, PostgreSQL, memory

LEASE = timedelta(seconds=60)
TAKEDOWN = ("portal",)  # the destinations that can withdraw, as the registry says


def _withdrawal(filing_id: str, reason: str = "误发，撤回") -> WithdrawalRecord:
    return WithdrawalRecord(
        filing_id=filing_id,
        reason=reason,
        by="compliance-1",
        role="compliance",
        at=FakeClock().now,
        request_id="req-1",
        record_key=f"filings/{ORG}/x/2023/{filing_id}/v1/receipts/withdrawal-000001.json",
        record_sha256="ee" * 32,
    )


def _withdraw(catalog: Catalog, filing_id: str, reason: str = "误发，撤回") -> bool:
    event = AuditEvent(
        actor="compliance-1", role="compliance", action="filing.withdrawn", subject=filing_id
    )
    return catalog.withdraw_filing(_withdrawal(filing_id, reason), TAKEDOWN, event)


def _deliver_all(catalog: Catalog) -> None:
    for d in catalog.claim_due_deliveries("w1", 10, LEASE):
        catalog.finish_attempt(
            d.id, _token(d), _attempt(), status=DeliveryStatus.DELIVERED, next_attempt_at=None,
            receipt={"article_id": f"art_{d.destination}"},
        )  # fmt: skip


def test_withdrawing_an_undelivered_filing_cancels_its_deliveries_and_queues_no_takedown(
    catalog: Catalog,
) -> None:
    fid, _ = _submit(catalog, destinations=("portal", "legal_platform"))
    assert _withdraw(catalog, fid) is True
    filing = catalog.get_filing(fid)
    assert filing is not None and filing.withdrawal is not None
    assert filing.withdrawal.reason == "误发，撤回" and filing.withdrawal.by == "compliance-1"
    assert {d.status for d in filing.deliveries} == {DeliveryStatus.CANCELLED}
    assert all(d.action is DeliveryAction.PUBLISH for d in filing.deliveries)
    assert [v.status for v in filing.versions] == [VersionStatus.WITHDRAWN]
    assert catalog.claim_due_deliveries("w1", 10, LEASE) == []
    assert catalog.audit_events(fid)[-1].action == "filing.withdrawn"


def test_withdrawing_a_published_filing_queues_one_takedown_where_it_can_withdraw(
    catalog: Catalog,
) -> None:
    fid, _ = _submit(catalog, destinations=("portal", "legal_platform"))
    _deliver_all(catalog)
    _withdraw(catalog, fid)
    filing = catalog.get_filing(fid)
    assert filing is not None
    jobs = [d for d in filing.deliveries if d.action is DeliveryAction.WITHDRAW]
    assert [(j.destination, j.status, j.version) for j in jobs] == [
        ("portal", DeliveryStatus.PENDING, 1)
    ]
    assert jobs[0].idempotency_key == f"{fid}-withdraw-portal"
    claimed = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert [(d.id, d.action) for d in claimed] == [(jobs[0].id, DeliveryAction.WITHDRAW)]
    catalog.finish_attempt(
        jobs[0].id, _token(claimed[0]), _attempt(), status=DeliveryStatus.DELIVERED,
        next_attempt_at=None, receipt={"status": "withdrawn"},
    )  # fmt: skip
    after = catalog.get_filing(fid)
    assert after is not None
    assert [v.status for v in after.versions] == [VersionStatus.WITHDRAWN]  # not "published"


def test_a_delivery_in_flight_is_not_cancelled_and_its_version_stays_withdrawn(
    catalog: Catalog,
) -> None:
    fid, _ = _submit(catalog)
    (claimed,) = catalog.claim_due_deliveries("w1", 10, LEASE)
    _withdraw(catalog, fid)
    catalog.finish_attempt(
        claimed.id, _token(claimed), _attempt(), status=DeliveryStatus.DELIVERED,
        next_attempt_at=None, receipt={"article_id": "art_1"},
    )  # fmt: skip
    filing = catalog.get_filing(fid)
    assert filing is not None
    by_action = {d.action: d.status for d in filing.deliveries}
    assert by_action == {
        DeliveryAction.PUBLISH: DeliveryStatus.DELIVERED,
        DeliveryAction.WITHDRAW: DeliveryStatus.PENDING,
    }
    assert [v.status for v in filing.versions] == [VersionStatus.WITHDRAWN]


def test_a_second_withdrawal_changes_nothing_and_the_first_reason_stands(
    catalog: Catalog,
) -> None:
    fid, _ = _submit(catalog)
    assert _withdraw(catalog, fid, "第一次") is True
    assert _withdraw(catalog, fid, "第二次") is False
    filing = catalog.get_filing(fid)
    assert filing is not None and filing.withdrawal is not None
    assert filing.withdrawal.reason == "第一次"
    assert [e.action for e in catalog.audit_events(fid)].count("filing.withdrawn") == 1


def test_withdrawing_an_unknown_filing_is_not_found(catalog: Catalog) -> None:
    with pytest.raises(NotFound):
        _withdraw(catalog, "fil_nothing")


def test_a_withdrawn_filing_frees_its_key_and_its_bytes_and_takes_no_correction(
    catalog: Catalog,
) -> None:
    key = FilingKey(ORG, "budget_final_accounts", "2023", "budget")
    first = _file_once(catalog, "budget", sha="01")
    _withdraw(catalog, first)
    assert catalog.find_filed(key) is None
    again = _file_once(catalog, "budget", sha="01")  # the same bytes, a new filing
    assert again != first and catalog.find_filed(key) == again
    with pytest.raises(Conflict) as refused:
        _reserve(catalog, first)
    assert refused.value.code == "filing_withdrawn"


def test_a_withdrawn_filing_is_not_requeued_but_its_failed_takedown_is(catalog: Catalog) -> None:
    fid, _ = _submit(catalog)
    _deliver_all(catalog)
    _withdraw(catalog, fid)
    (job,) = catalog.claim_due_deliveries("w1", 10, LEASE)
    catalog.finish_attempt(
        job.id, _token(job), _attempt(), status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    requeued = catalog.requeue_failed_delivery(fid, "portal", _event("delivery.retry_requested"))
    assert (requeued.id, requeued.status) == (job.id, DeliveryStatus.PENDING)
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [v.status for v in filing.versions] == [VersionStatus.WITHDRAWN]


def test_the_deadline_board_reads_a_withdrawn_filing_as_withdrawn(catalog: Catalog) -> None:
    """The board counts a body whose only filing was withdrawn as missing."""
    kept, _ = _submit(catalog)
    withdrawn = _file_once(catalog, "budget", sha="07")
    _withdraw(catalog, withdrawn)
    rows = {row.filing_id: row.withdrawn for row in catalog.board_filings(frozenset({ORG}), 2023)}
    assert rows == {kept: False, withdrawn: True}
