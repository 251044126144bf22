"""`S3Store`: the `ArchiveStore` on one bucket under a prefix (the package docstring says
how it writes once, reads the oldest version and locks)."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import ClientError

from service.archive.fixity import CHUNK_SIZE, hash_stream
from service.archive.port import ArchiveStore, StagedPut, StoredObject
from service.archive.retention import Period
from service.archive.s3.bodies import Write, prepared
from service.archive.s3.bucket import Bucket, Download
from service.archive.s3.config import (
    MAX_SINGLE_PUT,
    SHA256_META,
    S3Config,
    Version,
    is_valid,
    make_client,
    status,
)
from service.archive.s3.staged import FilePut, StagedUpload, stage_part_size
from service.domain.errors import AlreadyExists, FixityMismatch, ObjectMissing
from service.domain.time import utcnow

Versions = list[Version]  # `S3Store.list` shadows the builtin inside the class


class S3Store(ArchiveStore):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        config: S3Config | None = None,
        *,
        client: Any = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        config = config or S3Config()
        client = client if client is not None else make_client(config)
        self._bucket = Bucket(bucket, prefix, config, client, clock)
        self._config = config

    # -- writing --------------------------------------------------------------

    def put_new(
        self,
        key: str,
        source: BinaryIO,
        *,
        content_type: str | None = None,
        absent_checked: bool = False,
        retention: Period | None = None,
        expected_sha256: str | None = None,
    ) -> StoredObject:
        """`absent_checked` skips step 1 of the package docstring (never step 3).
        `expected_sha256`: refuse (`FixityMismatch`) before sending a byte when the source
        hashes otherwise."""
        bucket = self._bucket
        full = bucket.full(key)
        with bucket.translated(key):
            mode = bucket.mode()
            if mode.versioning == "Suspended":
                raise bucket.unavailable("bucket versioning is suspended: write-once cannot hold")
            if not absent_checked and bucket.holds_object(full, mode):  # before reading a byte
                raise AlreadyExists(key)
        single_up_to = self._config.multipart_threshold if mode.versioned else MAX_SINGLE_PUT
        with prepared(source, self._config.spool_dir, single_up_to) as body, bucket.translated(key):
            if expected_sha256 is not None and body.sha256 != expected_sha256:
                raise FixityMismatch(f"{key}: sha256 {body.sha256}, expected {expected_sha256}")
            lock = bucket.lock_for(key, mode, retention)
            write = Write(secrets.token_hex(16), body, content_type, lock)
            if body.md5 is not None:
                version = bucket.put_single(full, write)
            else:
                version = bucket.put_multipart(full, write)
            bucket.confirm(key, full, write, version, mode)
            return StoredObject(key=key, size=body.size, sha256=body.sha256)

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
        """On a versioned bucket the file goes up as a multipart upload as soon as it
        holds a part (even while it is still being written), its parts in parallel,
        completed only at `commit` (the package docstring's "oldest version wins" then
        applies); `abort` aborts it, so nothing is ever visible. Elsewhere — an
        unversioned bucket, where RGW 16 ignores `If-None-Match` on completion, or a file
        under one part, where the extra requests cost more than they save — the file is
        `put_new` at `commit`."""
        full = self._bucket.full(key)
        mode = self._bucket.known_mode()
        if mode is not None and mode.versioning != "Enabled":
            return FilePut(self.put_new, key, path, sha256, content_type, retention)
        basis = size if size is not None else size_hint or self._config.part_size
        part_size = stage_part_size(basis, self._config)
        staged = StagedUpload(
            self._bucket,
            self.put_new,
            key,
            full,
            path,
            sha256,
            part_size,
            size_hint,
            content_type,
            retention,
        )
        if size is not None:
            staged.seal(size)
        return staged

    # -- reading --------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        """The object (the oldest version, on a versioned bucket) as a binary stream."""
        bucket = self._bucket
        full = bucket.full(key)
        with bucket.translated(key):
            version = bucket.readable_version(key, full)
            params = {"VersionId": version} if version else {}
            try:
                response = bucket.client.get_object(Bucket=bucket.name, Key=full, **params)
            except ClientError as exc:
                if status(exc) == 404:
                    raise ObjectMissing(key) from None
                raise
        download = Download(response["Body"], bucket, key)
        return io.BufferedReader(download, buffer_size=CHUNK_SIZE)

    def stat(self, key: str) -> StoredObject | None:
        bucket = self._bucket
        full = bucket.full(key)
        with bucket.translated(key):
            try:
                version = bucket.readable_version(key, full)
            except ObjectMissing:
                return None
            head = bucket.head(full, version)
        if head is None:
            return None
        sha256 = head.get("Metadata", {}).get(SHA256_META, "")
        if len(sha256) != 64:  # not written by this service: hash what is there
            with self.open(key) as stream:
                sha256 = hash_stream(stream)[0]
        return StoredObject(key=key, size=head["ContentLength"], sha256=sha256)

    def list(self, prefix: str) -> Iterator[str]:
        """Keys under `prefix` (a string prefix) in code-point order, as S3 lists them
        (UTF-8 byte order is code-point order). Keys no `check_key` accepts are skipped."""
        bucket = self._bucket
        with bucket.translated(prefix):
            versioned = bucket.mode().versioned
            operation = "list_object_versions" if versioned else "list_objects_v2"
            pages = bucket.client.get_paginator(operation).paginate(
                Bucket=bucket.name, Prefix=bucket.prefix + prefix
            )
            last = None
            for page in pages:
                for entry in page.get("Versions" if versioned else "Contents", []):
                    key = entry["Key"].removeprefix(bucket.prefix)
                    if key != last and is_valid(key):
                        last = key
                        yield key

    def unfinished(self, before: datetime) -> Iterator[tuple[str, datetime]]:
        """Multipart uploads begun before `before` and neither completed nor aborted."""
        bucket = self._bucket
        with bucket.translated(bucket.prefix):
            pages = bucket.client.get_paginator("list_multipart_uploads").paginate(
                Bucket=bucket.name, Prefix=bucket.prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        yield upload["Key"].removeprefix(bucket.prefix), upload["Initiated"]

    def versions(self, key: str) -> Versions:
        """Every version of `key`, newest first: more than one means a lost race or a
        write behind the service's back (the service serves the last: the oldest)."""
        full = self._bucket.full(key)
        with self._bucket.translated(key):
            return self._bucket.versions(full) if self._bucket.mode().versioned else []

    def overwrites(self, key: str) -> tuple[str, ...]:
        """On a versioned bucket, what was written over the archived object (a tamper
        attempt, or a lost race); an unversioned bucket keeps no history to tell."""
        full = self._bucket.full(key)
        with self._bucket.translated(key):
            return self._bucket.overwrites(full) if self._bucket.mode().versioned else ()

    # -- health ---------------------------------------------------------------

    def describe(self) -> str:
        return self._bucket.describe()

    def check(self) -> None:
        """Reachable, the bucket there, and its versioning and Object Lock read again
        (they are otherwise read once, at first use)."""
        with self._bucket.translated(""):
            self._bucket.client.head_bucket(Bucket=self._bucket.name)
            self._bucket.mode(refresh=True)
