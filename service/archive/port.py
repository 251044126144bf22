"""The `ArchiveStore` port: a write-once key/value store of byte streams.

Every implementation (filesystem, S3) honours the same contract, proven by one
contract test suite run against each:

- `put_new` streams the source in chunks (never whole in memory), computes its
  SHA-256 while streaming, and refuses a key that already holds an object
  (`AlreadyExists`) — nothing archived is ever overwritten. A failed put leaves
  no object visible under the key.
- `stage` starts writing a file, complete or still being written, in the background
  (the S3 store sends its parts while the caller receives and validates); nothing is
  visible under the key until `commit`, and `abort` leaves nothing. Stores without a
  background write inherit `DeferredPut`, which writes at `commit`.
- `open` streams an object back; `ObjectMissing` when absent.
- `list` yields keys under a prefix, sorted; `unfinished` the writes a crash left.
- The store never deletes.
- Every store applies `check_key` (below) to the keys it is given.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from service.archive.fixity import verifying_reader
from service.archive.retention import Period

TEMP_PREFIX = ".tmp-"  # the filesystem store's temp files; no key may name one
MAX_SEGMENT_BYTES = 255  # NAME_MAX of common filesystems
MAX_KEY_BYTES = 1024  # S3's limit, so that every store accepts the same keys


def check_key(key: str) -> str:
    """Return `key` if it is a valid archive key, else raise `ValueError`.

    A key is `/`-separated and relative; no segment is empty, `.`, `..` or starts with
    `.tmp-`; no NUL; at most 255 UTF-8 bytes a segment and 1024 in all.
    """
    if not key or key.startswith("/") or "\x00" in key:
        raise ValueError(f"invalid archive key: {key!r}")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"archive key longer than {MAX_KEY_BYTES} bytes: {key!r}")
    for segment in key.split("/"):
        _check_segment(key, segment)
    return key


def _check_segment(key: str, segment: str) -> None:
    if segment in ("", ".", "..") or segment.startswith(TEMP_PREFIX):
        raise ValueError(f"invalid segment {segment!r} in archive key {key!r}")
    if len(segment.encode()) > MAX_SEGMENT_BYTES:
        raise ValueError(f"segment longer than {MAX_SEGMENT_BYTES} bytes in {key!r}")


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class StagedPut(Protocol):
    """A write under way (`ArchiveStore.stage`) of a file that may still be growing:
    its writer calls `grown` as bytes are appended and `seal` once it is complete. Then
    exactly one of `commit` and `abort` is called (`abort` also before `seal`); the
    file's bytes must not change until then."""

    key: str

    def grown(self, size: int) -> None:
        """The file now holds `size` bytes, final from here on; a store may send them."""
        ...

    def seal(self, size: int) -> None:
        """The file is complete at `size` bytes."""
        ...

    def commit(self) -> StoredObject:
        """Make the object visible once, as `put_new` would, and return it: `AlreadyExists`
        if the key is taken, `FixityMismatch` if the file does not hash to the SHA-256
        given to `stage`; on any error nothing is visible under the key."""
        ...

    def abort(self) -> None:
        """Give the write up; nothing becomes visible. Never raises; after `commit`,
        does nothing."""
        ...


class ArchiveStore(Protocol):
    def put_new(
        self,
        key: str,
        source: BinaryIO,
        *,
        content_type: str | None = None,
        absent_checked: bool = False,
        retention: Period | None = None,
    ) -> StoredObject:
        """Write `source` under `key` once; `AlreadyExists` if the key is taken.

        `absent_checked`: the caller has just found nothing under the key (its package's
        prefix empty), so a store may skip its early refusal; never its write-once check.
        `retention`: how long to keep the object where its category's period does not
        say (`filing_period`); a store that locks nothing keeps everything anyway."""
        ...

    def stage(
        self,
        key: str,
        path: Path,
        *,
        sha256: str,
        size: int | None = None,
        size_hint: int | None = None,
        content_type: str | None = None,
        retention: Period | None = None,
    ) -> StagedPut:
        """Start writing the file at `path`, which hashes to `sha256`, under `key`,
        invisibly until `StagedPut.commit`. `size` when the file is complete (it is then
        sealed), else it is still being written and `size_hint` may say how large it
        will about be. Returns at once, waiting on no I/O; errors surface at `commit`.
        This
        default writes everything at `commit`. `retention` as for `put_new`."""
        return DeferredPut(self, check_key(key), path, sha256, content_type, retention)

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A readable binary stream of the object; `ObjectMissing` if absent."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and recorded SHA-256 of an object, or None when absent."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix`, sorted."""
        ...

    def unfinished(self, before: datetime) -> Iterator[tuple[str, datetime]]:
        """Writes begun before `before` and never finished nor abandoned (a process
        killed mid-write), as (key, begun at): invisible, but holding space. This
        default knows of none."""
        return iter(())

    def overwrites(self, key: str) -> tuple[str, ...]:
        """What was written over the archived object under `key` behind the service's
        back — later versions, delete markers — described for a report; the archived
        object itself is still what every read reads. This default, for stores that
        keep one object per key and refuse a second write, knows of none."""
        return ()

    def describe(self) -> str:
        """Where the store is, for logs and readiness checks (no secrets)."""
        ...

    def check(self) -> None:
        """Raise `ArchiveUnavailable` when the store cannot be reached."""
        ...


@dataclass
class DeferredPut:
    """A `StagedPut` that does nothing until `commit`, then `put_new`s the file."""

    store: ArchiveStore
    key: str
    path: Path
    sha256: str
    content_type: str | None = None
    retention: Period | None = None

    def grown(self, size: int) -> None:
        pass

    def seal(self, size: int) -> None:
        pass

    def commit(self) -> StoredObject:
        """The file is checked as it streams: a mismatch raises at EOF, before the
        store makes the object visible."""
        with verifying_reader(self.path.open("rb"), self.sha256, what=self.key) as source:
            return self.store.put_new(
                self.key, source, content_type=self.content_type, retention=self.retention
            )

    def abort(self) -> None:
        pass
