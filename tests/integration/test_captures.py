"""Capture of what was published, end to end with time injected: a filing delivered to
the portal simulator (a real server on 127.0.0.1) is captured as a WARC that `warcio
check` passes, archived write-once beside the package and queued for a timestamp; its
text and attachment match the filing. Re-checks: a counter that changes is not drift, a
changed text is; a removed page is link rot (a first 404 only after the grace period);
a withdrawn filing's page shows the notice; the schedule is day 1, 7, 30."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import bagit
import httpx
import pytest

from service import metrics
from service.archive.packages import Packages
from service.archive.packages.captures import CaptureFiles
from service.archive.packages.proof import Proofs
from service.capture.fetcher import FetchConfig, HttpFetcher, host_of
from service.catalog.records import CaptureRecord
from service.categories import portal_channels
from service.delivery.policy import RetryPolicy
from service.delivery.portal import PortalAdapter, PortalConfig
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.filing import Category, Destination
from service.domain.findings import error
from service.domain.metadata import FilingMetadata
from service.domain.notifications import Recipients
from service.proof.tokens import load_roots
from service.proof.tsa import HttpTsa, TsaConfig
from service.reading.port import DocumentReader, Read
from service.simulators import RunningSimulator
from service.simulators.portal import SimulatorConfig, start_in_thread
from service.uploads import spool
from service.usecases.capturing import Capturer, CaptureSettings, capture_due
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.recovery import rebuild_catalog
from service.usecases.recovery.captures import restore_captures
from service.usecases.stamping import Stamper, stamp_due
from service.usecases.tick import TickJobs, run_tick
from service.usecases.verification import verify_filing
from service.usecases.withdrawal import WithdrawalRequest, withdraw
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, sample_metadata
from tests.support.checks import checks_for
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text
from tests.support.tsa import openssl_verify, running_tsa

OPERATOR = Principal("op", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
ROUTES = {Category.RULE_OF_LAW_REPORT: [Destination.PORTAL]}
WARCIO = str(Path(sys.executable).with_name("warcio"))
DAY = 86400


@pytest.fixture(scope="module")
def portal() -> Iterator[RunningSimulator]:
    with start_in_thread("127.0.0.1", 0, SimulatorConfig()) as running:
        yield running


@dataclass
class World:
    catalog: MemoryCatalog
    store: InMemoryStore
    clock: FakeClock
    capturer: Capturer
    portal: RunningSimulator

    def capture(self) -> CaptureRecord:
        capture_due(self.capturer)
        return self.only()

    def only(self) -> CaptureRecord:
        [found] = self.catalog.capture_rows.values()
        return found

    def page(self, **change: object) -> None:
        [article] = httpx.get(f"{self.portal.url}/_admin/articles").json()["articles"]
        httpx.post(
            f"{self.portal.url}/_admin/articles/{article['article_id']}/page", json=change
        ).raise_for_status()


@pytest.fixture
def world(portal: RunningSimulator, tmp_path: Path) -> World:
    httpx.post(f"{portal.url}/_admin/reset").raise_for_status()
    clock, store = FakeClock(), InMemoryStore()
    catalog = MemoryCatalog(clock=clock)
    packages = Packages(store, clock=clock)
    checks = checks_for(ROUTES)
    upload = spool([docx_from_text(SAMPLE_PATH.read_text("utf-8"))], "report.docx", 10**8, tmp_path)
    metadata = FilingMetadata.model_validate(sample_metadata())
    submit_filing(Ingest(catalog, packages, checks, clock), OPERATOR, metadata, upload, Origin())
    _deliver(catalog, packages, clock, checks.reader, portal.url)
    fetcher = HttpFetcher(FetchConfig(frozenset({host_of(portal.url)})), clock=clock)
    capturer = Capturer(
        catalog, packages, CaptureFiles(store), fetcher, checks.reader,
        policy=RetryPolicy.of_seconds([60], DAY), lease=timedelta(minutes=5), clock=clock,
        worker="capture-test", settings=CaptureSettings(grace=timedelta(hours=6)),
        recipients=Recipients(compliance=["compliance@example.gov.cn"], email=True),
    )  # fmt: skip
    return World(catalog, store, clock, capturer, portal)


def _deliver(catalog: MemoryCatalog, packages: Packages, clock: FakeClock, reader: object,
             url: str) -> None:  # fmt: skip
    config = PortalConfig(url, "portal-demo", "portal-demo-secret", portal_channels(),
                          timeout_s=5, backoff_initial_s=0.001, backoff_max_s=0.002)  # fmt: skip
    Worker(
        catalog=catalog, packages=packages,
        adapters={"portal": PortalAdapter(config, sleep=lambda _: None)},
        config=WorkerConfig("w", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 60)),
        clock=clock, reader=reader,  # type: ignore[arg-type]
    ).run_once()  # fmt: skip
    assert all(d.status == "delivered" for d in catalog.deliveries.values())
    assert any(d.receipt and d.receipt.get("url") for d in catalog.deliveries.values())


def test_a_published_page_is_captured_as_a_warc_that_warcio_check_passes(
    world: World, tmp_path: Path
) -> None:
    capture = world.capture()

    assert capture.status == "captured" and capture.verdict == "unchanged"
    assert capture.http_status == 200 and capture.text_matches and capture.attachments_match
    assert capture.url.startswith(world.portal.url.rstrip("/"))
    assert capture.warc_key and capture.warc_key.endswith("receipts/captures/portal-000.warc.gz")
    data = CaptureFiles(world.store).read(capture.warc_key)
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(data)
    checked = subprocess.run([WARCIO, "check", "-v", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert capture.warc_key in [s.stamped_key for s in world.catalog.timestamps(capture.filing_id)]
    assert capture.next_attempt_at == capture.captured_at + timedelta(days=1)
    fetched = [line for line in _records(world, capture.warc_key).split(b"\r\n")
               if line.startswith(b"WARC-Target-URI")]  # fmt: skip
    assert fetched and all(world.portal.url.rstrip("/").encode() in u for u in fetched)
    assert b"other-host.example" not in b"".join(fetched)  # a page's link to another host
    assert "capture.captured" in [e.action for e in world.catalog.audit_events()]


def test_a_counter_that_changes_is_not_drift_and_an_unchanged_page_is_a_revisit(
    world: World,
) -> None:
    world.capture()
    world.clock.advance(DAY)

    checked = world.capture()

    assert checked.verdict == "unchanged" and checked.checks == 1
    # unchanged since (304): what the visit that read it found still shows
    assert (checked.http_status, checked.text_matches, checked.attachments_match) == (
        304, True, True,
    )  # fmt: skip
    [revisit_key] = [k for k in checked.objects if k.endswith("portal-001.warc.gz")]
    assert b"revisit" in _records(world, revisit_key)
    assert checked.next_attempt_at == checked.captured_at + timedelta(days=7)  # type: ignore[operator]


@dataclass
class CountingReader:
    reader: DocumentReader
    reads: int = 0

    def read(
        self, path: Path, filename: str, *, tables: bool = False, owner: str | None = None
    ) -> Read:
        self.reads += 1
        return self.reader.read(path, filename, tables=tables, owner=owner)

    def close(self) -> None:
        self.reader.close()


def test_the_document_is_read_once_per_version_and_not_for_a_304_or_a_page_gone(
    world: World,
) -> None:
    counting = CountingReader(world.capturer.reader)
    world.capturer = replace(world.capturer, reader=counting)
    assert world.capture().verdict == "unchanged" and counting.reads == 1
    world.clock.advance(DAY)
    assert world.capture().verdict == "unchanged"  # a 304: nothing to compare
    world.page(page="removed")
    world.clock.advance(6 * DAY)
    assert world.capture().verdict == "link_rot"
    world.page(page="shown", body_html="<p>本报告内容已被修改</p>")
    world.clock.advance(23 * DAY)

    assert world.capture().verdict == "drift"  # compared: the text kept from the capture
    assert counting.reads == 1


@dataclass
class FailingReader:
    """The reading pool as it answers when a worker timed out or was killed: no
    document, a finding that says why, `failures` times; then it reads again."""

    reader: DocumentReader
    failures: int

    def read(
        self, path: Path, filename: str, *, tables: bool = False, owner: str | None = None
    ) -> Read:
        if self.failures > 0:
            self.failures -= 1
            return None, [error("file_too_slow", "读取超时", "Reading timed out")]
        return self.reader.read(path, filename, tables=tables, owner=owner)

    def close(self) -> None:
        self.reader.close()


def test_a_document_that_cannot_be_read_this_time_is_retried_never_judged_drift(
    world: World,
) -> None:
    world.capturer = replace(world.capturer, reader=FailingReader(world.capturer.reader, 1))

    retried = world.capture()

    assert retried.status == "pending" and retried.verdict is None
    assert retried.last_error and retried.last_error.startswith("document_unreadable")
    assert not world.catalog.notification_rows  # no drift told
    world.clock.advance(DAY)
    captured = world.capture()  # the reader answers again; nothing empty was kept
    assert captured.verdict == "unchanged" and captured.text_matches is True


def test_a_text_changed_after_publication_is_drift_and_is_notified(world: World) -> None:
    world.capture()
    world.page(body_html="<p>本报告内容已被修改</p>")
    world.clock.advance(DAY)
    counted = metrics.CAPTURE_VERDICTS.labels("portal", "drift")

    before = counted._value.get()
    checked = world.capture()
    assert counted._value.get() == before + 1

    assert checked.verdict == "drift" and checked.text_matches is False
    assert "capture.checked" in [e.action for e in world.catalog.audit_events()]
    [notice] = world.catalog.notification_rows.values()
    assert notice.kind == "publication.drift" and notice.detail["message_zh"]
    world.clock.advance(6 * DAY)
    again = world.capture()
    assert again.verdict == "drift" and again.text_matches is False  # a 304 keeps what differs
    assert len(world.catalog.notification_rows) == 1  # told once, not at every re-check


def test_a_page_removed_later_is_link_rot(world: World) -> None:
    world.capture()
    world.page(page="removed")
    world.clock.advance(DAY)

    rot = world.capture()

    assert (rot.verdict, rot.rot_kind, rot.http_status) == ("link_rot", "not_found", 404)
    assert rot.text_matches is None  # not compared: what the last visit saw, not the first
    checked = world.catalog.audit_events()[-1]
    assert checked.action == "capture.checked" and checked.detail["rot_kind"] == "not_found"
    [notice] = world.catalog.notification_rows.values()
    assert notice.kind == "publication.link_rot" and notice.detail["rot_kind"] == "not_found"


def test_the_rebuilt_catalog_restores_how_a_page_is_gone(world: World) -> None:
    world.capture()
    world.page(page="gone")
    world.clock.advance(DAY)
    before = world.capture()
    rebuilt = MemoryCatalog(clock=world.clock)

    rebuild_catalog(rebuilt, world.store, Packages(world.store, clock=world.clock),
                    now=world.clock())  # fmt: skip
    restore_captures(rebuilt, CaptureFiles(world.store), Proofs(world.store),
                     rebuilt.version_states())  # fmt: skip

    [after] = rebuilt.captures(before.filing_id)
    assert (after.verdict, after.rot_kind, after.http_status) == ("link_rot", "gone", 410)


def test_a_page_back_after_rot_is_read_again_not_revisited_and_is_unchanged(
    world: World,
) -> None:
    world.capture()
    world.page(page="removed")
    world.clock.advance(DAY)
    assert world.capture().verdict == "link_rot"
    world.page(page="shown")
    world.clock.advance(6 * DAY)

    back = world.capture()

    assert (back.verdict, back.rot_kind, back.http_status) == ("unchanged", None, 200)
    assert back.text_matches is True


@pytest.mark.parametrize("page", ["soft_404", "home", "gone"])
def test_soft_404_sent_home_and_410_are_link_rot(world: World, page: str) -> None:
    world.capture()
    world.page(page=page)
    world.clock.advance(DAY)

    assert world.capture().verdict == "link_rot"


def test_a_first_404_waits_out_the_grace_period_before_it_counts_as_rot(world: World) -> None:
    world.page(page="removed")  # the portal's static page lags behind its API

    waiting = world.capture()
    assert waiting.status == "pending" and waiting.verdict is None
    world.clock.advance(5 * 3600)
    assert world.capture().status == "pending"
    world.clock.advance(2 * 3600)

    rot = world.capture()
    assert rot.status == "captured" and rot.verdict == "link_rot" and rot.http_status == 404


def _records(world: World, key: str) -> bytes:
    import gzip

    return gzip.decompress(CaptureFiles(world.store).read(key))


def test_the_tick_captures_what_was_published(world: World) -> None:
    store = world.store
    jobs = TickJobs(
        catalog=world.catalog, packages=Packages(store, clock=world.clock), store=store,
        restore=world.catalog, worker=None, reviewing=[], review_interval=timedelta(hours=1),
        fixity_sample=0, clock=world.clock, capturer=world.capturer,
    )  # fmt: skip

    report = run_tick(jobs)

    assert (report.captures.queued, report.captures.captured) == (1, 1)
    assert world.only().verdict == "unchanged"


def test_verify_checks_the_warcs_and_a_changed_one_is_damage(world: World) -> None:
    capture = world.capture()
    world.clock.advance(DAY)
    world.capture()
    packages = Packages(world.store, clock=world.clock)

    [fine] = verify_filing(world.catalog, packages, capture.filing_id, checked_by="t",
                           now=world.clock())  # fmt: skip
    assert fine.ok and not fine.report["extra"]
    assert capture.warc_key is not None
    world.store.corrupt(capture.warc_key, b"not what was captured")

    [damaged] = verify_filing(world.catalog, packages, capture.filing_id, checked_by="t",
                              now=world.clock())  # fmt: skip
    assert not damaged.ok
    assert [m["path"] for m in damaged.report["mismatched"]] == [
        "receipts/captures/portal-000.warc.gz"
    ]


def test_the_catalog_rebuilt_from_the_archive_alone_restores_captures_and_verdicts(
    world: World,
) -> None:
    world.capture()
    world.page(body_html="<p>已修改</p>")
    world.clock.advance(DAY)
    before = world.capture()
    rebuilt = MemoryCatalog(clock=world.clock)
    packages = Packages(world.store, clock=world.clock)

    report = rebuild_catalog(rebuilt, world.store, packages, now=world.clock())
    restored = restore_captures(rebuilt, CaptureFiles(world.store), Proofs(world.store),
                                rebuilt.version_states())  # fmt: skip

    assert report.ok and (restored.captures, restored.checks) == (1, 1)
    [after] = rebuilt.captures(before.filing_id)
    fields = ("delivery_id", "url", "status", "captured_at", "http_status", "text_matches",
              "next_attempt_at",
              "attachments_match", "warc_key", "warc_sha256", "checks", "verdict", "objects")  # fmt: skip
    assert [getattr(after, f) for f in fields] == [getattr(before, f) for f in fields]
    stamped = {s.stamped_key for s in rebuilt.timestamps(before.filing_id)}
    assert {k for k in before.objects if k.endswith(".warc.gz")} <= stamped
    [fine] = verify_filing(rebuilt, packages, before.filing_id, checked_by="t", now=world.clock())
    assert fine.ok


def test_a_withdrawn_filing_s_page_is_expected_to_show_the_withdrawal_notice(
    world: World,
) -> None:
    capture = world.capture()
    request = WithdrawalRequest(capture.filing_id, "误发", OPERATOR, Origin())
    packages = Packages(world.store, clock=world.clock)
    withdraw(world.catalog, packages, request, takedown={"portal"}, now=world.clock())
    world.clock.advance(DAY)
    assert world.capture().verdict == "drift"  # withdrawn here, still shown there

    _deliver(world.catalog, packages, world.clock, world.capturer.reader, world.portal.url)
    world.clock.advance(6 * DAY)

    assert world.capture().verdict == "withdrawn"


def test_the_warc_is_stamped_and_the_zip_validates_with_it_and_its_token(
    world: World, tmp_path: Path
) -> None:
    capture = world.capture()
    assert capture.warc_key is not None
    with running_tsa() as tsa:
        roots = load_roots(tsa.authority.root_pem)
        stamper = Stamper(
            world.catalog, Proofs(world.store), HttpTsa(TsaConfig(tsa.url, roots)), roots,
            policy=RetryPolicy.of_seconds([60], DAY), lease=timedelta(minutes=5),
            clock=world.clock, worker="stamp-test",
        )  # fmt: skip
        assert stamp_due(stamper).stamped == 2  # the tag manifest and the WARC
        files = CaptureFiles(world.store)
        warc, token = files.read(capture.warc_key), files.read(capture.warc_key + ".tsr")
        assert "Verification: OK" in openssl_verify(warc, token, tsa.authority, tmp_path / "o")
    prefix = capture.warc_key.split("receipts/")[0]
    out = io.BytesIO()
    Packages(world.store, clock=world.clock).write_zip(prefix, out, bag_name="bag")
    with zipfile.ZipFile(out) as archive:
        archive.extractall(tmp_path / "zip")
    bag = bagit.Bag(str(tmp_path / "zip" / "bag"))
    bag.validate()
    assert {"receipts/captures/portal-000.warc.gz", "receipts/captures/portal-000.warc.gz.tsr",
            "receipts/captures/portal-000.json"} <= set(bag.tagfile_entries())  # fmt: skip
    [fine] = verify_filing(world.catalog, Packages(world.store, clock=world.clock),
                           capture.filing_id, checked_by="t", now=world.clock())  # fmt: skip
    assert fine.ok


def test_a_url_on_a_host_not_configured_is_never_fetched_and_the_capture_says_why(
    world: World,
) -> None:
    fetcher = HttpFetcher(FetchConfig(frozenset({"www.example.gov.cn"})), clock=world.clock)
    capturer = replace(world.capturer, fetcher=fetcher)
    capture_due(capturer)

    failed = world.only()
    assert failed.status == "failed" and failed.verdict is None
    assert failed.last_error and failed.last_error.startswith("capture_host_not_allowed")
    [article] = httpx.get(world.portal.url.rstrip("/") + "/_admin/articles").json()["articles"]
    assert article["views"] == 0  # the page was never fetched
