"""The S3 store's own guarantees on real servers — Ceph RGW 16 and moto, each started once
per session on 127.0.0.1 — beyond the shared contract (test_archive_store_contract.py):
write-once on every kind of bucket even where the server does not refuse a second
write, Object Lock retention per category, oldest-version reads, metadata, multipart,
and prompt `ArchiveUnavailable` when the store cannot be reached."""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from service.archive.packages import Packages, package_prefix
from service.archive.retention import add_years
from service.archive.s3 import S3Config, S3Store, make_client
from service.bootstrap import build_store
from service.domain.errors import AlreadyExists, ArchiveUnavailable, FixityMismatch, ObjectMissing
from service.settings import Settings
from tests.support.s3 import BucketKind, S3Server
from tests.support.servers import app_in_thread, free_port

MiB = 1024 * 1024
SMALL_PARTS = {"multipart_threshold": 5 * MiB, "part_size": 5 * MiB}
BIG = 6 * MiB + 1  # two parts with SMALL_PARTS
PERMANENT_KEY = package_prefix("12120000MB1234567X", "rule_of_law_report", "2023", "F1", 1)
LIVELIHOOD_KEY = package_prefix("12120000MB1234567X", "livelihood", "2024-03-05", "F2", 1)


@pytest.fixture(params=["moto_s3", "ceph_s3"])
def server(request: pytest.FixtureRequest) -> S3Server:
    s3: S3Server = request.getfixturevalue(request.param)
    return s3


@pytest.fixture
def ceph(ceph_s3: S3Server) -> S3Server:
    return ceph_s3


def payload(size: int, seed: bytes = b"a") -> bytes:
    return (hashlib.sha256(seed).digest() * (size // 32 + 1))[:size]


def read(store: S3Store, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def raw_store(server: S3Server, bucket: str, **overrides: Any) -> tuple[S3Store, Any]:
    """A store with a client of its own, so a test can hook that client's events."""
    config = server.config(**overrides)
    client = server.client()
    return S3Store(bucket, "archive", config, client=client), client


def head(server: S3Server, bucket: str, key: str, **params: Any) -> dict[str, Any]:
    response: dict[str, Any] = server.shared_client.head_object(
        Bucket=bucket, Key=f"archive/{key}", **params
    )
    return response


# -- write-once, whatever the server does ------------------------------------------------


@pytest.mark.parametrize("kind", ["plain", "versioned", "locked"])
@pytest.mark.parametrize("size", [5, BIG], ids=["single", "multipart"])
def test_a_second_write_of_a_key_is_refused_on_every_server_and_bucket_kind(
    server: S3Server, kind: BucketKind, size: int
) -> None:
    store = server.store(server.new_bucket(kind), "archive", **SMALL_PARTS)
    key = PERMANENT_KEY + "data/报告.pdf"
    first = store.put_new(key, io.BytesIO(payload(size, b"first")))

    with pytest.raises(AlreadyExists):
        store.put_new(key, io.BytesIO(payload(size, b"second")))

    assert read(store, key) == payload(size, b"first")
    assert store.stat(key) == first
    assert len(store.versions(key)) == (0 if kind == "plain" else 1)


def test_ceph_itself_writes_a_second_version_despite_if_none_match_on_a_versioned_bucket(
    ceph: S3Server,
) -> None:
    """Why the service cannot leave write-once to the server (notes/ceph-rgw.md)."""
    bucket = ceph.new_bucket("locked")
    client = ceph.shared_client
    client.put_object(Bucket=bucket, Key="k", Body=b"1", IfNoneMatch="*")

    client.put_object(Bucket=bucket, Key="k", Body=b"2", IfNoneMatch="*")  # no 412

    versions = client.list_object_versions(Bucket=bucket, Prefix="k")["Versions"]
    assert len(versions) == 2


@pytest.mark.parametrize(
    ("kind", "size"),
    [("plain", 5), ("versioned", 5), ("locked", 5), ("versioned", BIG), ("locked", BIG)],
    ids=["plain", "versioned", "locked", "versioned-multipart", "locked-multipart"],
)
def test_a_write_that_loses_a_race_after_its_existence_check_is_refused_and_the_winner_kept(
    server: S3Server, kind: BucketKind, size: int
) -> None:
    """A rival writes the key between the store's check and its own PUT (or its
    CompleteMultipartUpload): the store must notice, however the server answers."""
    bucket = server.new_bucket(kind)
    store, client = raw_store(server, bucket, **SMALL_PARTS)
    key = PERMANENT_KEY + "manifest-sha256.txt"
    rival = b"the rival's manifest\n"
    fired = []

    def rival_writes(**_: Any) -> None:
        if not fired:
            fired.append(True)
            server.shared_client.put_object(Bucket=bucket, Key=f"archive/{key}", Body=rival)

    operation = "CompleteMultipartUpload" if size > 5 * MiB else "PutObject"
    client.meta.events.register(f"before-call.s3.{operation}", rival_writes)

    with pytest.raises(AlreadyExists):
        store.put_new(key, io.BytesIO(payload(size, b"ours")))

    assert fired
    assert read(store, key) == rival
    stored = store.stat(key)
    assert stored is not None
    assert stored.sha256 == hashlib.sha256(rival).hexdigest()


def test_of_concurrent_writers_on_a_ceph_object_lock_bucket_exactly_one_wins_every_time(
    ceph: S3Server,
) -> None:
    """Oldest version wins: RGW writes every racer's version; each racer lists the
    versions after its own write, and only the writer of the oldest succeeds."""
    store = ceph.store(ceph.new_bucket("locked"), "archive", **SMALL_PARTS)
    rounds = [(f"race/{n}/manifest-sha256.txt", 8, 64 * 1024) for n in range(4)]
    rounds.append(("race/multipart/big.bin", 3, BIG))
    for key, writers, size in rounds:
        barrier = threading.Barrier(writers)

        def put(
            writer: int, key: str = key, size: int = size, barrier: threading.Barrier = barrier
        ) -> bytes | None:
            data = payload(size, f"{key} {writer}".encode())
            barrier.wait()
            try:
                store.put_new(key, io.BytesIO(data))
            except AlreadyExists:
                return None
            return data

        with ThreadPoolExecutor(writers) as pool:
            results = list(pool.map(put, range(writers)))

        winners = [data for data in results if data is not None]
        assert len(winners) == 1, key
        assert read(store, key) == winners[0]
        assert 1 <= len(store.versions(key)) <= writers
        assert list(store.list(key)) == [key]


# -- reads on versioned buckets: the oldest version -----------------------------------


@pytest.mark.parametrize("kind", ["versioned", "locked"])
def test_a_new_version_or_delete_marker_behind_the_services_back_changes_nothing_it_serves(
    server: S3Server, kind: BucketKind
) -> None:
    bucket = server.new_bucket(kind)
    store = server.store(bucket, "archive")
    key = PERMANENT_KEY + "data/report.pdf"
    original = store.put_new(key, io.BytesIO(b"original"))
    raw = server.shared_client

    raw.put_object(Bucket=bucket, Key=f"archive/{key}", Body=b"tampered")
    assert read(store, key) == b"original"
    raw.delete_object(Bucket=bucket, Key=f"archive/{key}")  # a delete marker

    assert read(store, key) == b"original"
    assert store.stat(key) == original
    assert list(store.list(PERMANENT_KEY)) == [key]
    assert [v.size for v in store.versions(key)] == [len(b"tampered"), len(b"original")]


# -- Object Lock, per category ----------------------------------------------------------


@pytest.mark.parametrize("size", [5, BIG], ids=["single", "multipart"])
def test_on_ceph_a_permanent_filing_gets_compliance_retention_and_a_legal_hold_it_enforces(
    ceph: S3Server, size: int
) -> None:
    bucket = ceph.new_bucket("locked")
    store = ceph.store(bucket, "archive", **SMALL_PARTS)
    key = PERMANENT_KEY + "data/报告.pdf"
    before = datetime.now(UTC)
    store.put_new(key, io.BytesIO(payload(size)))

    found = head(ceph, bucket, key)
    assert found["ObjectLockMode"] == "COMPLIANCE"
    assert found["ObjectLockLegalHoldStatus"] == "ON"
    until = found["ObjectLockRetainUntilDate"]
    assert (
        add_years(before, 70) - timedelta(seconds=2)
        <= until
        <= add_years(before, 70) + timedelta(minutes=1)
    )
    version = found["VersionId"]
    raw = ceph.shared_client
    with pytest.raises(ClientError) as deleting:
        raw.delete_object(Bucket=bucket, Key=f"archive/{key}", VersionId=version)
    assert deleting.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError):
        raw.put_object_retention(
            Bucket=bucket,
            Key=f"archive/{key}",
            VersionId=version,
            Retention={"Mode": "COMPLIANCE", "RetainUntilDate": before + timedelta(days=1)},
        )
    raw.put_object_legal_hold(
        Bucket=bucket, Key=f"archive/{key}", VersionId=version, LegalHold={"Status": "OFF"}
    )
    with pytest.raises(ClientError):  # the retention still holds without the hold
        raw.delete_object(Bucket=bucket, Key=f"archive/{key}", VersionId=version)
    assert read(store, key) == payload(size)


def test_on_ceph_a_livelihood_item_is_kept_30_years_without_a_legal_hold(ceph: S3Server) -> None:
    bucket = ceph.new_bucket("locked")
    store = ceph.store(bucket, "archive")
    key = LIVELIHOOD_KEY + "data/x.pdf"
    before = datetime.now(UTC)
    store.put_new(key, io.BytesIO(b"x"))

    found = head(ceph, bucket, key)
    assert found["ObjectLockMode"] == "COMPLIANCE"
    assert found.get("ObjectLockLegalHoldStatus", "OFF") == "OFF"
    assert abs(found["ObjectLockRetainUntilDate"] - add_years(before, 30)) < timedelta(minutes=1)


def test_the_lock_mode_and_periods_are_configurable(ceph: S3Server) -> None:
    from service.archive.retention import RetentionPolicy

    bucket = ceph.new_bucket("locked")
    policy = RetentionPolicy.of({"livelihood": 10}, mode="GOVERNANCE")  # type: ignore[dict-item]
    store = ceph.store(bucket, "archive", retention=policy)
    before = datetime.now(UTC)
    store.put_new(LIVELIHOOD_KEY + "data/x.pdf", io.BytesIO(b"x"))

    found = head(ceph, bucket, LIVELIHOOD_KEY + "data/x.pdf")
    assert found["ObjectLockMode"] == "GOVERNANCE"
    assert abs(found["ObjectLockRetainUntilDate"] - add_years(before, 10)) < timedelta(minutes=1)


def test_a_lock_the_server_does_not_keep_fails_the_put(ceph: S3Server) -> None:
    """RGW 16 stores retain-until in 32-bit seconds: 100 years from now reads back as
    1990, i.e. no retention at all. The store reads each lock back and refuses."""
    from service.archive.retention import RetentionPolicy

    store = ceph.store(
        ceph.new_bucket("locked"), "archive", retention=RetentionPolicy(permanent_years=100)
    )

    with pytest.raises(ArchiveUnavailable) as refused:
        store.put_new(PERMANENT_KEY + "data/x.pdf", io.BytesIO(b"x"))

    assert "did not keep the Object Lock" in refused.value.detail["error"]


def test_on_moto_a_multipart_object_gets_its_lock_set_after_the_upload(moto_s3: S3Server) -> None:
    """moto, like RGW 16, drops the lock headers of CreateMultipartUpload."""
    bucket = moto_s3.new_bucket("locked")
    store = moto_s3.store(bucket, "archive", **SMALL_PARTS)
    store.put_new(PERMANENT_KEY + "data/big.bin", io.BytesIO(payload(BIG)))

    found = head(moto_s3, bucket, PERMANENT_KEY + "data/big.bin")
    assert (found["ObjectLockMode"], found["ObjectLockLegalHoldStatus"]) == ("COMPLIANCE", "ON")
    assert found["ETag"].endswith('-2"')


def test_a_bucket_without_object_lock_gets_no_retention(ceph: S3Server) -> None:
    bucket = ceph.new_bucket("versioned")
    ceph.store(bucket, "archive").put_new(PERMANENT_KEY + "data/x.pdf", io.BytesIO(b"x"))

    assert "ObjectLockMode" not in head(ceph, bucket, PERMANENT_KEY + "data/x.pdf")


# -- what goes into S3 ------------------------------------------------------------------


def test_the_sha256_name_and_media_type_are_kept_as_ascii_metadata(server: S3Server) -> None:
    bucket = server.new_bucket("plain")
    store = server.store(bucket, "archive")
    key = PERMANENT_KEY + "data/南开区 2023年法治政府建设情况报告.pdf"
    data = b"%PDF-1.7\n"
    store.put_new(key, io.BytesIO(data), content_type="application/pdf")

    found = head(server, bucket, key)
    name = quote("南开区 2023年法治政府建设情况报告.pdf", safe="")
    assert found["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert found["Metadata"]["name"] == name
    assert found["ContentType"] == "application/pdf"
    assert found["ContentDisposition"] == f"attachment; filename*=UTF-8''{name}"


@pytest.mark.parametrize(
    ("kind", "parts"), [("versioned", 3), ("plain", 0)], ids=["versioned", "plain"]
)
def test_large_objects_go_in_parts_only_where_the_oldest_version_decides(
    server: S3Server, kind: BucketKind, parts: int
) -> None:
    """On an unversioned bucket RGW ignores If-None-Match on CompleteMultipartUpload, so
    there a single conditional PUT (up to 5 GiB) is the write-once primitive."""
    bucket = server.new_bucket(kind)
    store = server.store(bucket, "archive", **SMALL_PARTS)
    data = os.urandom(12 * MiB)
    stored = store.put_new("big.bin", io.BytesIO(data))

    etag = head(server, bucket, "big.bin")["ETag"]
    assert etag.endswith(f'-{parts}"') if parts else "-" not in etag
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert read(store, "big.bin") == data


def test_a_regular_file_is_hashed_in_place_and_left_at_its_end(
    moto_s3: S3Server, tmp_path: Path
) -> None:
    path = tmp_path / "upload.bin"
    path.write_bytes(b"header" + payload(BIG))
    store = moto_s3.store(moto_s3.new_bucket("versioned"), "archive", **SMALL_PARTS)

    with path.open("rb") as source:
        source.seek(6)
        stored = store.put_new("f.bin", source)
        assert source.tell() == 6 + BIG

    assert stored.sha256 == hashlib.sha256(payload(BIG)).hexdigest()
    assert read(store, "f.bin") == payload(BIG)


# -- staged puts: multipart uploads, completed only at commit --------------------------


def _unfinished_uploads(server: S3Server, bucket: str) -> list[str]:
    listing = server.shared_client.list_multipart_uploads(Bucket=bucket)
    return [upload["Key"] for upload in listing.get("Uploads", [])]


def test_on_ceph_a_staged_payload_is_a_locked_multipart_object_once_committed(
    ceph: S3Server, tmp_path: Path
) -> None:
    bucket = ceph.new_bucket("locked")
    store = ceph.store(bucket, "archive")
    path = tmp_path / "payload"
    path.write_bytes(payload(12 * MiB))
    key = LIVELIHOOD_KEY + "data/公告.docx"

    staged = store.stage(key, path, sha256=hashlib.sha256(payload(12 * MiB)).hexdigest())
    staged.seal(12 * MiB)
    deadline = time.monotonic() + 10  # created in the background
    while not _unfinished_uploads(ceph, bucket) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _unfinished_uploads(ceph, bucket) == [f"archive/{key}"]
    assert store.stat(key) is None  # invisible meanwhile
    staged.commit()

    found = head(ceph, bucket, key)
    assert re.fullmatch(r'"[0-9a-f]{32}-3"', found["ETag"])  # three parts of 5 MiB or less
    assert found["ObjectLockMode"] == "COMPLIANCE"
    assert found["Metadata"]["sha256"] == hashlib.sha256(payload(12 * MiB)).hexdigest()
    assert _unfinished_uploads(ceph, bucket) == []


@pytest.mark.parametrize("end", ["abort", "taken", "wrong sha256", "sealed small"])
def test_a_staged_put_that_does_not_end_in_a_commit_leaves_no_unfinished_upload(
    ceph: S3Server, tmp_path: Path, end: str
) -> None:
    bucket = ceph.new_bucket("locked")
    store = ceph.store(bucket, "archive")
    size = 64 * 1024 if end == "sealed small" else 11 * MiB
    path = tmp_path / "payload"
    path.write_bytes(payload(size))
    sha256 = "0" * 64 if end == "wrong sha256" else hashlib.sha256(payload(size)).hexdigest()
    if end == "taken":
        store.put_new("k/data.bin", io.BytesIO(b"first"))

    staged = store.stage("k/data.bin", path, sha256=sha256, size_hint=40 * MiB)
    staged.seal(size)
    if end == "abort":
        staged.abort()
    elif end == "sealed small":  # the upload, created for the hint, gives way to one PUT
        assert staged.commit().size == size
    else:
        with pytest.raises(AlreadyExists if end == "taken" else FixityMismatch):
            staged.commit()

    assert _unfinished_uploads(ceph, bucket) == []
    assert len(store.versions("k/data.bin")) == (0 if end in ("abort", "wrong sha256") else 1)


def _failing(server: S3Server, operation: str) -> Any:
    """A client whose every `operation` fails as if the connection dropped."""
    client = server.client()

    def fail(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url=server.endpoint_url)

    client.meta.events.register(f"before-call.s3.{operation}", fail)
    return client


@pytest.mark.parametrize("mode_known", [False, True], ids=["first use", "mode known"])
def test_with_versioning_suspended_every_write_is_refused_and_nothing_changes(
    ceph: S3Server, tmp_path: Path, mode_known: bool
) -> None:
    bucket = ceph.new_bucket("versioned")
    store = ceph.store(bucket, "archive")
    store.put_new("k/data.bin", io.BytesIO(b"first"))
    ceph.shared_client.put_bucket_versioning(
        Bucket=bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    store = ceph.store(bucket, "archive")  # a fresh store reads the bucket's mode again
    if mode_known:
        store.check()
    path = tmp_path / "payload"
    path.write_bytes(payload(12 * MiB))
    sha256 = hashlib.sha256(payload(12 * MiB)).hexdigest()

    with pytest.raises(ArchiveUnavailable):
        store.put_new("k/data.bin", io.BytesIO(b"second"))
    staged = store.stage("k/data.bin", path, sha256=sha256, size=12 * MiB)
    with pytest.raises(ArchiveUnavailable):
        staged.commit()

    assert read(store, "k/data.bin") == b"first"
    assert _unfinished_uploads(ceph, bucket) == []


def test_staged_puts_aborted_at_once_leave_no_unfinished_upload(
    ceph: S3Server, tmp_path: Path
) -> None:
    bucket = ceph.new_bucket("locked")
    store = ceph.store(bucket, "archive")
    path = tmp_path / "payload"
    path.write_bytes(payload(6 * MiB))

    for n in range(20):  # the creation raced by the abort at every stage it can be
        staged = store.stage(f"k/{n}", path, sha256="0" * 64, size_hint=40 * MiB)
        if n % 2:
            staged.grown(6 * MiB)
        staged.abort()

    assert _unfinished_uploads(ceph, bucket) == []
    assert list(store.list("k/")) == []


def test_a_small_file_goes_in_one_put_though_the_upload_made_for_its_hint_failed(
    ceph: S3Server, tmp_path: Path
) -> None:
    bucket = ceph.new_bucket("locked")
    store = S3Store(
        bucket, "archive", ceph.config(), client=_failing(ceph, "CreateMultipartUpload")
    )
    path = tmp_path / "payload"
    path.write_bytes(payload(64 * 1024))

    staged = store.stage(
        "k/a.pdf", path, sha256=hashlib.sha256(payload(64 * 1024)).hexdigest(), size_hint=40 * MiB
    )
    staged.seal(64 * 1024)
    stored = staged.commit()

    assert read(store, "k/a.pdf") == payload(64 * 1024) and stored.size == 64 * 1024


def test_a_failed_early_refusal_leaves_no_unfinished_upload(ceph: S3Server, tmp_path: Path) -> None:
    bucket = ceph.new_bucket("locked")
    store = S3Store(bucket, "archive", ceph.config(), client=_failing(ceph, "ListObjectVersions"))
    path = tmp_path / "payload"
    path.write_bytes(payload(6 * MiB))

    staged = store.stage("k/data.bin", path, sha256="0" * 64, size=6 * MiB)
    with pytest.raises(ArchiveUnavailable):
        staged.commit()

    assert _unfinished_uploads(ceph, bucket) == []


@pytest.mark.parametrize(
    ("size", "failing"),
    [(200 * 1024, "PutObject"), (6 * MiB, "UploadPart"), (6 * MiB, "CompleteMultipartUpload")],
    ids=["one PUT", "a part", "the completion"],
)
def test_a_payload_that_fails_to_go_up_leaves_no_file_of_its_package(
    ceph: S3Server, tmp_path: Path, size: int, failing: str
) -> None:
    bucket = ceph.new_bucket("locked")
    client = ceph.client()

    def fail(params: dict[str, Any], **_: Any) -> None:
        if params.get("Key", "").endswith(".docx"):  # the payload's requests only
            raise EndpointConnectionError(endpoint_url=ceph.endpoint_url)

    client.meta.events.register(f"provide-client-params.s3.{failing}", fail)
    packages = Packages(S3Store(bucket, "archive", ceph.config(), client=client))
    path = tmp_path / "payload"
    path.write_bytes(payload(size))
    sha256 = hashlib.sha256(payload(size)).hexdigest()
    staged = packages.stage_payload(LIVELIHOOD_KEY, "公告.docx", path, sha256=sha256, size=size)

    with pytest.raises(ArchiveUnavailable):
        packages.put_package(LIVELIHOOD_KEY, [staged], {"filing_id": "F2"}, {})

    assert list(ceph.shared_client.list_object_versions(Bucket=bucket).get("Versions", [])) == []
    assert _unfinished_uploads(ceph, bucket) == []


# -- an unreachable store: ArchiveUnavailable, promptly -------------------------------


def anonymous_store(config: S3Config) -> S3Store:
    """Credentials given, so that what fails is the connection, not their absence."""
    return S3Store("bucket", "", config, client=make_client(config, access_key="k", secret_key="s"))


def _every_operation_is_unavailable(
    store: S3Store, within_s: float, only: tuple[str, ...] = ()
) -> None:
    staged_file = Path(tempfile.mkdtemp()) / "staged"
    staged_file.write_bytes(bytes(6 * MiB))
    operations = {
        "check": store.check,
        "put_new": lambda: store.put_new("a/b", io.BytesIO(b"x")),
        "open": lambda: store.open("a/b"),
        "stat": lambda: store.stat("a/b"),
        "list": lambda: list(store.list("a/")),
        "stage": lambda: store.stage("a/b", staged_file, sha256="0" * 64, size=6 * MiB).commit(),
    }
    for name, operation in operations.items():
        if only and name not in only:
            continue
        started = time.monotonic()
        with pytest.raises(ArchiveUnavailable):
            operation()
        assert time.monotonic() - started < within_s, name


def test_a_store_nobody_listens_for_is_unavailable_within_seconds() -> None:
    config = S3Config(endpoint_url=f"http://127.0.0.1:{free_port()}", max_attempts=2)
    _every_operation_is_unavailable(anonymous_store(config), within_s=5)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield listener.getsockname()[1]


def test_a_store_that_never_answers_times_out_into_unavailable(silent_port: int) -> None:
    config = S3Config(
        endpoint_url=f"http://127.0.0.1:{silent_port}", read_timeout_s=0.2, max_attempts=2
    )

    _every_operation_is_unavailable(anonymous_store(config), within_s=5, only=("check", "open"))


def test_a_store_answering_503_is_unavailable_after_the_sdks_retries() -> None:
    calls = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        calls.append(scope["method"])
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    with app_in_thread(app) as url:
        store = anonymous_store(S3Config(endpoint_url=url, max_attempts=3))
        with pytest.raises(ArchiveUnavailable):
            store.check()

    assert len(calls) == 3


def test_wrong_credentials_or_a_missing_bucket_make_the_store_unavailable(ceph: S3Server) -> None:
    bucket = ceph.new_bucket("plain")
    wrong = S3Server("ceph", ceph.endpoint_url, ceph.access_key, "not-the-secret")
    with pytest.raises(ArchiveUnavailable):
        wrong.store(bucket, max_attempts=1).check()
    with pytest.raises(ArchiveUnavailable):
        ceph.store("no-such-bucket-here").check()
    with pytest.raises(ObjectMissing):
        ceph.store(bucket).open("absent")


# -- chosen by settings -------------------------------------------------------------


def test_an_s3_archive_url_builds_the_s3_store_from_settings(
    moto_s3: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto_s3.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto_s3.secret_key)
    bucket = moto_s3.new_bucket("plain")
    settings = Settings(
        archive_url=f"s3://{bucket}/disclosure/archive",
        s3_endpoint_url=moto_s3.endpoint_url,
        s3_connect_timeout_s=1.0,
    )

    store = build_store(settings.resolved_archive_url, settings)
    store.check()
    store.put_new("filings/x.txt", io.BytesIO(b"x"))

    assert isinstance(store, S3Store)
    assert store.describe() == f"s3://{bucket}/disclosure/archive/ at {moto_s3.endpoint_url}"
    listed = moto_s3.shared_client.list_objects_v2(Bucket=bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["disclosure/archive/filings/x.txt"]


def test_the_s3_store_is_the_only_module_that_imports_the_sdk() -> None:
    service = Path(__file__).resolve().parents[2] / "service"
    importers = {
        path.relative_to(service).as_posix()
        for path in service.rglob("*.py")
        if re.search(r"^\s*(import|from)\s+(boto3|botocore)\b", path.read_text(), re.MULTILINE)
    }

    assert importers and all(path.startswith("archive/s3/") for path in importers), importers
