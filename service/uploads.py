"""Spooling an upload to disk while hashing it: the SHA-256 is computed as the bytes
stream in, and the size limit is enforced before the limit is exceeded on disk."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from service.domain.errors import TooLarge

CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    """A submitted file, spooled to `path`; the caller removes the file."""

    filename: str
    path: Path
    size: int
    sha256: str


def hashed_upload(path: Path, filename: str) -> Upload:
    """A file already on disk as an Upload (the CLI's), hashed as it is read."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return Upload(filename, path, size, digest.hexdigest())


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"文件超过上传大小上限 {limit} 字节",
        f"The file exceeds the upload limit of {limit} bytes",
        detail={"limit_bytes": limit},
    )


class SpoolListener(Protocol):
    """Told as a spool file grows (an `ArchiveStore` staged put, sending it meanwhile)."""

    def grown(self, size: int) -> None: ...
    def seal(self, size: int) -> None: ...
    def abort(self) -> None: ...


class Spool:
    """A file being received: hashed and size-checked as each chunk arrives. Written
    unbuffered, so that a `listener` may read every byte it has been told of."""

    def __init__(self, filename: str, max_bytes: int, directory: Path | None) -> None:
        fd, name = tempfile.mkstemp(prefix="upload-", dir=directory)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self.path = Path(name)
        self._filename = filename
        self._max = max_bytes
        self._hash = hashlib.sha256()
        self._size = 0
        self._listener: SpoolListener | None = None

    def listen(self, listener: SpoolListener) -> None:
        self._listener = listener

    def write(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max:
            self.discard()
            raise _too_large(self._max)
        self._hash.update(chunk)
        view = memoryview(chunk)
        while view:
            view = view[self._file.write(view) :]
        if self._listener is not None:
            self._listener.grown(self._size)

    def finish(self) -> Upload:
        self._file.close()
        if self._listener is not None:
            self._listener.seal(self._size)
        return Upload(self._filename, self.path, self._size, self._hash.hexdigest())

    def discard(self) -> None:
        self._file.close()
        self.path.unlink(missing_ok=True)
        if self._listener is not None:
            self._listener.abort()


def spool(
    chunks: Iterable[bytes], filename: str, max_bytes: int, directory: Path | None = None
) -> Upload:
    spooled = Spool(filename, max_bytes, directory)
    try:
        for chunk in chunks:
            spooled.write(chunk)
    except BaseException:
        spooled.discard()
        raise
    return spooled.finish()
