"""A package's proof files, write-once beside its bag:

    v{n}/tagmanifest-sha256.txt       RFC 8493 tag manifest over bagit.txt, bag-info.txt
                                      and manifest-sha256.txt: what the timestamp stamps
    v{n}/tagmanifest-sha256.txt.tsr   the TSA's whole TimeStampResp (with its certificate)

`put_proof` and `put_token` are idempotent for the same bytes (a stamp job repeated after
a crash, a backfill run twice) and refuse different ones (`AlreadyExists`). Reads are
checked against the SHA-256 the store recorded.
"""

from __future__ import annotations

import hashlib
import io

from service.archive.fixity import CHUNK_SIZE, verifying_reader
from service.archive.packages.manifests import manifest_text
from service.archive.packages.names import BAG_INFO, BAGIT, MANIFEST, TAG_MANIFEST
from service.archive.port import ArchiveStore, StoredObject
from service.archive.retention import Period
from service.domain.errors import AlreadyExists, ObjectMissing
from service.domain.proof import TOKEN_SUFFIX

TAGGED = (BAGIT, BAG_INFO, MANIFEST)
PROOF_DIR = "proof/"  # where a zip download carries the proof files


def tag_manifest_key(prefix: str) -> str:
    return prefix + TAG_MANIFEST


def token_key(stamped_key: str) -> str:
    return stamped_key + TOKEN_SUFFIX


class Proofs:
    """Writes and reads proof files on an `ArchiveStore`."""

    def __init__(self, store: ArchiveStore) -> None:
        self._store = store

    def put_tag_manifest(self, prefix: str, *, retention: Period | None = None) -> StoredObject:
        """Archive the tag manifest of a complete package (`ObjectMissing` otherwise)."""
        hashes: dict[str, str] = {}
        for name in TAGGED:
            stored = self._store.stat(prefix + name)
            if stored is None:
                raise ObjectMissing(f"package {prefix} has no {name}: it is incomplete")
            hashes[name] = stored.sha256
        text = manifest_text(hashes).encode()
        return self.put_once(tag_manifest_key(prefix), text, "text/plain; charset=utf-8", retention)

    def put_token(
        self, stamped_key: str, response: bytes, *, retention: Period | None = None
    ) -> StoredObject:
        """Archive a TSA's response beside the file it stamps."""
        key = token_key(stamped_key)
        return self.put_once(key, response, "application/timestamp-reply", retention)

    def stat(self, key: str) -> StoredObject | None:
        return self._store.stat(key)

    def read(self, key: str) -> bytes:
        """An archived proof file's bytes, checked (`FixityMismatch`, `ObjectMissing`)."""
        stored = self._store.stat(key)
        if stored is None:
            raise ObjectMissing(f"{key} is not archived")
        with (
            self._store.open(key) as raw,
            verifying_reader(raw, stored.sha256, what=key) as stream,
        ):
            return stream.read()

    def sha256(self, key: str) -> bytes:
        """An archived file's SHA-256 digest, re-hashed from storage a chunk at a time (a
        capture's WARC may be large: never read whole), checked against the SHA-256 the
        store recorded (`FixityMismatch`, `ObjectMissing`)."""
        stored = self._store.stat(key)
        if stored is None:
            raise ObjectMissing(f"{key} is not archived")
        digest = hashlib.sha256()
        with (
            self._store.open(key) as raw,
            verifying_reader(raw, stored.sha256, what=key) as stream,
        ):
            while chunk := stream.read(CHUNK_SIZE):
                digest.update(chunk)
        return digest.digest()

    def recorded_sha256(self, key: str) -> bytes:
        """The SHA-256 the store recorded when `key` was written (`ObjectMissing`)."""
        stored = self._store.stat(key)
        if stored is None:
            raise ObjectMissing(f"{key} is not archived")
        return bytes.fromhex(stored.sha256)

    def put_once(
        self, key: str, data: bytes, media_type: str, retention: Period | None
    ) -> StoredObject:
        """Archive `data` at `key`: idempotent for the same bytes, `AlreadyExists` for
        different ones."""
        try:
            return self._store.put_new(
                key, io.BytesIO(data), content_type=media_type, retention=retention
            )
        except AlreadyExists:
            stored = self._store.stat(key)
            if stored is None or stored.sha256 != hashlib.sha256(data).hexdigest():
                raise
            return stored
