"""The bytes of one put, hashed once and readable by byte range (`os.pread`), so that
parts go in parallel and the SDK can rewind a body to retry it; and what a write sends
besides them (`Write`: its id, our SHA-256, the file name, the lock)."""

from __future__ import annotations

import hashlib
import io
import os
import stat as stat_module
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, cast
from urllib.parse import quote

from service.archive.fixity import CHUNK_SIZE, iter_chunks
from service.archive.retention import Lock
from service.archive.s3.config import NAME_META, SHA256_META, WRITE_ID_META, MiB, b64
from service.domain.errors import ArchiveUnavailable

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MEMORY_BODY_MAX = 8 * MiB  # a BytesIO up to this size is read where it is, not spooled


@dataclass
class Body:
    """The bytes of one put, hashed, readable by byte range (the SDK rewinds to retry)."""

    size: int
    sha256: str
    md5: str | None  # base64, as Content-MD5 wants it; only when it may go in one PUT
    opener: Callable[[int, int], BinaryIO]

    def reader(self, offset: int, length: int) -> BinaryIO:
        return self.opener(offset, length)

    def part_range(self, number: int, part_size: int) -> tuple[int, int]:
        offset = (number - 1) * part_size
        return offset, min(part_size, self.size - offset)

    def md5_of(self, offset: int, length: int) -> str:
        """Content-MD5 of one part, hashed in the thread that uploads it."""
        digest = hashlib.md5(usedforsecurity=False)
        for chunk in iter_chunks(self.reader(offset, length)):
            digest.update(chunk)
        return b64(digest.digest())


class Hashes:
    """SHA-256 of the whole stream, and its MD5 while it may still fit one PUT."""

    def __init__(self, md5_up_to: int) -> None:
        self.sha256 = hashlib.sha256()
        self.md5: Any = hashlib.md5(usedforsecurity=False) if md5_up_to >= 0 else None
        self.md5_up_to = md5_up_to
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self.sha256.update(chunk)
        self.size += len(chunk)
        if self.md5 is not None and self.size > self.md5_up_to:
            self.md5 = None  # multipart: each part gets its own MD5 as it goes
        if self.md5 is not None:
            self.md5.update(chunk)

    def body(self, opener: Callable[[int, int], BinaryIO]) -> Body:
        md5 = b64(self.md5.digest()) if self.md5 is not None else None
        return Body(self.size, self.sha256.hexdigest(), md5, opener)


@contextmanager
def prepared(source: BinaryIO, spool_dir: Path | None, single_up_to: int) -> Iterator[Body]:
    """Hash `source` where it is if it is a regular file or a small BytesIO, else spool
    it to a temp file while hashing. The source's own errors pass untouched."""
    fd, start = regular_file(source)
    if fd is not None:
        hashes = Hashes(single_up_to if os.fstat(fd).st_size - start <= single_up_to else -1)
        for chunk in pread_chunks(fd, start):
            hashes.update(chunk)
        yield hashes.body(partial(file_range, fd, start))
        source.seek(start + hashes.size)
    elif isinstance(source, io.BytesIO) and len(source.getbuffer()) <= MEMORY_BODY_MAX:
        data = source.read()
        hashes = Hashes(single_up_to)
        hashes.update(data)
        yield hashes.body(lambda offset, length: io.BytesIO(data[offset : offset + length]))
    else:
        with spooled(source, spool_dir, Hashes(single_up_to)) as body:
            yield body


@contextmanager
def spooled(source: BinaryIO, spool_dir: Path | None, hashes: Hashes) -> Iterator[Body]:
    try:
        spool = tempfile.TemporaryFile(dir=spool_dir)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ArchiveUnavailable(detail={"error": f"cannot spool the upload: {exc}"}) from exc
    with spool:
        for chunk in iter_chunks(source):
            hashes.update(chunk)
            try:
                spool.write(chunk)
            except OSError as exc:
                raise ArchiveUnavailable(
                    detail={"error": f"cannot spool the upload: {exc}"}
                ) from exc
        spool.flush()
        yield hashes.body(partial(file_range, spool.fileno(), 0))


def regular_file(source: BinaryIO) -> tuple[int | None, int]:
    try:
        fd = source.fileno()
        if source.seekable() and stat_module.S_ISREG(os.fstat(fd).st_mode):
            return fd, source.tell()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
    return None, 0


def pread_chunks(fd: int, offset: int) -> Iterator[bytes]:
    while chunk := os.pread(fd, CHUNK_SIZE, offset):
        offset += len(chunk)
        yield chunk


def file_range(fd: int, start: int, offset: int, length: int) -> BinaryIO:
    return cast(BinaryIO, Range(fd, start + offset, length))


class Range(io.RawIOBase):
    """`length` bytes of `fd` from `start`, by positional reads: seekable, so the SDK can
    hash it for signing and rewind it to retry, and many can read one fd at once."""

    def __init__(self, fd: int, start: int, length: int) -> None:
        super().__init__()
        self._fd = fd
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view:
            want = min(len(view), self._length - self._pos)
            if want <= 0:
                return 0
            data = os.pread(self._fd, want, self._start + self._pos)
            view[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def __len__(self) -> int:
        return self._length


@dataclass(frozen=True)
class Write:
    write_id: str
    body: Body
    content_type: str | None
    lock: Lock | None

    def object_params(self, full: str) -> dict[str, Any]:
        name = quote(full.rpartition("/")[2], safe="")
        params: dict[str, Any] = {
            "Metadata": {
                SHA256_META: self.body.sha256,
                WRITE_ID_META: self.write_id,
                NAME_META: name,
            },
            "ContentDisposition": f"attachment; filename*=UTF-8''{name}",
        }
        if self.content_type:
            params["ContentType"] = self.content_type
        return params

    def lock_params(self) -> dict[str, Any]:
        if self.lock is None:
            return {}
        params: dict[str, Any] = {
            "ObjectLockMode": self.lock.mode,
            "ObjectLockRetainUntilDate": self.lock.retain_until,
        }
        if self.lock.legal_hold:
            params["ObjectLockLegalHoldStatus"] = "ON"
        return params


# -- staged writes ---------------------------------------------------------------
