"""Reconcile and rebuild (DESIGN.md invariants 2 and 8) against a real catalog, on SQLite
and PostgreSQL, with the in-memory archive and fake destinations (our own ports)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import docx
import pytest
from sqlalchemy import Engine

from service.archive.filesystem import FilesystemStore
from service.archive.packages import MANIFEST, Packages, PayloadFile, package_prefix
from service.archive.port import ArchiveStore
from service.archive.version_metadata import FileFacts, VersionMetadata
from service.bootstrap import Container, build_container
from service.catalog.database import make_engine, make_sessions
from service.catalog.ports import Catalog
from service.catalog.records import (
    AuditEvent,
    DeliveryRecord,
    FilingQuery,
    FilingRecord,
    NewVersion,
    VersionRecord,
)
from service.catalog.sql import SqlCatalog
from service.catalog.sql.restore import CatalogRestore
from service.catalog.sql.tables import Base
from service.delivery.policy import RetryPolicy
from service.delivery.port import (
    Delivered,
    DeliveryJob,
    Failed,
    Journal,
    Outcome,
    RetryLater,
    ReviewStatus,
)
from service.delivery.reviews import poll_reviews
from service.delivery.worker import Worker, WorkerConfig
from service.domain.access import Principal, Role
from service.domain.destinations import Capability
from service.domain.errors import ArchiveUnavailable, Conflict
from service.domain.filing import Category, Destination
from service.domain.findings import warning
from service.domain.metadata import FilingMetadata
from service.settings import Settings
from service.uploads import spool
from service.usecases.audit_export import day_bounds, export_audit_day
from service.usecases.ingest import Ingest, Origin, submit_filing
from service.usecases.recovery import ProblemKind, SkipKind, rebuild_catalog, reconcile
from service.usecases.verification import verify_filing
from tests.fakes import InMemoryStore
from tests.support.bodies import NANKAI_OFFICE as NANKAI
from tests.support.bodies import sample_metadata
from tests.support.checks import checks_for, in_process_reader
from tests.support.clock import FakeClock
from tests.support.documents import sample_report
from tests.support.s3 import S3Server
from tests.support.servers import base_env, run_command

OPERATOR = Principal("op", Role.OPERATOR, frozenset({"*"}))
ORIGIN = Origin(source="10.0.0.7", request_id="req-1")
ROUTES = {
    Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, Destination.LEGAL_PLATFORM],
    Category.LEADERSHIP: [Destination.PORTAL],
    Category.LIVELIHOOD: [Destination.PORTAL],
    Category.BUDGET_FINAL_ACCOUNTS: [],
}
DAY = date(2024, 1, 12)  # the fake clock's day in Asia/Shanghai


class MemoryStore(InMemoryStore):
    """The in-memory archive, where a manifest's put can succeed and yet answer an error
    (the response lost on the way back), as a real object store can."""

    lose_manifest_response = False

    def put_new(self, key: str, source: BinaryIO, **kwargs: Any) -> Any:
        stored = super().put_new(key, source, **kwargs)
        if key.endswith(MANIFEST) and self.lose_manifest_response:
            self.lose_manifest_response = False
            raise ArchiveUnavailable(detail={"key": key})
        return stored

    def copy(self, keep: Callable[[str], bool] = lambda key: True) -> InMemoryStore:
        other = InMemoryStore()
        for key in self.list(""):
            if keep(key):
                with self.open(key) as stream:
                    other.put_new(key, stream)
        return other


@dataclass
class AnsweringDestination:
    """A fake destination answering each job by what it is, so order does not matter."""

    destination: str
    answer: Callable[[DeliveryJob], Outcome]
    capabilities: frozenset[Capability] = frozenset({Capability.PARAGRAPHS})

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        return self.answer(job)


class ReturnsEveryReport:
    destination = "legal_platform"
    capabilities = frozenset({Capability.REVIEWS})

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        raise AssertionError("only polled")

    def poll_review(self, receipt_no: str, org_code: str) -> ReviewStatus:
        return ReviewStatus(receipt_no, "RETURNED", "请补充第三部分", "2024-01-12T10:00:00+08:00")


class CrashingCatalog(SqlCatalog):
    """The process dies after the package is written, before the catalog commits."""

    def complete_version(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("power cut")


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def packages(store: MemoryStore, clock: FakeClock) -> Packages:
    return Packages(store, clock=clock)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def restore(engine: Engine, clock: FakeClock) -> CatalogRestore:
    return CatalogRestore(make_sessions(engine), clock=clock)


def _ingest(catalog: Catalog, packages: Packages, clock: FakeClock) -> Ingest:
    return Ingest(
        catalog=catalog,
        packages=packages,
        checks=checks_for(ROUTES),
        clock=clock,
    )


def _docx(revision: int, year: int = 2023) -> bytes:
    """The sample report (on `year`) as DOCX; each revision has other bytes and the same
    text."""
    document = docx.Document()
    for line in sample_report(year).splitlines():
        document.add_paragraph(line)
    document.core_properties.revision = revision
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _report(
    ingest: Ingest, revision: int = 1, correcting: str | None = None, year: int = 2023
) -> str:
    return _report_bytes(ingest, _docx(revision, year), correcting, year)


def _report_bytes(
    ingest: Ingest, content: bytes, correcting: str | None = None, year: int = 2023
) -> str:
    """Filed as the body's report on `year` (one a year: another year for another filing)."""
    upload = spool([content], "report.docx", 10**8)
    reason = {"reason": "更正"} if correcting else {}
    meta = FilingMetadata.model_validate(sample_metadata(period=str(year), **reason))
    return submit_filing(ingest, OPERATOR, meta, upload, ORIGIN, correcting=correcting).filing.id


def _item(catalog: Catalog, packages: Packages, clock: FakeClock, text: str, **meta: Any) -> str:
    """File an item as ingest does, without its validation (the rules of these kinds are
    still being written): reserve the version, write the package, commit."""
    metadata = FilingMetadata.model_validate(sample_metadata(**meta))
    content = text.encode()
    destinations = ROUTES[metadata.category]

    def new_version(filing_id: str, number: int) -> NewVersion:
        return NewVersion(
            filename="item.txt",
            kind="txt",
            media_type="text/plain",
            size=len(content),
            sha256=hashlib.sha256(content).hexdigest(),
            title=metadata.title or text,
            package_prefix=package_prefix(
                metadata.org_code, metadata.category, metadata.period, filing_id, number
            ),
            metadata=metadata.model_dump(mode="json"),
            findings=[warning("w", "提示", "a warning").to_dict()],
            publish_at=metadata.publish_at,
        )

    filing_id, number = catalog.reserve_version(
        filing_id=None,
        org_code=metadata.org_code,
        org_name=metadata.org_name,
        category=metadata.category,
        period=metadata.period,
        actor=OPERATOR.name,
        make_version=new_version,
    )
    version = new_version(filing_id, number)
    ref = packages.put_package(
        version.package_prefix,
        [PayloadFile(version.filename, io.BytesIO(content), version.sha256)],
        VersionMetadata(
            filing_id=filing_id,
            version=number,
            title=version.title,
            submitted=version.metadata,
            file=FileFacts(
                version.filename, version.kind, version.media_type, version.size, version.sha256
            ),
            findings=version.findings,
            destinations=tuple(d.value for d in destinations),
            archived_at=clock(),
            archived_by=OPERATOR.name,
        ).to_json(),
        {"Source-Organization": metadata.org_name},
    )
    event = AuditEvent(
        OPERATOR.name,
        OPERATOR.role.value,
        "filing.submitted",
        f"{filing_id}/v{number}",
        org_code=metadata.org_code,
        source=ORIGIN.source,
        request_id=ORIGIN.request_id,
        detail={"category": metadata.category.value},
    )
    catalog.complete_version(
        filing_id,
        number,
        [d.value for d in destinations],
        event,
        manifest_sha256=ref.manifest.sha256,
    )
    return filing_id


def _worker(
    catalog: Catalog, packages: Packages, clock: FakeClock, *destinations: AnsweringDestination
) -> Worker:
    # One delivery at a time: concurrent attempts on one version can leave its status behind
    # on PostgreSQL (reported to the lead), and this test compares statuses.
    config = WorkerConfig("w1", 1, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([60], 3600))
    adapters = {d.destination: d for d in destinations}
    return Worker(
        catalog=catalog,
        packages=packages,
        adapters=adapters,
        config=config,
        clock=clock,
        reader=in_process_reader(),
    )


def _wipe(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())


def _all_filings(catalog: Catalog, restore: CatalogRestore) -> list[FilingRecord]:
    """Every filing, those never acknowledged (which `list_filings` leaves out) included."""
    ids = sorted({v.filing_id for v in restore.version_states()})
    found = [catalog.get_filing(i, with_attempts=False) for i in ids]
    return [f for f in found if f is not None]


# -- reconcile ------------------------------------------------------------------------


def test_a_crash_between_the_archive_write_and_the_catalog_commit_leaves_an_orphan_reconcile_finds(
    engine: Engine,
    restore: CatalogRestore,
    catalog: Catalog,
    packages: Packages,
    clock: FakeClock,
) -> None:
    crashing = CrashingCatalog(make_sessions(engine), clock=clock)
    with pytest.raises(RuntimeError, match="power cut"):
        _report(_ingest(crashing, packages, clock))

    assert catalog.list_filings(FilingQuery()) == []  # never acknowledged, never listed
    [version] = restore.version_states()
    assert version.status == "reserved"
    prefix = version.package_prefix
    assert packages.is_complete(prefix)

    assert reconcile(restore, packages, now=clock()).ok  # within the hour: still being written
    clock.advance(2 * 3600)
    result = reconcile(restore, packages, now=clock())
    assert [(p.kind, p.key, p.catalog_status) for p in result.problems] == [
        (ProblemKind.UNRECORDED_PACKAGE, prefix, "reserved"),
        (ProblemKind.STUCK_RESERVATION, prefix, "reserved"),
    ]
    assert (result.packages, result.versions) == (1, 1)


class CorrectionRacingStore(MemoryStore):
    """When a payload is staged, another correction of the same filing reserves the next
    version first: the staged put went under a number the submission will not get."""

    def __init__(self) -> None:
        super().__init__()
        self.before_stage: Callable[[], None] = lambda: None
        self.staged_keys: list[str] = []

    def stage(self, key: str, path: Path, **kwargs: Any) -> Any:
        self.before_stage()
        self.staged_keys.append(key)
        return super().stage(key, path, **kwargs)


def test_a_correction_that_loses_its_version_number_meanwhile_is_archived_under_the_next(
    catalog: Catalog, clock: FakeClock
) -> None:
    store = CorrectionRacingStore()
    packages = Packages(store, clock=clock)
    ingest = _ingest(catalog, packages, clock)
    filing_id = _report(ingest, revision=1)
    metadata = FilingMetadata.model_validate(sample_metadata())

    def concurrent_correction() -> None:
        store.before_stage = lambda: None
        catalog.reserve_version(
            filing_id=filing_id,
            org_code=metadata.org_code,
            org_name=metadata.org_name,
            category=metadata.category,
            period=metadata.period,
            actor="someone-else",
            make_version=lambda f, n: _new_version_like(f, n, metadata),
        )

    store.before_stage = concurrent_correction
    assert _report(ingest, revision=2, correcting=filing_id) == filing_id

    record = catalog.get_filing(filing_id)
    assert record is not None
    assert {v.version: v.status for v in record.versions} == {
        1: "superseded",
        2: "reserved",
        3: "archived",
    }
    v2, v3 = (
        package_prefix(metadata.org_code, metadata.category, metadata.period, filing_id, n)
        for n in (2, 3)
    )
    assert store.staged_keys[-1].startswith(v2)  # predicted, then given up
    assert list(store.list(v2)) == []
    assert packages.is_complete(v3)


def _new_version_like(filing_id: str, number: int, metadata: FilingMetadata) -> NewVersion:
    return NewVersion(
        filename="report.docx",
        kind="docx",
        media_type="application/octet-stream",
        size=1,
        sha256="0" * 64,
        title=None,
        package_prefix=package_prefix(
            metadata.org_code, metadata.category, metadata.period, filing_id, number
        ),
        metadata=metadata.model_dump(mode="json"),
        findings=[],
        publish_at=None,
    )


@pytest.mark.parametrize("where", ["filesystem", "ceph"])
def test_reconcile_reports_a_write_a_killed_process_left_unfinished(
    restore: CatalogRestore,
    clock: FakeClock,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    where: str,
) -> None:
    prefix = package_prefix(NANKAI, "rule_of_law_report", "2023", "fil_1", 2)
    store: ArchiveStore
    if where == "filesystem":
        store = FilesystemStore(tmp_path / "archive")
        (tmp_path / "archive" / prefix / "data").mkdir(parents=True)
        left = tmp_path / "archive" / prefix / "data" / ".tmp-k3x9q2"  # as put_new names them
        left.write_bytes(b"half a report")
        os.utime(left, (clock().timestamp() - 7200,) * 2)
        expected_key = f"{prefix}data/.tmp-k3x9q2"
    else:
        ceph: S3Server = request.getfixturevalue("ceph_s3")
        store = ceph.store(ceph.new_bucket("locked"), "archive")
        file = tmp_path / "upload"
        file.write_bytes(bytes(6 * 1024 * 1024))
        staged = store.stage(f"{prefix}data/报告.docx", file, sha256="0" * 64, size_hint=6 << 20)
        staged.grown(6 * 1024 * 1024)  # a part: the upload is begun, then the process dies
        deadline = time.monotonic() + 10
        while not list(store.unfinished(datetime.now(UTC) + timedelta(minutes=1))):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        clock.now = datetime.now(UTC) + timedelta(hours=2)
        expected_key = f"{prefix}data/报告.docx"

    result = reconcile(restore, Packages(store, clock=clock), now=clock())

    [problem] = result.problems
    assert (problem.kind, problem.key) == (ProblemKind.UNFINISHED_WRITE, expected_key)
    assert (problem.filing_id, problem.version, problem.catalog_status) == ("fil_1", 2, None)
    assert "中断的写入" in problem.kind.label_zh
    assert reconcile(restore, Packages(store, clock=clock), now=clock() - timedelta(hours=3)).ok
    if where == "ceph":
        staged.abort()


def test_reconcile_counts_a_superseded_version_as_archived_not_as_an_orphan(
    restore: CatalogRestore, catalog: Catalog, packages: Packages, clock: FakeClock
) -> None:
    ingest = _ingest(catalog, packages, clock)
    filing_id = _report(ingest, revision=1)
    _report(ingest, revision=2, correcting=filing_id)  # before v1 went out: v1 superseded
    record = catalog.get_filing(filing_id)
    assert record is not None and record.versions[0].status == "superseded"

    result = reconcile(restore, packages, now=clock())
    assert result.ok, result.problems


def test_reconcile_reports_every_kind_of_disagreement_and_changes_nothing(
    restore: CatalogRestore,
    catalog: Catalog,
    store: MemoryStore,
    packages: Packages,
    clock: FakeClock,
) -> None:
    ingest = _ingest(catalog, packages, clock)
    archived = _report(ingest)
    assert reconcile(restore, packages, now=clock()).ok

    store.fail_on_put = len(store.put_order) + 2  # the payload goes in, metadata.json fails
    with pytest.raises(ArchiveUnavailable):
        _report(ingest, year=2022)
    store.lose_manifest_response = True  # the package is complete, the service saw an error
    with pytest.raises(ArchiveUnavailable):
        _report(ingest, year=2021)
    version = catalog.get_version(archived, 1)
    assert version is not None
    unrecorded = packages.put_receipt(version.package_prefix, "portal", {"article_id": "x"}, seq=9)

    result = reconcile(restore, packages, now=clock())
    kinds = {p.kind: p for p in result.problems}
    assert sorted(kinds) == sorted(
        [
            ProblemKind.UNRECORDED_PACKAGE,
            ProblemKind.INCOMPLETE_PACKAGE,
            ProblemKind.UNRECORDED_RECEIPT,
        ]
    )
    assert kinds[ProblemKind.UNRECORDED_PACKAGE].catalog_status == "abandoned"
    assert kinds[ProblemKind.INCOMPLETE_PACKAGE].catalog_status == "abandoned"
    assert kinds[ProblemKind.UNRECORDED_RECEIPT].key == unrecorded.key

    without_manifest = Packages(store.copy(lambda key: not key.endswith(MANIFEST)), clock=clock)
    missing = reconcile(restore, without_manifest, now=clock()).problems
    assert ("no manifest", archived) in [
        (p.note, p.filing_id) for p in missing if p.kind is ProblemKind.MISSING_PACKAGE
    ]
    nothing = reconcile(restore, Packages(InMemoryStore(), clock=clock), now=clock()).problems
    assert [(p.kind, p.filing_id, p.note) for p in nothing] == [
        (ProblemKind.MISSING_PACKAGE, archived, "no object at all")
    ]
    assert catalog.get_version(archived, 1) == version  # reconcile changes nothing


# -- rebuild ------------------------------------------------------------------------


def _answer(job: DeliveryJob) -> Outcome:
    """Portal: a livelihood item fails for good, a leadership item is busy, the rest land."""
    if job.category == "livelihood" and job.title.startswith("坏"):
        return Failed("too_large", "413", 413)
    if job.category == "livelihood":
        return RetryLater("http_503", "busy", 503)
    return Delivered({"article_id": f"art-{job.source_id}", "url": "https://portal/a.html"}, 201)


def _legal(job: DeliveryJob) -> Outcome:
    if job.version == 1:
        return Delivered({"receipt_no": f"R-{job.filing_id}"}, 200)
    return RetryLater("http_503", "busy", 503)


def _build_an_archive(catalog: Catalog, packages: Packages, clock: FakeClock) -> dict[str, str]:
    """Several kinds, a correction, deliveries delivered (with a review outcome), pending,
    scheduled and failed, and a filing with no destination at all."""
    ingest = _ingest(catalog, packages, clock)
    worker = _worker(
        catalog,
        packages,
        clock,
        AnsweringDestination("portal", _answer),
        AnsweringDestination("legal_platform", _legal),
    )
    report = _report(ingest)
    _drain(worker)
    poll_reviews(catalog, packages, ReturnsEveryReport(), clock=clock, interval=timedelta(0))
    clock.advance(60)
    _report(ingest, 2, correcting=report)

    def item(text: str, **metadata: Any) -> str:
        return _item(catalog, packages, clock, text, **metadata)

    ids = {
        "report": report,
        "scheduled": item(
            "领导信息：张三任主任",
            category="leadership",
            period="2024-01-05",
            publish_at=(clock() + timedelta(days=2)).isoformat(),
            leadership={"leaders": [{"name": "张三", "post": "主任", "duties": "全面工作"}]},
        ),
        "no_destination": item(
            "2023年度部门决算",
            category="budget_final_accounts",
            period="2023",
            waivers=[{"code": "budget_table_missing", "reason": "经审批豁免"}],
        ),
        "retrying": item("关于对口支援项目的公告", category="livelihood", period="2024-01-10"),
        "failed": item("坏文件公告", category="livelihood", period="2024-01-11"),
    }
    clock.advance(60)
    _drain(worker)
    return ids


def _drain(worker: Worker) -> None:
    while worker.run_once():
        pass


def _version_view(v: VersionRecord) -> dict[str, Any]:
    view = dataclasses.asdict(v)
    del view["last_verified_at"], view["last_verified_ok"]  # fixity checks: operational
    if view["status"] == "delivery_failed":
        view["status"] = "archived"  # its failed delivery comes back pending
    return view


def _delivery_view(d: DeliveryRecord) -> tuple[Any, ...]:
    return (
        d.id if d.status == "delivered" else "(new id)",
        d.version,
        d.destination,
        d.idempotency_key,
        "delivered" if d.status == "delivered" else "pending",
        d.receipt,
        d.receipt_key,
        d.receipt_sha256,
        d.delivered_at,
        d.review_status,
        d.review_reason,
        d.review_checked_at,
        d.review_receipt_key,
        d.review_receipt_sha256,
    )


def _view(f: FilingRecord) -> dict[str, Any]:
    return {
        "filing": (f.id, f.org_code, f.org_name, f.category, f.period, f.latest_version),
        "created": (f.created_at, f.created_by),
        "versions": [_version_view(v) for v in f.versions],
        "deliveries": [_delivery_view(d) for d in f.deliveries],
    }


def test_a_catalog_rebuilt_from_the_archive_alone_equals_the_original(
    restore: CatalogRestore,
    catalog: Catalog,
    engine: Engine,
    store: MemoryStore,
    packages: Packages,
    clock: FakeClock,
) -> None:
    ids = _build_an_archive(catalog, packages, clock)
    clock.now = day_bounds(DAY)[1] + timedelta(minutes=30)
    assert export_audit_day(restore, catalog, store, DAY, now=clock()).events > 10
    original = _all_filings(catalog, restore)
    audit = restore.audit_entries(*day_bounds(DAY))
    statuses = {d.status for f in original for d in f.deliveries}
    assert statuses == {"delivered", "pending", "failed"}
    assert {r.review_status for f in original for r in f.deliveries} == {None, "RETURNED"}

    _wipe(engine)
    assert restore.is_empty()
    report = rebuild_catalog(restore, store, packages, now=clock())

    assert report.ok and report.skipped == [] and report.audit_through == DAY
    assert (report.filings, report.versions, report.delivered, report.pending) == (5, 6, 3, 4)
    rebuilt = _all_filings(catalog, restore)
    assert [_view(f) for f in rebuilt] == [_view(f) for f in original]
    assert restore.audit_entries(*day_bounds(DAY)) == audit
    assert catalog.audit_events()[-1].action == "catalog.rebuilt"
    scheduled = catalog.get_filing(ids["scheduled"])
    assert scheduled is not None
    assert scheduled.deliveries[0].next_attempt_at == scheduled.versions[0].publish_at
    pending = [d for f in rebuilt for d in f.deliveries if d.status == "pending"]
    assert all(d.next_attempt_at <= clock() for d in pending if d.filing_id != ids["scheduled"])
    # The rebuilt hashes are the archive's: every package, receipt and review outcome verifies.
    for f in rebuilt:
        assert all(
            r.ok for r in verify_filing(catalog, packages, f.id, checked_by="t", now=clock())
        )
    # Exporting the day again from the rebuilt catalog gives the very same object.
    assert not export_audit_day(restore, catalog, store, DAY, now=clock()).created


def test_a_rebuild_refuses_a_catalog_that_is_not_empty(
    restore: CatalogRestore,
    catalog: Catalog,
    packages: Packages,
    store: MemoryStore,
    clock: FakeClock,
) -> None:
    catalog.audit(AuditEvent("op", "admin", "anything", "x"))
    with pytest.raises(Conflict) as refused:
        rebuild_catalog(restore, store, packages, now=clock())
    assert refused.value.code == "catalog_not_empty"
    assert len(catalog.audit_events()) == 1


def test_a_rebuild_sets_aside_what_was_never_acknowledged_and_keeps_its_numbers_taken(
    restore: CatalogRestore,
    catalog: Catalog,
    engine: Engine,
    store: MemoryStore,
    packages: Packages,
    clock: FakeClock,
) -> None:
    ingest = _ingest(catalog, packages, clock)
    report = _report(ingest)
    store.fail_on_put = len(store.put_order) + 2
    with pytest.raises(ArchiveUnavailable):  # the correction's package stays incomplete
        _report(ingest, 2, correcting=report)
    same = _docx(3, year=2022)
    store.lose_manifest_response = True
    with pytest.raises(ArchiveUnavailable):  # complete, but the client got a 503 …
        _report_bytes(ingest, same, year=2022)
    clock.advance(60)
    retried = _report_bytes(ingest, same, year=2022)  # … and sent the same file again
    [lost] = [f for f in _all_filings(catalog, restore) if f.id not in (report, retried)]

    _wipe(engine)
    rebuilt = rebuild_catalog(restore, store, packages, now=clock())

    assert rebuilt.ok
    assert sorted((s.kind, s.key.split("/")[4]) for s in rebuilt.skipped) == sorted(
        [(SkipKind.INCOMPLETE, report), (SkipKind.DUPLICATE, lost.id)]
    )
    corrected = catalog.get_filing(report)
    assert corrected is not None
    assert [(v.version, v.status) for v in corrected.versions] == [
        (1, "archived"),
        (2, "abandoned"),
    ]
    assert corrected.latest_version == 2
    duplicate = catalog.get_filing(lost.id)
    assert duplicate is not None
    assert [v.status for v in duplicate.versions] == ["abandoned"] and duplicate.deliveries == ()
    kept = catalog.get_filing(retried)
    assert kept is not None and {d.status for d in kept.deliveries} == {"pending"}
    # A correction after the rebuild takes a fresh number, not the orphan's prefix.
    _report(ingest, 4, correcting=report)
    again = catalog.get_filing(report)
    assert again is not None
    assert [(v.version, v.status) for v in again.versions][-1] == (3, "archived")


# -- the commands ---------------------------------------------------------------------


def test_the_commands_report_export_and_rebuild_on_a_real_data_directory(tmp_path: Path) -> None:
    var = tmp_path / "var"
    env = base_env(DISCLOSURE_DATA_DIR=str(var))
    container = build_container(Settings(data_dir=var), clock=FakeClock())
    filing_id = _report(_ingest(container.catalog, container.packages, FakeClock()))
    orphan = f"filings/{sample_metadata()['org_code']}/rule_of_law_report/2023/fil_x/v1/"
    container.store.put_new(orphan + "data/report.docx", io.BytesIO(b"half"))
    _archive_a_capture(container, filing_id)
    container.close()

    found = run_command(["reconcile", "--json"], env)
    assert found.returncode == 1, found.stderr
    assert [p["kind"] for p in json.loads(found.stdout)["problems"]] == ["incomplete_package"]
    exported = run_command(["export-audit", "--day", DAY.isoformat()], env)
    assert exported.returncode == 0, exported.stderr
    assert "audit/2024/01/12.jsonl" in exported.stdout and "新导出" in exported.stdout
    refused = run_command(["rebuild-catalog"], env)
    assert refused.returncode == 2 and "目录数据库不为空" in refused.stderr

    for path in var.glob("catalog.sqlite3*"):
        path.unlink()
    rebuilt = run_command(["rebuild-catalog"], env)

    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "已恢复 1 项报送" in rebuilt.stdout and orphan in rebuilt.stdout
    assert "网页留存：已恢复 1 项、复查 0 次" in rebuilt.stdout
    again = build_container(Settings(data_dir=var))
    filing = again.catalog.get_filing(filing_id)
    [capture] = again.catalog.captures(filing_id)
    again.close()
    assert filing is not None and filing.versions[0].status == "archived"
    assert (capture.verdict, capture.http_status) == ("link_rot", 404)


def _archive_a_capture(container: Container, filing_id: str) -> None:
    """A capture as the tick leaves it in the archive: a WARC and the visit's record."""
    from service.archive.packages.captures import CaptureFiles

    version = container.catalog.get_version(filing_id, 1)
    assert version is not None
    files = CaptureFiles(container.store)
    warc = files.put_warc(version.package_prefix, "portal", 0, b"WARC/1.1", None)
    record = {
        "delivery_id": "dlv_1", "filing_id": filing_id, "version": 1, "destination": "portal",
        "url": "http://127.0.0.1:9/a.html", "check": 0, "number": 0, "verdict": "link_rot",
        "checked_at": "2024-01-12T01:00:00+00:00", "captured_at": "2024-01-12T01:00:00+00:00",
        "warc_key": warc.key, "warc_sha256": warc.sha256, "http_status": 404,
    }  # fmt: skip
    files.put_record(version.package_prefix, "portal", 0, record, None)
