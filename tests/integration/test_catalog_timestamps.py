"""The catalog's contract for stamp jobs, on SQLite, PostgreSQL and in memory: queued with
the version in one transaction, once per file, claimed under a lease, settled with what
the token says and audited, restored as the archive shows it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, StampJob, StampResult
from tests.integration.test_catalog import _event, _reserve
from tests.integration.test_catalog import catalog as contract_catalog
from tests.support.clock import FakeClock

catalog = contract_catalog  # the contract suite's fixture: SQLite, PostgreSQL, memory

LEASE = timedelta(seconds=60)
GEN_TIME = datetime(2024, 1, 12, 1, 0, 5, tzinfo=UTC)


def _stamped_version(catalog: Catalog) -> tuple[str, str]:
    fid, number = _reserve(catalog, None)
    key = f"filings/x/{fid}/v{number}/tagmanifest-sha256.txt"
    catalog.complete_version(
        fid, number, ("portal",), _event(), stamps=[StampJob(fid, number, key)]
    )
    return fid, key


def _settled_event() -> AuditEvent:
    return AuditEvent(actor="w1", role="system", action="timestamp.stamped", subject="s")


def test_a_completed_version_has_its_tag_manifest_queued_for_a_timestamp(catalog: Catalog) -> None:
    fid, key = _stamped_version(catalog)

    [stamp] = catalog.timestamps(fid)
    assert (stamp.stamped_key, stamp.status, stamp.attempts) == (key, "pending", 0)
    assert catalog.enqueue_stamps([StampJob(fid, 1, key)]) == 0  # once per file


def test_a_claimed_stamp_is_leased_and_settles_once_with_what_its_token_says(
    catalog: Catalog,
) -> None:
    fid, key = _stamped_version(catalog)
    [claimed] = catalog.claim_due_stamps("w1", 10, LEASE)
    assert catalog.claim_due_stamps("w2", 10, LEASE) == []  # leased
    assert claimed.lease_owner is not None
    result = StampResult(
        "stamped", tsa="CN=TSA", token_key=key + ".tsr", token_sha256="ab" * 32,
        gen_time=GEN_TIME, serial_number="1f",
    )  # fmt: skip

    assert catalog.settle_stamp(claimed.id, claimed.lease_owner, result, _settled_event())
    assert not catalog.settle_stamp(claimed.id, claimed.lease_owner, result, _settled_event())

    [stamp] = catalog.timestamps(fid)
    assert (stamp.status, stamp.gen_time, stamp.serial_number, stamp.attempts) == (
        "stamped", GEN_TIME, "1f", 1,
    )  # fmt: skip
    assert "timestamp.stamped" in [e.action for e in catalog.audit_events()]


def test_a_stamp_to_retry_is_due_again_only_at_its_next_attempt(
    catalog: Catalog, clock: FakeClock
) -> None:
    _stamped_version(catalog)
    [claimed] = catalog.claim_due_stamps("w1", 10, LEASE)
    later = clock() + timedelta(seconds=300)
    assert claimed.lease_owner is not None
    retry = StampResult("pending", later, last_error="tsa_http_503: down")
    catalog.settle_stamp(claimed.id, claimed.lease_owner, retry, _settled_event())

    assert catalog.claim_due_stamps("w1", 10, LEASE) == []
    clock.advance(301)
    [again] = catalog.claim_due_stamps("w1", 10, LEASE)
    assert (again.attempts, again.last_error) == (1, "tsa_http_503: down")


def test_a_stamp_restored_from_the_archive_replaces_the_pending_one(catalog: Catalog) -> None:
    fid, key = _stamped_version(catalog)

    catalog.restore_stamp(
        StampJob(fid, 1, key), StampResult("stamped", gen_time=GEN_TIME, serial_number="2a")
    )

    [stamp] = catalog.timestamps(fid)
    assert (stamp.status, stamp.serial_number) == ("stamped", "2a")
