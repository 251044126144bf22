"""The catalog's contract for scheduled releases, on SQLite, PostgreSQL and in memory: a
release moves or is held only while no delivery of the version was claimed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.catalog.ports import Catalog
from service.domain.errors import Conflict, NotFound
from service.domain.filing import DeliveryStatus
from tests.integration.test_catalog import _event, _submit
from tests.integration.test_catalog import catalog as contract_catalog
from tests.support.clock import FakeClock

catalog = contract_catalog  # the contract suite's fixture: SQLite, PostgreSQL, memory
LEASE = timedelta(seconds=60)


def test_a_held_release_is_never_claimed_until_a_time_is_given(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid, version = _submit(catalog, publish_at=clock() + timedelta(days=1))
    catalog.reschedule(fid, version, None, _event("release.held"))
    clock.advance(3 * 86400)
    assert catalog.claim_due_deliveries("w1", 10, LEASE) == []
    filing = catalog.get_filing(fid)
    assert filing is not None and filing.versions[0].publish_at is None
    assert [d.status for d in filing.deliveries] == [DeliveryStatus.HELD]

    when = clock() + timedelta(hours=2)
    catalog.reschedule(fid, version, when, _event("release.scheduled"))
    assert catalog.claim_due_deliveries("w1", 10, LEASE) == []
    clock.advance(2 * 3600)
    (claimed,) = catalog.claim_due_deliveries("w1", 10, LEASE)
    assert claimed.filing_id == fid
    version_record = catalog.get_version(fid, version)
    assert version_record is not None and version_record.publish_at == when
    assert [e.action for e in catalog.audit_events()][-2:] == [
        "release.held",
        "release.scheduled",
    ]


def test_a_release_claimed_once_can_no_longer_move(catalog: Catalog, clock: FakeClock) -> None:
    fid, version = _submit(catalog)
    catalog.claim_due_deliveries("w1", 10, LEASE)
    catalog.release_leases("w1")  # claimed, never recorded: it may have gone out
    with pytest.raises(Conflict) as refused:
        catalog.reschedule(fid, version, clock() + timedelta(days=1), _event("release.scheduled"))
    assert refused.value.code == "release_already_attempted"


def test_a_version_routed_nowhere_has_no_release_and_an_unknown_one_is_not_found(
    catalog: Catalog, clock: FakeClock
) -> None:
    fid, version = _submit(catalog, destinations=())
    with pytest.raises(Conflict) as refused:
        catalog.reschedule(fid, version, None, _event("release.held"))
    assert refused.value.code == "nothing_to_release"
    with pytest.raises(NotFound):
        catalog.reschedule(fid, version + 1, None, _event("release.held"))


def test_a_newer_version_supersedes_a_held_one(catalog: Catalog) -> None:
    fid, version = _submit(catalog)
    catalog.reschedule(fid, version, None, _event("release.held"))
    _submit(catalog, fid)
    filing = catalog.get_filing(fid)
    assert filing is not None
    assert [(d.version, d.status) for d in filing.deliveries] == [
        (1, DeliveryStatus.SUPERSEDED),
        (2, DeliveryStatus.PENDING),
    ]
