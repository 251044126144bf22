"""Fixity: hashing stored bytes while they stream, and the report of a package's check.

    hash_stream(stream)                  -> (sha256, size), read in 1 MiB chunks
    verifying_reader(raw, sha256, what)  a readable stream that raises FixityMismatch at EOF
                                         when the bytes read do not hash to `sha256`
    FixityReport                         what `Packages.verify` found: missing, mismatched,
                                         unreadable and extra files; reported, never raised

A verifying reader can only judge the bytes once all of them are read: a consumer
that stops early has not checked anything.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from service.domain.errors import FixityMismatch

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

CHUNK_SIZE = 1024 * 1024


def iter_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The stream's bytes in chunks of at most `size`, until EOF."""
    while chunk := stream.read(size):
        yield chunk


def hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-256 (lowercase hex) and size of everything left in `stream`."""
    digest = hashlib.sha256()
    size = 0
    for chunk in iter_chunks(stream):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


class _VerifyingRaw(io.RawIOBase):
    """Passes bytes through from `inner`, hashing them; checks the hash at EOF."""

    def __init__(self, inner: BinaryIO, expected_sha256: str, what: str) -> None:
        super().__init__()
        self._inner = inner
        self._expected = expected_sha256.lower()
        self._what = what
        self._digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as target:
            data = self._inner.read(len(target))
            if not data:
                self._check()
                return 0
            target[: len(data)] = data
        self._digest.update(data)
        return len(data)

    def _check(self) -> None:
        found = self._digest.hexdigest()
        if found != self._expected:
            raise FixityMismatch(f"{self._what}: sha256 {found}, recorded {self._expected}")

    def close(self) -> None:
        self._inner.close()
        super().close()


def verifying_reader(raw: BinaryIO, expected_sha256: str, *, what: str) -> BinaryIO:
    """Wrap `raw` so that reading it to EOF raises `FixityMismatch` unless its bytes hash
    to `expected_sha256`. Closing the reader closes `raw`. `what` names it in the error."""
    return io.BufferedReader(_VerifyingRaw(raw, expected_sha256, what), buffer_size=CHUNK_SIZE)


@dataclass(frozen=True)
class Mismatch:
    path: str
    recorded: str
    found: str


@dataclass(frozen=True)
class FixityReport:
    """The result of re-hashing one package from storage. Paths are relative to the
    package (`data/报告.pdf`, `receipts/portal-1.json`, `manifest-sha256.txt`)."""

    prefix: str
    complete: bool
    checked: int
    missing: tuple[str, ...] = ()
    mismatched: tuple[Mismatch, ...] = ()
    unreadable: tuple[str, ...] = ()  # present but not parseable (a damaged manifest)
    extra: tuple[str, ...] = ()  # present but recorded nowhere
    # written over an archived object behind the service's back ("data/报告.pdf: version …")
    foreign: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        damage = self.missing or self.mismatched or self.unreadable or self.extra or self.foreign
        return self.complete and not damage
