"""The `ArchiveStore` contract, run against every store.

To add a store, add one entry to `STORES`: a factory taking the pytest request (for
fixtures such as `tmp_path` or a bucket) and whether its puts stream in bounded memory.
Tests of one store's specifics follow the contract, at the end of the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import stat
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import pytest

from service.archive.filesystem import FilesystemStore
from service.archive.port import ArchiveStore, StoredObject
from service.domain.errors import (
    AlreadyExists,
    ArchiveUnavailable,
    FixityMismatch,
    ObjectMissing,
)
from tests.fakes import InMemoryStore
from tests.support.s3 import BucketKind, S3Server

MiB = 1024 * 1024


@dataclass(frozen=True)
class StoreCase:
    make: Callable[[pytest.FixtureRequest], ArchiveStore]
    bounded_memory: bool  # put_new holds a chunk, never the whole object


def _filesystem(request: pytest.FixtureRequest) -> ArchiveStore:
    root: Path = request.getfixturevalue("tmp_path") / "archive"
    root.mkdir()
    return FilesystemStore(root)


def _s3(server: str, bucket: BucketKind) -> Callable[[pytest.FixtureRequest], ArchiveStore]:
    def make(request: pytest.FixtureRequest) -> ArchiveStore:
        s3: S3Server = request.getfixturevalue(server)
        return s3.store(s3.new_bucket(bucket), prefix="archive")

    return make


STORES: dict[str, StoreCase] = {
    "filesystem": StoreCase(_filesystem, bounded_memory=True),
    "memory": StoreCase(lambda request: InMemoryStore(), bounded_memory=False),
    "s3-moto": StoreCase(_s3("moto_s3", "plain"), bounded_memory=True),
    "s3-ceph": StoreCase(_s3("ceph_s3", "plain"), bounded_memory=True),
    "s3-ceph-locked": StoreCase(_s3("ceph_s3", "locked"), bounded_memory=True),
}


@pytest.fixture(params=list(STORES))
def store_case(request: pytest.FixtureRequest) -> StoreCase:
    return STORES[request.param]


@pytest.fixture
def store(store_case: StoreCase, request: pytest.FixtureRequest) -> ArchiveStore:
    return store_case.make(request)


class _GeneratedRaw(io.RawIOBase):
    """A stream whose bytes come from a generator, so they never exist all at once."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = next(self._chunks, b"")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def generated_stream(chunks: Iterator[bytes]) -> BinaryIO:
    return io.BufferedReader(_GeneratedRaw(chunks))


def repeated(chunk: bytes, count: int) -> Iterator[bytes]:
    for _ in range(count):
        yield bytes(chunk)  # a fresh object each time, as a network read would give


def failing_after(chunks: int) -> Iterator[bytes]:
    yield from repeated(b"x" * 65536, chunks)
    raise ConnectionResetError("the client went away mid-upload")


def put_bytes(store: ArchiveStore, key: str, data: bytes) -> StoredObject:
    return store.put_new(key, io.BytesIO(data))


def read(store: ArchiveStore, key: str) -> bytes:
    with store.open(key) as stream:
        return stream.read()


# -- the contract ---------------------------------------------------------------


def test_put_then_open_returns_the_same_bytes_with_their_sha256_and_size(
    store: ArchiveStore,
) -> None:
    data = b"%PDF-1.7\n" + os.urandom(3 * MiB + 17)

    stored = store.put_new("filings/A/report.pdf", io.BytesIO(data), content_type="application/pdf")

    assert stored == StoredObject(
        "filings/A/report.pdf", len(data), hashlib.sha256(data).hexdigest()
    )
    assert read(store, "filings/A/report.pdf") == data


def test_an_empty_object_can_be_stored(store: ArchiveStore) -> None:
    stored = put_bytes(store, "empty", b"")

    assert (stored.size, stored.sha256) == (0, hashlib.sha256(b"").hexdigest())
    assert read(store, "empty") == b""


def test_stat_returns_size_and_recorded_sha256_or_none_when_absent(store: ArchiveStore) -> None:
    stored = put_bytes(store, "a/b.txt", b"hello")

    assert store.stat("a/b.txt") == stored
    assert store.stat("a/c.txt") is None
    assert store.stat("a") is None
    assert store.stat("nowhere/at/all") is None


def test_a_second_put_to_a_key_is_refused_and_the_first_content_kept(store: ArchiveStore) -> None:
    first = put_bytes(store, "k/v1.json", b"first")

    with pytest.raises(AlreadyExists):
        put_bytes(store, "k/v1.json", b"second")

    assert read(store, "k/v1.json") == b"first"
    assert store.stat("k/v1.json") == first
    assert list(store.list("k/")) == ["k/v1.json"]


def test_a_put_whose_source_fails_midstream_leaves_no_object(store: ArchiveStore) -> None:
    with pytest.raises(ConnectionResetError):
        store.put_new("filings/A/big.pdf", generated_stream(failing_after(chunks=20)))

    assert store.stat("filings/A/big.pdf") is None
    assert list(store.list("")) == []
    with pytest.raises(ObjectMissing):
        store.open("filings/A/big.pdf")
    put_bytes(store, "filings/A/big.pdf", b"second try")  # the key is still free
    assert read(store, "filings/A/big.pdf") == b"second try"


def test_list_yields_the_keys_under_a_prefix_in_sorted_order(store: ArchiveStore) -> None:
    keys = ["a/x", "a-b", "a/b/c", "a/b-c", "ab/y", "a0", "b/z", "a/b/d/e"]
    for key in keys:
        put_bytes(store, key, key.encode())

    assert list(store.list("")) == sorted(keys)
    assert list(store.list("a/")) == ["a/b-c", "a/b/c", "a/b/d/e", "a/x"]
    assert list(store.list("a/b")) == ["a/b-c", "a/b/c", "a/b/d/e"]
    assert list(store.list("a")) == ["a-b", "a/b-c", "a/b/c", "a/b/d/e", "a/x", "a0", "ab/y"]
    assert list(store.list("a/x")) == ["a/x"]
    assert list(store.list("c/")) == []
    assert list(store.list("a/x/")) == []


def test_open_of_a_missing_key_raises_object_missing(store: ArchiveStore) -> None:
    put_bytes(store, "present/one", b"1")

    for key in ("absent", "present/two", "present", "present/one/deeper"):
        with pytest.raises(ObjectMissing):
            store.open(key)


def test_chinese_keys_and_names_with_spaces_round_trip(store: ArchiveStore) -> None:
    key = "filings/12120000MB1234567X/rule_of_law_report/2023/F1/v1/data/南开区 2023年法治政府建设情况报告.docx"
    stored = put_bytes(store, key, "法治".encode())

    assert read(store, key) == "法治".encode()
    assert store.stat(key) == stored
    assert list(store.list("filings/12120000MB1234567X/")) == [key]


def test_a_20_mb_stream_is_stored_without_holding_it_in_memory(
    store: ArchiveStore, store_case: StoreCase
) -> None:
    chunk = os.urandom(64 * 1024)
    expected = hashlib.sha256()
    for part in repeated(chunk, 320):
        expected.update(part)

    tracemalloc.start()
    try:
        stored = store.put_new("big/20mb.bin", generated_stream(repeated(chunk, 320)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert (stored.size, stored.sha256) == (20 * MiB, expected.hexdigest())
    if store_case.bounded_memory:
        assert peak < 8 * MiB


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/abs/path",
        "a/../b",
        "..",
        "a/./b",
        "a//b",
        "a/b/",
        "nul\x00byte",
        "a/.tmp-123",
        "x" * 256,
        "a/" * 600 + "b",
    ],
)
def test_invalid_keys_are_refused(store: ArchiveStore, key: str) -> None:
    with pytest.raises(ValueError):
        put_bytes(store, key, b"x")
    with pytest.raises(ValueError):
        store.open(key)
    with pytest.raises(ValueError):
        store.stat(key)


def test_of_eight_concurrent_puts_to_one_key_exactly_one_wins(store: ArchiveStore) -> None:
    barrier = threading.Barrier(8)

    def put(writer: int) -> StoredObject | None:
        data = f"writer {writer}\n".encode() * 10_000
        barrier.wait()
        try:
            return put_bytes(store, "race/manifest-sha256.txt", data)
        except AlreadyExists:
            return None

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(put, range(8)))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    content = read(store, "race/manifest-sha256.txt")
    assert hashlib.sha256(content).hexdigest() == winners[0].sha256
    assert list(store.list("race/")) == ["race/manifest-sha256.txt"]


# -- staged puts: sent while the caller works, visible only once committed ----------

# Above one S3 part (5 MiB), so that on the locked bucket it goes as a multipart upload.
STAGED_SIZES = pytest.mark.parametrize("size", [64 * 1024, 12 * MiB + 5], ids=["small", "parts"])


def spooled(tmp_path: Path, data: bytes, name: str = "upload") -> tuple[Path, str]:
    path = tmp_path / name
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


@STAGED_SIZES
def test_a_staged_file_is_invisible_until_committed_then_stored_once(
    store: ArchiveStore, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path, sha256 = spooled(tmp_path, data)

    staged = store.stage("filings/S/报告.docx", path, size=size, sha256=sha256)
    assert store.stat("filings/S/报告.docx") is None
    assert list(store.list("filings/S/")) == []
    stored = staged.commit()
    staged.abort()  # after a commit: nothing

    assert stored == StoredObject("filings/S/报告.docx", size, sha256)
    assert store.stat("filings/S/报告.docx") == stored
    assert read(store, "filings/S/报告.docx") == data


@STAGED_SIZES
def test_an_aborted_staged_put_leaves_nothing(
    store: ArchiveStore, tmp_path: Path, size: int
) -> None:
    path, sha256 = spooled(tmp_path, os.urandom(size))

    staged = store.stage("filings/S/a.pdf", path, size=size, sha256=sha256)
    staged.abort()

    assert store.stat("filings/S/a.pdf") is None
    assert list(store.list("filings/")) == []
    with pytest.raises(ObjectMissing):
        store.open("filings/S/a.pdf")


@STAGED_SIZES
def test_a_staged_put_to_a_taken_key_is_refused_and_the_first_content_kept(
    store: ArchiveStore, tmp_path: Path, size: int
) -> None:
    first = put_bytes(store, "filings/S/a.pdf", b"the first")
    path, sha256 = spooled(tmp_path, os.urandom(size))

    staged = store.stage("filings/S/a.pdf", path, size=size, sha256=sha256)
    with pytest.raises(AlreadyExists):
        staged.commit()

    assert store.stat("filings/S/a.pdf") == first
    assert read(store, "filings/S/a.pdf") == b"the first"


@STAGED_SIZES
def test_a_staged_file_that_does_not_hash_to_its_sha256_is_refused_and_leaves_nothing(
    store: ArchiveStore, tmp_path: Path, size: int
) -> None:
    path, _ = spooled(tmp_path, os.urandom(size))

    staged = store.stage("filings/S/a.pdf", path, size=size, sha256="0" * 64)
    with pytest.raises(FixityMismatch):
        staged.commit()

    assert store.stat("filings/S/a.pdf") is None
    assert list(store.list("filings/")) == []


@STAGED_SIZES
def test_a_file_staged_while_it_is_still_being_written_is_stored_once_sealed(
    store: ArchiveStore, tmp_path: Path, size: int
) -> None:
    data = os.urandom(size)
    path = tmp_path / "growing"
    path.write_bytes(b"")
    sha256 = hashlib.sha256(data).hexdigest()

    staged = store.stage("filings/G/报告.pdf", path, sha256=sha256, size_hint=size + 300)
    with path.open("ab", buffering=0) as spool:
        for start in range(0, size, 1024 * 1024):
            spool.write(data[start : start + 1024 * 1024])
            staged.grown(min(size, start + 1024 * 1024))
            assert store.stat("filings/G/报告.pdf") is None
    staged.seal(size)
    stored = staged.commit()

    assert stored == StoredObject("filings/G/报告.pdf", size, sha256)
    assert read(store, "filings/G/报告.pdf") == data


def test_a_growing_file_abandoned_before_it_is_sealed_leaves_nothing(
    store: ArchiveStore, tmp_path: Path
) -> None:
    path = tmp_path / "growing"
    path.write_bytes(os.urandom(11 * MiB))

    staged = store.stage("filings/G/a.pdf", path, sha256="0" * 64, size_hint=40 * MiB)
    staged.grown(11 * MiB)
    staged.abort()

    assert store.stat("filings/G/a.pdf") is None
    assert list(store.list("filings/")) == []


# Not on moto: its PutObject checks If-None-Match, then stores, with no lock between
# (moto/s3/responses.py), so two concurrent conditional PUTs can both succeed. The race
# runs on Ceph RGW, the real S3 here, plain and locked.
@pytest.mark.parametrize(
    "store_case", [name for name in STORES if name != "s3-moto"], indirect=True
)
def test_of_four_staged_puts_to_one_key_committed_at_once_exactly_one_wins(
    store: ArchiveStore, tmp_path: Path
) -> None:
    files = [spooled(tmp_path, os.urandom(6 * MiB), f"upload-{n}") for n in range(4)]
    staged = [
        store.stage("race/data/report.pdf", path, size=6 * MiB, sha256=sha256)
        for path, sha256 in files
    ]
    barrier = threading.Barrier(4)

    def commit(n: int) -> StoredObject | None:
        barrier.wait()
        try:
            return staged[n].commit()
        except AlreadyExists:
            return None

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(commit, range(4)))

    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert hashlib.sha256(read(store, "race/data/report.pdf")).hexdigest() == winners[0].sha256
    assert list(store.list("race/")) == ["race/data/report.pdf"]


def test_a_reachable_store_passes_its_check_and_describes_itself(store: ArchiveStore) -> None:
    store.check()

    assert store.describe()


# -- FilesystemStore specifics ------------------------------------------------------


@pytest.fixture
def fs_root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    return root


def test_filesystem_objects_are_read_only_and_no_temp_file_remains(fs_root: Path) -> None:
    store = FilesystemStore(fs_root)
    put_bytes(store, "a/b/c.txt", b"c")
    with pytest.raises(AlreadyExists):
        put_bytes(store, "a/b/c.txt", b"other")
    with pytest.raises(ConnectionResetError):
        store.put_new("a/b/d.txt", generated_stream(failing_after(chunks=2)))

    assert stat.S_IMODE((fs_root / "a/b/c.txt").stat().st_mode) == 0o444
    assert sorted(p.name for p in (fs_root / "a/b").iterdir()) == ["c.txt"]


def test_filesystem_list_skips_temp_files_left_by_a_crash(fs_root: Path) -> None:
    store = FilesystemStore(fs_root)
    put_bytes(store, "p/done", b"1")
    (fs_root / "p/.tmp-abc123").write_bytes(b"half written")

    assert list(store.list("")) == ["p/done"]
    assert list(store.list("p/.tmp")) == []


def test_filesystem_stat_returns_the_sha256_recorded_at_put_not_the_current_one(
    fs_root: Path,
) -> None:
    store = FilesystemStore(fs_root)
    stored = put_bytes(store, "x.txt", b"original")
    path = fs_root / "x.txt"
    path.chmod(0o644)
    path.write_bytes(b"tampered")

    assert store.stat("x.txt") == StoredObject("x.txt", len(b"tampered"), stored.sha256)


def test_filesystem_a_missing_root_is_unavailable_not_empty(tmp_path: Path) -> None:
    store = FilesystemStore(tmp_path / "unmounted")

    with pytest.raises(ArchiveUnavailable):
        store.check()
    with pytest.raises(ArchiveUnavailable):
        put_bytes(store, "a/b", b"x")
    with pytest.raises(ArchiveUnavailable):
        store.open("a/b")
    with pytest.raises(ArchiveUnavailable):
        store.stat("a/b")
    with pytest.raises(ArchiveUnavailable):
        list(store.list(""))
    assert not (tmp_path / "unmounted").exists()


def test_filesystem_a_key_below_an_existing_object_is_refused(fs_root: Path) -> None:
    store = FilesystemStore(fs_root)
    put_bytes(store, "a/b", b"x")

    with pytest.raises(AlreadyExists):
        put_bytes(store, "a/b/c", b"y")


def test_filesystem_describe_is_a_file_uri_of_the_absolute_root(fs_root: Path) -> None:
    assert FilesystemStore(fs_root).describe() == fs_root.resolve().as_uri()
