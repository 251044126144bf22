"""An in-memory `ArchiveStore`, passing the store contract suite."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator
from typing import BinaryIO

from service.archive.filesystem import check_key
from service.archive.fixity import iter_chunks
from service.archive.port import ArchiveStore, StoredObject
from service.archive.retention import Period
from service.domain.errors import AlreadyExists, ArchiveUnavailable, ObjectMissing


class InMemoryStore(ArchiveStore):
    """A write-once `ArchiveStore` in a dict.

    `put_order` lists the keys in the order their puts succeeded; `fail_on_put = n`
    makes the n-th put attempt (counting from 1) raise `ArchiveUnavailable`;
    `available = False` makes `check` fail; `corrupt(key, data)` swaps an object's
    bytes but keeps its recorded SHA-256, as bit rot would.
    """

    def __init__(self, *, fail_on_put: int | None = None) -> None:
        self.fail_on_put = fail_on_put
        self.available = True
        self.put_order: list[str] = []
        self._objects: dict[str, tuple[bytes, str]] = {}
        self._attempts = 0
        self._lock = threading.Lock()

    def put_new(
        self,
        key: str,
        source: BinaryIO,
        *,
        content_type: str | None = None,
        absent_checked: bool = False,
        retention: Period | None = None,
    ) -> StoredObject:
        check_key(key)
        self._count_attempt(key)
        data = b"".join(iter_chunks(source))
        sha256 = hashlib.sha256(data).hexdigest()
        with self._lock:
            if key in self._objects:
                raise AlreadyExists(key)
            self._objects[key] = (data, sha256)
            self.put_order.append(key)
        return StoredObject(key=key, size=len(data), sha256=sha256)

    def _count_attempt(self, key: str) -> None:
        with self._lock:
            self._attempts += 1
            if self._attempts == self.fail_on_put:
                raise ArchiveUnavailable(detail={"store": self.describe(), "key": key})

    def open(self, key: str) -> BinaryIO:
        check_key(key)
        with self._lock:
            if key not in self._objects:
                raise ObjectMissing(key)
            return io.BytesIO(self._objects[key][0])

    def stat(self, key: str) -> StoredObject | None:
        check_key(key)
        with self._lock:
            if key not in self._objects:
                return None
            data, sha256 = self._objects[key]
        return StoredObject(key=key, size=len(data), sha256=sha256)

    def list(self, prefix: str) -> Iterator[str]:
        with self._lock:
            keys = sorted(k for k in self._objects if k.startswith(prefix))
        yield from keys

    def describe(self) -> str:
        return "memory://"

    def check(self) -> None:
        if not self.available:
            raise ArchiveUnavailable(detail={"store": self.describe()})

    def corrupt(self, key: str, data: bytes) -> None:
        with self._lock:
            self._objects[key] = (data, self._objects[key][1])
