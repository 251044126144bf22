"""The catalog's replace_existing on every implementation (SQLite, PostgreSQL and the
in-memory fake): the failed delivery superseded, the replace delivery added with its own
key, the version out again, once; refused without a conflict or after a withdrawal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, WithdrawalRecord
from service.catalog.sql import SqlCatalog
from service.domain.errors import Conflict
from service.domain.filing import DeliveryAction, DeliveryStatus, VersionStatus
from tests.fakes import MemoryCatalog
from tests.integration.conftest import fresh_database
from tests.integration.test_catalog import LEASE, _attempt, _event, _submit, _token
from tests.support.clock import FakeClock

THEIRS = {"receipt_no": "TJFG-2024-000007", "file_sha256": "cd" * 32, "version": 1}
STATE = {"platform_version": 2, "replacing": {**THEIRS, "reason": "误报", "by": "op"}}


@pytest.fixture(params=["sqlite", "postgresql", "memory"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Catalog]:
    if request.param == "memory":
        yield MemoryCatalog(clock=clock)
        return
    engine = make_engine(fresh_database(request.param, request, tmp_path))
    yield SqlCatalog(make_sessions(engine), clock=clock)
    engine.dispose()


def _failed(catalog: Catalog, conflict: bool = True) -> tuple[str, str]:
    fid, _ = _submit(catalog, destinations=("legal_platform",))
    [claimed] = catalog.claim_due_deliveries("w1", 10, LEASE)
    if conflict:
        found = {"conflict": {**THEIRS, "our_sha256": "ab" * 32}}
        catalog.save_delivery_state(claimed.id, _token(claimed), found, LEASE)
    catalog.finish_attempt(
        claimed.id, _token(claimed), _attempt(), status=DeliveryStatus.FAILED, next_attempt_at=None
    )
    return fid, claimed.id


def _asked() -> AuditEvent:
    return _event("delivery.replace_requested")


def test_a_replacement_supersedes_the_failed_delivery_and_goes_out_once(catalog: Catalog) -> None:
    fid, failed_id = _failed(catalog)

    assert catalog.replace_existing(failed_id, STATE, _asked()) is True
    assert catalog.replace_existing(failed_id, STATE, _asked()) is False

    filing = catalog.get_filing(fid)
    assert filing is not None
    by_action = {d.action: d for d in filing.deliveries}
    assert len(filing.deliveries) == 2
    assert by_action[DeliveryAction.PUBLISH].status is DeliveryStatus.SUPERSEDED
    added = by_action[DeliveryAction.REPLACE]
    assert (added.status, added.state) == (DeliveryStatus.PENDING, STATE)
    assert added.idempotency_key == f"{fid}-v1-legal_platform-replace"
    assert filing.versions[-1].status is VersionStatus.ARCHIVED
    events = [e for e in catalog.audit_events() if e.action == "delivery.replace_requested"]
    assert len(events) == 1
    [claimed] = catalog.claim_due_deliveries("w2", 10, LEASE)
    assert claimed.id == added.id
    catalog.finish_attempt(
        claimed.id, _token(claimed), _attempt(), status=DeliveryStatus.DELIVERED,
        next_attempt_at=None, receipt={"receipt_no": "TJFG-2024-000300", "platform_version": 2},
    )  # fmt: skip
    assert catalog.get_version(fid, 1).status is VersionStatus.PUBLISHED  # type: ignore[union-attr]
    assert catalog.delivered_receipt_before(fid, 2, "legal_platform") == {
        "receipt_no": "TJFG-2024-000300",
        "platform_version": 2,
    }


def test_a_delivery_that_failed_otherwise_is_not_replaced(catalog: Catalog) -> None:
    fid, failed_id = _failed(catalog, conflict=False)

    with pytest.raises(Conflict) as refused:
        catalog.replace_existing(failed_id, STATE, _asked())

    assert refused.value.code == "no_conflict"
    filing = catalog.get_filing(fid)
    assert filing is not None and [d.action for d in filing.deliveries] == ["publish"]


def test_a_withdrawn_filing_is_not_replaced(catalog: Catalog, clock: FakeClock) -> None:
    fid, failed_id = _failed(catalog)
    withdrawal = WithdrawalRecord(fid, "误发", "op", "operator", clock(), None, "k", "0" * 64)
    catalog.withdraw_filing(withdrawal, (), _event("filing.withdrawn"))

    with pytest.raises(Conflict) as refused:
        catalog.replace_existing(failed_id, STATE, _asked())

    assert refused.value.code == "filing_withdrawn"
