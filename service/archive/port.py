"""The `ArchiveStore` port: a write-once key/value store of byte streams.

Every implementation (filesystem, S3) honours the same contract, proven by one
contract test suite run against each:

- `put_new` streams the source in chunks (never whole in memory), computes its
  SHA-256 while streaming, and refuses a key that already holds an object
  (`AlreadyExists`) — nothing archived is ever overwritten. A failed put leaves
  no object visible under the key.
- `open` streams an object back; `ObjectMissing` when absent.
- `list` yields keys under a prefix, sorted.
- The store never deletes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import BinaryIO, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    sha256: str


class ArchiveStore(Protocol):
    def put_new(
        self, key: str, source: BinaryIO, *, content_type: str | None = None
    ) -> StoredObject:
        """Write `source` under `key` once; `AlreadyExists` if the key is taken."""
        ...

    def open(self, key: str) -> AbstractContextManager[BinaryIO]:
        """A readable binary stream of the object; `ObjectMissing` if absent."""
        ...

    def stat(self, key: str) -> StoredObject | None:
        """Size and recorded SHA-256 of an object, or None when absent."""
        ...

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix`, sorted."""
        ...

    def describe(self) -> str:
        """Where the store is, for logs and readiness checks (no secrets)."""
        ...

    def check(self) -> None:
        """Raise `ArchiveUnavailable` when the store cannot be reached."""
        ...
