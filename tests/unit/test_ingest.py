"""Submitting as a use case, on the fakes of its ports (the catalog and the archive in
memory): acknowledged means durable, a replay stores nothing new, a refusal stores
nothing, an outage abandons the reservation, a correction supersedes, and the payload
sent ahead is committed under the version reserved — or sent again when a concurrent
correction took its number."""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from service.archive.packages import MANIFEST, Packages
from service.catalog.records import NewVersion
from service.domain.access import Principal, Role
from service.domain.errors import ArchiveUnavailable, Conflict, NotFound, Rejected
from service.domain.filing import Category, DeliveryStatus, Destination, VersionStatus
from service.domain.metadata import FilingMetadata
from service.uploads import Upload, spool
from service.usecases.ingest import Ingest, Origin, begin_intake, submit_filing
from tests.fakes import InMemoryStore, MemoryCatalog
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY, sample_metadata
from tests.support.checks import checks_for
from tests.support.clock import FakeClock
from tests.support.documents import SAMPLE_PATH, docx_from_text

OPERATOR = Principal("op", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
ROUTES = {Category.RULE_OF_LAW_REPORT: [Destination.PORTAL, Destination.LEGAL_PLATFORM]}
SAMPLE = SAMPLE_PATH.read_text("utf-8")


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
def ingest(catalog: MemoryCatalog, store: InMemoryStore, clock: FakeClock) -> Ingest:
    packages = Packages(store, clock=clock)
    return Ingest(catalog=catalog, packages=packages, checks=checks_for(ROUTES), clock=clock)


def _upload(tmp_path: Path, text: str = SAMPLE) -> Upload:
    return spool([docx_from_text(text)], "report.docx", 10**8, tmp_path)


def _metadata(**changes: object) -> FilingMetadata:
    return FilingMetadata.model_validate(sample_metadata(**changes))


def test_an_accepted_filing_is_archived_whole_and_queued(
    ingest: Ingest, catalog: MemoryCatalog, store: InMemoryStore, tmp_path: Path
) -> None:
    filing = submit_filing(ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin()).filing
    [version] = filing.versions
    assert version.status is VersionStatus.ARCHIVED
    assert {d.destination for d in filing.deliveries} == {"portal", "legal_platform"}
    assert {d.status for d in filing.deliveries} == {DeliveryStatus.PENDING}
    # the manifest last, then the tag manifest over it, queued for its timestamp
    assert store.put_order[-2:] == [
        version.package_prefix + MANIFEST,
        version.package_prefix + "tagmanifest-sha256.txt",
    ]
    [stamp] = catalog.timestamps(filing.id)
    assert (stamp.stamped_key, stamp.status) == (store.put_order[-1], "pending")
    assert [e.action for e in catalog.audit_events()] == ["filing.submitted"]


def test_the_same_idempotency_key_and_body_replay_the_filing_and_store_nothing(
    ingest: Ingest, store: InMemoryStore, tmp_path: Path
) -> None:
    first = submit_filing(
        ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin(), idempotency_key="k1"
    )
    objects = len(store.put_order)
    again = submit_filing(
        ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin(), idempotency_key="k1"
    )
    assert again.replayed and again.filing.id == first.filing.id
    assert len(store.put_order) == objects


def test_the_same_file_again_without_a_key_names_the_filing_it_duplicates(
    ingest: Ingest, tmp_path: Path
) -> None:
    first = submit_filing(ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin()).filing
    with pytest.raises(Conflict) as refused:
        submit_filing(ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin())
    assert first.id in str(refused.value.to_dict())


def test_a_refused_filing_stores_nothing(
    ingest: Ingest, catalog: MemoryCatalog, store: InMemoryStore, tmp_path: Path
) -> None:
    upload = _upload(tmp_path, SAMPLE.replace("2024年1月10日", ""))
    with pytest.raises(Rejected) as refused:
        submit_filing(ingest, OPERATOR, _metadata(), upload, Origin())
    assert "rol_date_missing" in {f.code for f in refused.value.findings}
    assert store.put_order == [] and catalog.versions == {}


def test_an_outage_abandons_the_reservation_and_the_retry_with_the_key_succeeds(
    ingest: Ingest, catalog: MemoryCatalog, store: InMemoryStore, tmp_path: Path
) -> None:
    store.fail_on_put = 2  # the store goes away after the payload
    with pytest.raises(ArchiveUnavailable):
        submit_filing(
            ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin(), idempotency_key="k"
        )
    assert [v.status for v in catalog.versions.values()] == [VersionStatus.ABANDONED]
    store.fail_on_put = None
    retried = submit_filing(
        ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin(), idempotency_key="k"
    )
    assert not retried.replayed
    assert [v.status for v in retried.filing.versions] == [VersionStatus.ARCHIVED]


def test_a_correction_is_version_two_and_supersedes_what_never_went_out(
    ingest: Ingest, tmp_path: Path
) -> None:
    first = submit_filing(ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin()).filing
    corrected = submit_filing(
        ingest,
        OPERATOR,
        _metadata(reason="第三部分措辞有误"),
        _upload(tmp_path, SAMPLE.replace("夯实理论根基", "夯实理论根基（更正）")),
        Origin(),
        correcting=first.id,
    ).filing
    assert [(v.version, v.supersedes) for v in corrected.versions] == [(1, None), (2, 1)]
    old = {d.status for d in corrected.deliveries if d.version == 1}
    assert old == {DeliveryStatus.SUPERSEDED}


def test_a_correction_of_a_filing_of_another_body_is_not_found(
    ingest: Ingest, tmp_path: Path
) -> None:
    everyone = Principal("admin", Role.ADMIN, frozenset({"*"}))
    other = submit_filing(
        ingest,
        everyone,
        _metadata(org_code=OTHER_BODY, org_name="南开区司法局"),
        _upload(tmp_path),
        Origin(),
    ).filing
    with pytest.raises(NotFound):
        submit_filing(
            ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin(), correcting=other.id
        )


def test_a_file_sent_while_it_arrives_is_committed_under_its_predicted_version(
    ingest: Ingest, store: InMemoryStore, tmp_path: Path
) -> None:
    upload = _upload(tmp_path)
    metadata = _metadata(file_sha256=upload.sha256)
    intake = begin_intake(ingest, OPERATOR, correcting=None, size_hint=upload.size)
    intake.on_file({"metadata": metadata.model_dump_json()}, upload.filename, upload.path)
    filing = intake.submit(metadata, upload, Origin()).filing
    intake.close(wait=True)
    assert filing.id.startswith("fil_") and filing.versions[0].sha256 == upload.sha256
    payload = filing.versions[0].package_prefix + "data/report.docx"
    assert payload in store.put_order


def test_a_correction_whose_number_a_concurrent_one_took_is_sent_again_under_its_own(
    ingest: Ingest, catalog: MemoryCatalog, store: InMemoryStore, tmp_path: Path
) -> None:
    first = submit_filing(ingest, OPERATOR, _metadata(), _upload(tmp_path), Origin()).filing
    upload = _upload(tmp_path, SAMPLE.replace("夯实理论根基", "夯实理论根基（更正）"))
    metadata = _metadata(file_sha256=upload.sha256, reason="更正")
    intake = begin_intake(ingest, OPERATOR, correcting=first.id, size_hint=upload.size)
    intake.on_file({"metadata": metadata.model_dump_json()}, upload.filename, upload.path)
    # meanwhile a concurrent correction reserves version 2
    catalog.reserve_version(
        filing_id=first.id,
        org_code=NANKAI_OFFICE,
        org_name="南开区合作交流办",
        category="rule_of_law_report",
        period="2023",
        actor="another",
        make_version=lambda f, n: NewVersion(
            "x.docx", "docx", "application/docx", 1, hashlib.sha256(b"x").hexdigest(), None,
            f"filings/{NANKAI_OFFICE}/rule_of_law_report/2023/{f}/v{n}/", {}, [], None,
        ),
    )  # fmt: skip
    filing = intake.submit(metadata, upload, Origin()).filing
    intake.close(wait=True)
    third = next(v for v in filing.versions if v.version == 3)
    assert third.status is VersionStatus.ARCHIVED and third.sha256 == upload.sha256
    assert third.package_prefix + "data/report.docx" in store.put_order
    assert not any("/v2/data/" in key for key in store.put_order)  # nothing under v2


class StalledStore(InMemoryStore):
    """An archive whose next payload write stalls until released: a request caught
    mid-archive, as one whose process is about to die would be."""

    def __init__(self) -> None:
        super().__init__()
        self.stalled = threading.Event()
        self.release = threading.Event()

    def put_new(self, key: str, source: Any, **kwargs: Any) -> Any:
        if "/data/" in key and not self.stalled.is_set():  # the first payload only
            self.stalled.set()
            self.release.wait(10)
        return super().put_new(key, source, **kwargs)


def test_a_retry_waits_for_a_living_request_and_not_for_a_dead_one(
    catalog: MemoryCatalog, clock: FakeClock, tmp_path: Path
) -> None:
    store = StalledStore()
    ingest = Ingest(
        catalog=catalog,
        packages=Packages(store, clock=clock),
        checks=checks_for(ROUTES),
        clock=clock,
    )
    docx = docx_from_text(SAMPLE)

    def submit(n: int) -> Any:
        upload = spool([docx], "report.docx", 10**8, tmp_path / f"try{n}")
        return submit_filing(ingest, OPERATOR, _metadata(), upload, Origin(), idempotency_key="k1")

    (tmp_path / "try1").mkdir()
    (tmp_path / "try2").mkdir()
    (tmp_path / "try3").mkdir()
    with ThreadPoolExecutor(1) as first_request:
        first = first_request.submit(submit, 1)
        assert store.stalled.wait(10)

        with pytest.raises(Conflict) as busy:  # the first is alive and archiving
            submit(2)
        assert (busy.value.code, busy.value.retry_after) == ("idempotency_key_in_use", 5)

        catalog.held.clear()  # its process dies: the hold goes with it
        clock.advance(31)
        retried = submit(3)  # at once, not in 15 minutes
        store.release.set()
        with pytest.raises(NotFound):  # the dead one's late write finds its number abandoned
            first.result(10)

    assert not retried.replayed
    assert [v.status for v in retried.filing.versions] == [VersionStatus.ARCHIVED]
    [dead] = [v for v in catalog.versions.values() if v.status is VersionStatus.ABANDONED]
    assert dead.filing_id != retried.filing.id  # never acknowledged, so never a filing
