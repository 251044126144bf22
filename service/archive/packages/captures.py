"""Captures of a published page, write-once in the package's receipts:

    v{n}/receipts/captures/{destination}-000.warc.gz        the first capture (WARC 1.1)
    v{n}/receipts/captures/{destination}-000.json           what it found (its verdict)
    v{n}/receipts/captures/{destination}-001.warc.gz        re-check 1 (a revisit, or anew)
    v{n}/receipts/captures/{destination}-001.json           …
    v{n}/receipts/captures/{destination}-000.warc.gz.tsr    a WARC's timestamp token

The number is the visit's, in the order archived (a visit a crash left unrecorded keeps
its number; the next one takes the following).

Each record is idempotent for the same bytes and refuses different ones (a crash between
archiving and recording repeats the same check number). The catalog can be rebuilt from
the records alone (service.usecases.recovery).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from service.archive.packages.proof import Proofs
from service.archive.port import ArchiveStore, StoredObject
from service.archive.retention import Period

CAPTURES_DIR = "receipts/captures/"
WARC_SUFFIX = ".warc.gz"
RECORD_SUFFIX = ".json"
MAX_RECORD_BYTES = 64 * 1024


def capture_key(prefix: str, destination: str, check: int, suffix: str) -> str:
    return f"{prefix}{CAPTURES_DIR}{destination}-{check:03d}{suffix}"


class CaptureFiles:
    def __init__(self, store: ArchiveStore) -> None:
        self._store = store
        self._proofs = Proofs(store)

    def put_warc(
        self, prefix: str, destination: str, check: int, data: bytes, retention: Period | None
    ) -> StoredObject:
        key = capture_key(prefix, destination, check, WARC_SUFFIX)
        return self._proofs.put_once(key, data, "application/warc", retention)

    def put_record(
        self, prefix: str, destination: str, check: int, record: dict[str, Any],
        retention: Period | None,
    ) -> StoredObject:  # fmt: skip
        key = capture_key(prefix, destination, check, RECORD_SUFFIX)
        data = json.dumps(record, ensure_ascii=False, sort_keys=True, indent=1).encode()
        return self._proofs.put_once(key, data, "application/json", retention)

    def free_number(self, prefix: str, destination: str, start: int) -> int:
        """The first visit number from `start` with no WARC archived yet: a visit whose
        record a crash lost is kept, and the next goes beside it."""
        number = start
        while self._store.stat(capture_key(prefix, destination, number, WARC_SUFFIX)):
            number += 1
        return number

    def read(self, key: str) -> bytes:
        return self._proofs.read(key)

    def records(self, prefix: str) -> Iterator[tuple[StoredObject, dict[str, Any]]]:
        """The capture records archived for a package, in key order (checked on read)."""
        for key in sorted(self._store.list(prefix + CAPTURES_DIR)):
            stored = self._store.stat(key)
            if key.endswith(RECORD_SUFFIX) and stored and stored.size <= MAX_RECORD_BYTES:
                found = json.loads(self._proofs.read(key))
                if isinstance(found, dict):
                    yield stored, found
