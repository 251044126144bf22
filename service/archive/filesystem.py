"""`FilesystemStore`: the write-once `ArchiveStore` on a local directory (the embedded default).

`check_key`, the key rule every store applies, lives in `port` (still importable from here).

How a put stays write-once and all-or-nothing:

1. the source streams in 1 MiB chunks into `.tmp-<random>` in the target directory,
   hashed on the way; the file is fsynced, its SHA-256 recorded in the extended
   attribute `user.disclosure.sha256` and its mode set to 0o444;
2. `os.link(tmp, final)` publishes it: atomic, and it fails when `final` exists
   (→ `AlreadyExists`), so two writers can never both win;
3. the temp name is unlinked in every case and the directory fsynced.

A crash leaves at most a `.tmp-…` file, which `list` skips and no key can name.
`stat` returns the SHA-256 recorded at put time (so a later change to the bytes shows
up in a fixity check); on a filesystem without user xattrs it re-hashes the file.

The root directory is not created here: a missing root is an unavailable archive
(e.g. an unmounted volume), never a fresh empty one. Every `OSError` of the
filesystem is translated to `ArchiveUnavailable`; errors raised by the source
stream reach the caller untouched.
"""

from __future__ import annotations

import errno
import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO

from service.archive.fixity import hash_stream, iter_chunks
from service.archive.port import TEMP_PREFIX, ArchiveStore, StoredObject, check_key
from service.archive.retention import Period
from service.domain.errors import AlreadyExists, ArchiveUnavailable, ObjectMissing

__all__ = ["FilesystemStore", "check_key"]

SHA256_XATTR = "user.disclosure.sha256"
_NO_XATTR = {errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENODATA, errno.EPERM}


class FilesystemStore(ArchiveStore):
    def __init__(self, root: Path) -> None:
        self._root = Path(root).absolute()

    # -- writing --------------------------------------------------------------

    def put_new(
        self,
        key: str,
        source: BinaryIO,
        *,
        content_type: str | None = None,
        absent_checked: bool = False,
        retention: Period | None = None,
    ) -> StoredObject:
        """Write `source` under `key` once (`os.link` refuses a taken key, so there is no
        early refusal to skip); `content_type` is not kept by this store, nor a
        `retention`: it deletes nothing, and its files are read-only."""
        final = self._path(check_key(key))
        with self._translated():
            self._make_parents(key)
            fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=final.parent)
        try:
            sha256, size = self._write_temp(fd, source)
            self._publish(tmp, final, key)
        finally:
            with self._translated():
                Path(tmp).unlink(missing_ok=True)
                _fsync_dir(final.parent)
        return StoredObject(key=key, size=size, sha256=sha256)

    def _write_temp(self, fd: int, source: BinaryIO) -> tuple[str, int]:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb", buffering=0) as out:
            for chunk in iter_chunks(source):  # the source's own errors pass untouched
                with self._translated():
                    out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            with self._translated():
                os.fsync(out.fileno())
                _record_sha256(out.fileno(), digest.hexdigest())
                os.fchmod(out.fileno(), 0o444)
        return digest.hexdigest(), size

    def _publish(self, tmp: str, final: Path, key: str) -> None:
        try:
            os.link(tmp, final)
        except FileExistsError:
            raise AlreadyExists(key) from None
        except OSError as exc:
            raise self._unavailable(exc) from exc

    def _make_parents(self, key: str) -> None:
        """Create the key's missing directories below the root, fsyncing each parent."""
        if not self._root.is_dir():
            raise FileNotFoundError(errno.ENOENT, "archive root missing", str(self._root))
        directory = self._root
        for segment in key.split("/")[:-1]:
            directory = directory / segment
            try:
                directory.mkdir()
            except FileExistsError:
                if not directory.is_dir():
                    raise AlreadyExists(f"{key}: {segment!r} is an object, not a prefix") from None
            else:
                _fsync_dir(directory.parent)

    # -- reading --------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        """The object as a binary file (a context manager); `ObjectMissing` if absent."""
        path = self._path(check_key(key))
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise self._missing(key) from None
        except OSError as exc:
            raise self._unavailable(exc) from exc

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(check_key(key))
        try:
            status = path.stat()
            if not S_ISREG(status.st_mode):
                return None
            return StoredObject(key=key, size=status.st_size, sha256=_recorded_sha256(path))
        except (FileNotFoundError, NotADirectoryError):
            self._require_root()
            return None
        except OSError as exc:
            raise self._unavailable(exc) from exc

    def list(self, prefix: str) -> Iterator[str]:
        """Keys starting with `prefix` (a string prefix, as in S3), sorted by code point."""
        head, _, tail = prefix.rpartition("/")
        if head:
            check_key(head)
        base = f"{head}/" if head else ""
        for entry in self._entries_below(head):
            if entry.name.startswith(tail):
                yield from self._walk(entry, base)

    def _entries_below(self, head: str) -> Sequence[os.DirEntry[str]]:
        with self._translated():
            self._require_root()
            try:
                return _sorted_entries(self._path(head))
            except (FileNotFoundError, NotADirectoryError):
                return []

    def _walk(self, entry: os.DirEntry[str], base: str) -> Iterator[str]:
        key = base + entry.name
        if entry.is_file(follow_symlinks=False):
            yield key
        elif entry.is_dir(follow_symlinks=False):
            with self._translated():
                children = _sorted_entries(Path(entry.path))
            for child in children:
                yield from self._walk(child, f"{key}/")

    def unfinished(self, before: datetime) -> Iterator[tuple[str, datetime]]:
        """Temp files a killed process left beside the objects it was writing (named
        for the directory they were in: their own names are random)."""
        with self._translated():
            self._require_root()
            for directory, _, names in os.walk(self._root):
                for name in sorted(n for n in names if n.startswith(TEMP_PREFIX)):
                    path = Path(directory, name)
                    with suppress(FileNotFoundError):  # finished meanwhile
                        begun = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                        if begun < before:
                            yield path.relative_to(self._root).as_posix(), begun

    # -- health ---------------------------------------------------------------

    def describe(self) -> str:
        return self._root.as_uri()

    def check(self) -> None:
        if not self._root.is_dir():
            raise ArchiveUnavailable(detail={"store": self.describe(), "error": "root missing"})
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise ArchiveUnavailable(
                detail={"store": self.describe(), "error": "root not writable"}
            )

    # -- helpers --------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self._root / key if key else self._root

    def _require_root(self) -> None:
        """A missing root means the archive is unreachable, not that it is empty."""
        if not self._root.is_dir():
            raise ArchiveUnavailable(detail={"store": self.describe(), "error": "root missing"})

    def _missing(self, key: str) -> ObjectMissing:
        self._require_root()
        return ObjectMissing(key)

    def _unavailable(self, exc: OSError) -> ArchiveUnavailable:
        return ArchiveUnavailable(detail={"store": self.describe(), "error": str(exc)})

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise self._unavailable(exc) from exc


def _sorted_entries(directory: Path) -> list[os.DirEntry[str]]:
    """Entries of `directory` without temp files, in the order their keys sort: a
    directory `d` sorts as `d/`, so a depth-first walk yields keys in sorted order."""
    with os.scandir(directory) as scan:
        entries = [e for e in scan if not e.name.startswith(TEMP_PREFIX)]
    return sorted(
        entries, key=lambda e: e.name + "/" if e.is_dir(follow_symlinks=False) else e.name
    )


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _record_sha256(fd: int, sha256: str) -> None:
    try:
        os.setxattr(fd, SHA256_XATTR, sha256.encode("ascii"))
    except OSError as exc:
        if exc.errno not in _NO_XATTR:
            raise


def _recorded_sha256(path: Path) -> str:
    try:
        return os.getxattr(path, SHA256_XATTR).decode("ascii")
    except OSError as exc:
        if exc.errno not in _NO_XATTR:
            raise
    with path.open("rb") as stream:
        return hash_stream(stream)[0]
