"""Trusted timestamps end to end, on the fakes of our ports and a real TSA on 127.0.0.1
(the service's simulator): a filing's tag manifest is stamped, the token verifies here
and with `openssl ts -verify`, a TSA that is down stamps it later, a TSA whose answer
does not verify fails the job with a clear code."""

from __future__ import annotations

import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from service.archive.filesystem import FilesystemStore
from service.archive.packages import Packages
from service.archive.packages.proof import Proofs
from service.catalog.records import StampJob
from service.delivery.policy import RetryPolicy
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.proof.tokens import check_token, load_roots
from service.proof.tsa import HttpTsa, TsaConfig
from service.uploads import spool
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.proof import ProofSetup, timestamp_view, verify_stamps
from service.usecases.recovery import rebuild_catalog
from service.usecases.recovery.stamps import restore_stamps
from service.usecases.stamping import Stamper, stamp_due
from service.usecases.tick import TickJobs, run_tick
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, sample_metadata
from tests.support.checks import checks_for
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.tsa import RunningTsa, openssl_verify, running_tsa

OPERATOR = Principal("op", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
ROUTES = {Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]}


@pytest.fixture(scope="module")
def tsa() -> Iterator[RunningTsa]:
    with running_tsa() as running:
        yield running


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
def stamper(
    tsa: RunningTsa, catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock
) -> Iterator[Stamper]:
    roots = load_roots(tsa.authority.root_pem)
    yield Stamper(
        catalog, Proofs(store), HttpTsa(TsaConfig(tsa.url, roots)), roots,
        policy=RetryPolicy.of_seconds([60, 600], 86400), lease=timedelta(minutes=5),
        clock=clock, worker="stamp-test",
    )  # fmt: skip
    tsa.switch.down = False
    tsa.authority.wrong_nonce = False


def _file(catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock, tmp: Path) -> str:
    ingest = Ingest(catalog, Packages(store, clock=clock), checks_for(ROUTES), clock)
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8, tmp)
    metadata = FilingMetadata.model_validate(sample_metadata())
    return submit_filing(ingest, OPERATOR, metadata, upload, Origin()).filing.id


def test_a_filed_package_is_stamped_and_its_token_verifies_here_and_with_openssl(
    tsa: RunningTsa, stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore,
    clock: FakeClock, tmp_path: Path,
) -> None:  # fmt: skip
    filing_id = _file(catalog, store, clock, tmp_path)

    assert stamp_due(stamper).stamped == 1

    [stamp] = catalog.timestamps(filing_id)
    assert stamp.status == "stamped" and stamp.token_key == stamp.stamped_key + ".tsr"
    assert stamp.tsa is not None and "CN=Disclosure TSA simulator" in stamp.tsa
    assert stamp.gen_time is not None and stamp.serial_number
    manifest = Proofs(store).read(stamp.stamped_key)
    token = Proofs(store).read(stamp.token_key)
    check = check_token(token, hashlib.sha256(manifest).digest(), stamper.roots)
    assert check.ok and check.facts is not None and check.facts.gen_time == stamp.gen_time
    assert "Verification: OK" in openssl_verify(manifest, token, tsa.authority, tmp_path / "o")
    assert "timestamp.stamped" in [e.action for e in catalog.audit_events()]


def test_a_tsa_that_is_down_when_the_package_completes_stamps_it_later(
    tsa: RunningTsa, stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore,
    clock: FakeClock, tmp_path: Path,
) -> None:  # fmt: skip
    tsa.switch.down = True
    filing_id = _file(catalog, store, clock, tmp_path)  # the filing is not held up

    assert stamp_due(stamper).retried == 1
    [waiting] = catalog.timestamps(filing_id)
    assert waiting.status == "pending" and waiting.last_error is not None
    assert waiting.last_error.startswith("tsa_http_503")
    assert waiting.next_attempt_at == clock() + timedelta(seconds=60)

    tsa.switch.down = False
    assert stamp_due(stamper).stamped == 0  # not due yet
    clock.advance(61)
    assert stamp_due(stamper).stamped == 1
    assert [s.status for s in catalog.timestamps(filing_id)] == ["stamped"]


def test_a_token_whose_nonce_is_not_the_one_asked_for_fails_the_stamp_with_its_code(
    tsa: RunningTsa, stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore,
    clock: FakeClock, tmp_path: Path,
) -> None:  # fmt: skip
    tsa.authority.wrong_nonce = True
    filing_id = _file(catalog, store, clock, tmp_path)

    assert stamp_due(stamper).failed == 1

    [stamp] = catalog.timestamps(filing_id)
    assert stamp.status == "failed" and stamp.token_key is None
    assert stamp.last_error is not None and stamp.last_error.startswith("timestamp_nonce_mismatch")
    assert Proofs(store).stat(stamp.stamped_key + ".tsr") is None  # nothing archived
    shown = timestamp_view(ProofSetup(Proofs(store), stamper.roots, True), stamp)
    assert (shown["status"], shown["verified"]) == ("failed", False)
    assert shown["problem"]["code"] == "timestamp_nonce_mismatch"
    assert "nonce" in shown["problem"]["message_zh"] and "nonce" in shown["problem"]["message_en"]


def test_a_catalog_rebuilt_from_the_archive_alone_restores_the_timestamps(
    stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    filing_id = _file(catalog, store, clock, tmp_path)
    stamp_due(stamper)
    [before] = catalog.timestamps(filing_id)
    rebuilt = MemoryCatalog(clock=clock)

    rebuild_catalog(rebuilt, store, Packages(store, clock=clock), now=clock())
    restored = restore_stamps(rebuilt, Proofs(store), rebuilt.version_states())

    assert (restored.stamped, restored.pending, restored.failed) == (1, 0, 0)
    [after] = rebuilt.timestamps(filing_id)
    fields = ("version", "status", "stamped_key", "token_key", "token_sha256", "gen_time",
              "tsa", "serial_number")  # fmt: skip
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]


def test_a_package_archived_before_timestamps_is_backfilled_and_then_stamped(
    stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    filing_id = _file(catalog, store, clock, tmp_path)
    [queued] = catalog.timestamps(filing_id)
    older = MemoryCatalog(clock=clock)  # as the catalog was: no stamp jobs, no tag manifest
    rebuild_catalog(older, store, Packages(store, clock=clock), now=clock())
    store._objects.pop(queued.stamped_key)

    backfilled = restore_stamps(older, Proofs(store), older.version_states())

    assert (backfilled.tag_manifests_written, backfilled.pending) == (1, 1)
    assert Proofs(store).stat(queued.stamped_key) is not None
    assert stamp_due(replace(stamper, catalog=older)).stamped == 1
    again = restore_stamps(older, Proofs(store), older.version_states())  # runs twice safely
    assert (again.tag_manifests_written, again.pending, again.stamped) == (0, 0, 1)


def test_the_tick_stamps_what_is_due(
    stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    filing_id = _file(catalog, store, clock, tmp_path)
    jobs = TickJobs(
        catalog=catalog, packages=Packages(store, clock=clock), store=store, restore=catalog,
        worker=None, reviewing=[], review_interval=timedelta(hours=1), fixity_sample=0,
        clock=clock, stamper=stamper,
    )  # fmt: skip

    assert run_tick(jobs).stamps.stamped == 1
    assert [s.status for s in catalog.timestamps(filing_id)] == ["stamped"]


def test_a_large_warc_is_stamped_and_verified_in_far_less_memory_than_its_size(
    tsa: RunningTsa, catalog: MemoryCatalog, clock: FakeClock, tmp_path: Path
) -> None:
    size, mib = 50 * 1024 * 1024, 1024 * 1024
    source = tmp_path / "big.warc.gz"
    with source.open("wb") as out:
        for _ in range(size // mib):
            out.write(os.urandom(mib))
    (tmp_path / "archive").mkdir()
    store = FilesystemStore(tmp_path / "archive")
    key = "filings/x/rule_of_law_report/2023/fil_big/v1/receipts/captures/portal-000.warc.gz"
    with source.open("rb") as data:
        store.put_new(key, data, content_type="application/warc", retention=None)
    roots = load_roots(tsa.authority.root_pem)
    stamper = Stamper(
        catalog, Proofs(store), HttpTsa(TsaConfig(tsa.url, roots)), roots,
        policy=RetryPolicy.of_seconds([60], 86400), lease=timedelta(minutes=5), clock=clock,
        worker="stamp-test",
    )  # fmt: skip
    catalog.enqueue_stamps([StampJob("fil_big", 1, key)])

    tracemalloc.start()
    try:
        stamped = stamp_due(stamper).stamped
        [stamp] = catalog.timestamps("fil_big")
        view = timestamp_view(ProofSetup(Proofs(store), roots, tsa_configured=True), stamp)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert stamped == 1 and (view["status"], view["verified"]) == ("stamped", True)
    assert peak < 8 * mib, f"peak {peak / mib:.1f} MiB stamping a {size // mib} MiB file"
    token = Proofs(store).read(stamp.token_key or "")
    digest = hashlib.sha256(source.read_bytes()).digest()
    assert check_token(token, digest, roots).ok  # the token is over the file's own SHA-256


def test_a_view_checks_the_token_against_the_recorded_digest_and_verify_reads_the_bytes(
    stamper: Stamper, catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock,
    tmp_path: Path,
) -> None:  # fmt: skip
    """/proof and the filing's page do not read a stamped file on every view (a WARC may
    be large); `verify` does, and finds bytes changed behind the store's record."""
    filing_id = _file(catalog, store, clock, tmp_path)
    stamp_due(stamper)
    [stamp] = catalog.timestamps(filing_id)
    setup = ProofSetup(Proofs(store), stamper.roots, tsa_configured=True)
    store.corrupt(stamp.stamped_key, b"a tag manifest altered in place\n")

    viewed = timestamp_view(setup, stamp)
    [verified] = verify_stamps(setup, [stamp])

    assert viewed["verified"] is True
    assert verified["verified"] is False and verified["problem"] is not None
    assert verified["problem"]["code"] == "timestamp_imprint_mismatch"  # altered, not missing
