"""`S3Store`: the write-once `ArchiveStore` on any S3-compatible bucket (Ceph RGW, MinIO,
a cloud OSS, AWS). The only module that imports boto3/botocore; every SDK error is
translated here into ours:

    412 PreconditionFailed                   -> AlreadyExists
    404 on a read                            -> ObjectMissing (open) / None (stat)
    connection errors, timeouts, 5xx after
    the SDK's retries, 403, NoSuchBucket,
    a lock the server did not keep           -> ArchiveUnavailable (the API answers 503)
    errors raised by the source stream       -> passed through untouched

Writing (`put_new`):

1. *Refuse early.* A key that already holds an object is refused before a byte of the
   source is read (a HEAD, or the key's versions on a versioned bucket).
2. *Hash, then send.* The source is read once in 1 MiB chunks and hashed (SHA-256, and
   MD5 when it will go in one PUT) where it is if it is a regular file or a small
   BytesIO, else while it is copied into an unnamed temp file (`spool_dir`). Nothing is
   held whole in memory; the upload reads the file by ranges (`os.pread`), so parts
   go in parallel (each part's MD5 computed by the thread that sends it) and the SDK
   can rewind a body to retry it. Our SHA-256 goes into the object's metadata
   (`x-amz-meta-sha256`): a multipart ETag is a composite, not the file's hash, and
   RGW ignores `x-amz-checksum-*`. `Content-MD5` goes with every PUT (the one
   server-side check RGW and AWS both honour) and with every part unless the payload
   is signed (plain http: SigV4 then carries each body's SHA-256, which the server
   checks). Metadata is ASCII, so the file name is
   percent-encoded there and in `Content-Disposition` (RFC 5987).
3. *Write once* — never trusting the server to refuse a second write:

   - unversioned bucket: a HEAD first (an early refusal that holds even on a server
     that ignores conditions), then a single `PUT` with `If-None-Match: *` (412 →
     `AlreadyExists`), then a HEAD to check that the object holding the key carries
     this write's id. Multipart is used only above 5 GiB here, because RGW 16
     ignores `If-None-Match` on `CompleteMultipartUpload` (measured): a single
     conditional PUT is the one atomic create-if-absent it honours.
   - versioned bucket (Object Lock implies versioning): **the oldest version wins.**
     RGW 16 ignores `If-None-Match` on versioned buckets and writes a new version,
     so after the PUT (or multipart upload) the store lists the key's versions
     (`ListObjectVersions`, the key as prefix; servers list them newest first) and
     the write succeeds only if the oldest is its own; otherwise `AlreadyExists`.
     The losing version stays (the service never deletes; under Object Lock it
     could not), hidden: every read (`open`, `stat`) reads the oldest version by
     its `VersionId`, and `list` lists keys that have a version, so a later version
     or a delete marker put behind the service's back changes nothing it serves.
     `versions(key)` shows them, for audits.
   - versioning suspended: writes are refused (`ArchiveUnavailable`), since a
     second write would replace the "null" version.

4. *Lock.* When the bucket has Object Lock, each object gets the retention of its
   category (`retention.RetentionPolicy`): in the PUT's headers, and — because RGW 16
   and moto drop them on multipart uploads — set again with PutObjectRetention /
   PutObjectLegalHold after a multipart upload. The lock is read back (HEAD); one the
   server did not keep (e.g. RGW wraps a date after 2106 into the past) fails the put.

Staging (`stage`): a file, complete or still arriving, goes up as a multipart upload
in the background (`_StagedUpload`) and is completed at `commit` under steps 3 and 4;
see `stage` for where it does not.

A put that fails leaves no object under the key (an unfinished multipart upload is
aborted). What no client can close: on an *unversioned* bucket whose server ignores
`If-None-Match` (or for a >5 GiB multipart upload there on RGW), two writers racing
past the first HEAD can both write, and the later silently replaces the earlier, which
may already have been told it succeeded; the HEAD after the write narrows this, no
more. Hence production buckets have versioning and Object Lock, where the oldest
version decides and nothing is replaced.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import secrets
import stat as stat_module
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from service.archive.fixity import CHUNK_SIZE, hash_stream, iter_chunks
from service.archive.port import MAX_KEY_BYTES, ArchiveStore, StagedPut, StoredObject, check_key
from service.archive.retention import Lock, Period, RetentionPolicy
from service.domain.errors import AlreadyExists, ArchiveUnavailable, FixityMismatch, ObjectMissing
from service.domain.time import utcnow

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MiB = 1024 * 1024
MAX_SINGLE_PUT = 5 * 1024 * MiB  # S3's limit for one PUT
MIN_PART = 5 * MiB  # S3's smallest part (all but the last)
MAX_PARTS = 10_000  # S3's most parts in one upload
SHA256_META = "sha256"
WRITE_ID_META = "write-id"
NAME_META = "name"
_LOCK_SLACK = timedelta(seconds=1)


@dataclass(frozen=True)
class S3Config:
    """How to reach the bucket; built from settings by the composition root.

    Credentials are not here: boto3 finds them the standard way (AWS_ACCESS_KEY_ID /
    AWS_SECRET_ACCESS_KEY, AWS_PROFILE and the shared files, instance roles)."""

    endpoint_url: str | None = None
    region: str = "us-east-1"
    addressing_style: Literal["path", "virtual", "auto"] = "path"
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 30.0
    max_attempts: int = 3  # in all, the first included
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    multipart_threshold: int = 64 * MiB
    part_size: int = 16 * MiB
    multipart_concurrency: int = 4
    spool_dir: Path | None = None
    retention: RetentionPolicy = field(default_factory=RetentionPolicy)

    def __post_init__(self) -> None:
        if not MIN_PART <= self.part_size <= MAX_SINGLE_PUT:
            raise ValueError(f"S3 part size must be 5 MiB to 5 GiB, not {self.part_size}")
        if self.multipart_concurrency < 1 or self.max_attempts < 1:
            raise ValueError("multipart concurrency and max attempts must be 1 or more")


def make_client(
    config: S3Config, *, access_key: str | None = None, secret_key: str | None = None
) -> Any:
    """A boto3 S3 client with explicit timeouts, retries and addressing. Credentials
    come from boto3's standard chain unless given (tests and the bench give them).

    Checksums only "when required": RGW 16 does not understand the trailing
    `x-amz-checksum-*` that newer SDKs add by default; Content-MD5 does the job."""
    botocore_config = Config(
        region_name=config.region,
        connect_timeout=config.connect_timeout_s,
        read_timeout=config.read_timeout_s,
        retries={"total_max_attempts": config.max_attempts, "mode": config.retry_mode},
        s3={"addressing_style": config.addressing_style},
        max_pool_connections=_pool_size(config),
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    session = boto3.session.Session()
    return session.client(
        "s3",
        endpoint_url=config.endpoint_url,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=botocore_config,
    )


def _pool_size(config: S3Config) -> int:
    return max(10, 2 * config.multipart_concurrency)


@dataclass(frozen=True)
class Version:
    """One version of a key, as `ListObjectVersions` lists it (newest first)."""

    version_id: str
    size: int
    last_modified: datetime


Versions = list[Version]  # `S3Store.list` shadows the builtin inside the class


@dataclass(frozen=True)
class _BucketMode:
    versioning: str | None  # None (never enabled), "Enabled" or "Suspended"
    object_lock: bool

    @property
    def versioned(self) -> bool:
        return self.versioning is not None


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
        self._bucket = bucket
        self._prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._config = config or S3Config()
        self._client = client if client is not None else make_client(self._config)
        self._clock = clock
        self._mode: _BucketMode | None = None
        self._mode_lock = threading.Lock()
        self._signed_payload = (self._config.endpoint_url or "").startswith("http:")
        # Staged uploads' jobs (`_StagedUpload`), shared: it bounds parts in flight.
        self._pool = ThreadPoolExecutor(_pool_size(self._config), thread_name_prefix="s3-stage")

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
        """`absent_checked` skips step 1 of the module docstring (never step 3).
        `expected_sha256`: refuse (`FixityMismatch`) before sending a byte when the source
        hashes otherwise."""
        full = self._full(key)
        with self._translated(key):
            mode = self._bucket_mode()
            if mode.versioning == "Suspended":
                raise self._unavailable("bucket versioning is suspended: write-once cannot hold")
            if not absent_checked and self._holds_object(full, mode):  # before reading a byte
                raise AlreadyExists(key)
        single_up_to = self._config.multipart_threshold if mode.versioned else MAX_SINGLE_PUT
        with _prepared(source, self._config.spool_dir, single_up_to) as body, self._translated(key):
            if expected_sha256 is not None and body.sha256 != expected_sha256:
                raise FixityMismatch(f"{key}: sha256 {body.sha256}, expected {expected_sha256}")
            lock = self._lock_for(key, mode, retention)
            write = _Write(secrets.token_hex(16), body, content_type, lock)
            if body.md5 is not None:
                version_id = self._single(full, write)
            else:
                version_id = self._multipart(full, write)
            self._confirm(key, full, write, version_id, mode)
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
        completed only at `commit` (the module docstring's "oldest version wins" then
        applies); `abort` aborts it, so nothing is ever visible. Elsewhere — an
        unversioned bucket, where RGW 16 ignores `If-None-Match` on completion, or a file
        under one part, where the extra requests cost more than they save — the file is
        `put_new` at `commit`."""
        full = self._full(key)
        if self._mode is not None and self._mode.versioning != "Enabled":
            return _FilePut(self, key, path, sha256, content_type, retention)
        basis = size if size is not None else size_hint or self._config.part_size
        part_size = _stage_part_size(basis, self._config)
        staged = _StagedUpload(
            self, key, full, path, sha256, part_size, size_hint, content_type, retention
        )
        if size is not None:
            staged.seal(size)
        return staged

    def _single(self, full: str, write: _Write) -> str | None:
        body = write.body
        try:
            response = self._client.put_object(
                Bucket=self._bucket,
                Key=full,
                Body=body.reader(0, body.size),
                ContentLength=body.size,
                ContentMD5=body.md5,
                IfNoneMatch="*",
                **write.object_params(full),
                **(write.lock_params()),
            )
        except ClientError as exc:
            if _status(exc) == 412:
                raise AlreadyExists(full.removeprefix(self._prefix)) from None
            raise
        return _version_id(response)

    def _multipart(self, full: str, write: _Write) -> str | None:
        upload_id = self._client.create_multipart_upload(
            Bucket=self._bucket, Key=full, **write.object_params(full), **write.lock_params()
        )["UploadId"]
        try:
            parts = self._upload_parts(full, upload_id, write.body)
            response = self._client.complete_multipart_upload(
                Bucket=self._bucket,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException as exc:
            self._abort(full, upload_id)
            if isinstance(exc, ClientError) and _status(exc) == 412:
                raise AlreadyExists(full.removeprefix(self._prefix)) from None
            raise
        version_id = _version_id(response)
        if write.lock is not None and version_id:
            self._apply_lock(full, version_id, write.lock)
        return version_id

    def _upload_parts(self, full: str, upload_id: str, body: _Body) -> list[dict[str, Any]]:
        part_size = self._config.part_size
        numbers = range(1, max(1, -(-body.size // part_size)) + 1)
        with ThreadPoolExecutor(self._config.multipart_concurrency) as pool:
            return list(
                pool.map(lambda n: self._upload_part(full, upload_id, body, n, part_size), numbers)
            )

    def _upload_part(
        self, full: str, upload_id: str, body: _Body, number: int, part_size: int
    ) -> dict[str, Any]:
        offset, length = body.part_range(number, part_size)
        response = self._client.upload_part(
            Bucket=self._bucket,
            Key=full,
            UploadId=upload_id,
            PartNumber=number,
            Body=body.reader(offset, length),
            ContentLength=length,
            **self._part_checksum(body.md5_of, offset, length),
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def _part_checksum(
        self, md5_of: Callable[[int, int], str], offset: int, length: int
    ) -> dict[str, str]:
        """Content-MD5 for a part, unless the payload is signed: over plain http SigV4
        sends each body's SHA-256, which the server checks (RGW answers a body changed
        after signing with XAmzContentSHA256Mismatch), so the MD5 would be a second
        hash of the same bytes. Parts carry no Object Lock headers, which need one."""
        return {} if self._signed_payload else {"ContentMD5": md5_of(offset, length)}

    def _abort(self, full: str, upload_id: str) -> None:
        # Best effort: the upload was never completed, so no object is visible either way.
        with suppress(BotoCoreError, ClientError):
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=full, UploadId=upload_id)

    def _apply_lock(self, full: str, version_id: str, lock: Lock) -> None:
        retention = {"Mode": lock.mode, "RetainUntilDate": lock.retain_until}
        self._client.put_object_retention(
            Bucket=self._bucket, Key=full, VersionId=version_id, Retention=retention
        )
        if lock.legal_hold:
            self._client.put_object_legal_hold(
                Bucket=self._bucket, Key=full, VersionId=version_id, LegalHold={"Status": "ON"}
            )

    def _confirm(
        self, key: str, full: str, write: _Write, version_id: str | None, mode: _BucketMode
    ) -> None:
        """Succeed only if the object now holding `key` is this write's (module docstring)."""
        head = None
        if mode.versioned:
            versions = self._versions(full)
            if versions and version_id and versions[-1].version_id != version_id:
                raise AlreadyExists(key)  # an older version holds the key: we lost
            if versions:
                head = self._head(full, versions[-1].version_id)
        else:
            head = self._head(full, None)
        if head is None:
            raise self._unavailable(f"{key}: the object just written is not there")
        if head.get("Metadata", {}).get(WRITE_ID_META) != write.write_id:
            raise AlreadyExists(key)  # another write holds the key
        if head["ContentLength"] != write.body.size:
            raise self._unavailable(f"{key}: the store holds a different size than was sent")
        if write.lock is not None:
            self._check_lock(key, head, write.lock)

    def _check_lock(self, key: str, head: Mapping[str, Any], lock: Lock) -> None:
        kept = head.get("ObjectLockMode") == lock.mode and (
            head.get("ObjectLockRetainUntilDate") is not None
            and head["ObjectLockRetainUntilDate"] >= lock.retain_until - _LOCK_SLACK
        )
        if lock.legal_hold and head.get("ObjectLockLegalHoldStatus") != "ON":
            kept = False
        if not kept:
            found = {k: str(v) for k, v in head.items() if k.startswith("ObjectLock")}
            raise self._unavailable(
                f"{key}: the store did not keep the Object Lock asked for "
                f"({lock.mode} until {lock.retain_until.isoformat()}, legal hold "
                f"{'on' if lock.legal_hold else 'off'}); it holds {found}"
            )

    def _lock_for(self, key: str, mode: _BucketMode, period: Period | None) -> Lock | None:
        if not mode.object_lock:
            return None
        return self._config.retention.lock_for(key, self._clock(), period)

    # -- reading --------------------------------------------------------------

    def open(self, key: str) -> BinaryIO:
        """The object (the oldest version, on a versioned bucket) as a binary stream."""
        full = self._full(key)
        with self._translated(key):
            version_id = self._readable_version(key, full)
            params = {"VersionId": version_id} if version_id else {}
            try:
                response = self._client.get_object(Bucket=self._bucket, Key=full, **params)
            except ClientError as exc:
                if _status(exc) == 404:
                    raise ObjectMissing(key) from None
                raise
        download = _Download(response["Body"], self, key)
        return io.BufferedReader(download, buffer_size=CHUNK_SIZE)

    def stat(self, key: str) -> StoredObject | None:
        full = self._full(key)
        with self._translated(key):
            try:
                version_id = self._readable_version(key, full)
            except ObjectMissing:
                return None
            head = self._head(full, version_id)
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
        with self._translated(prefix):
            versioned = self._bucket_mode().versioned
            operation = "list_object_versions" if versioned else "list_objects_v2"
            pages = self._client.get_paginator(operation).paginate(
                Bucket=self._bucket, Prefix=self._prefix + prefix
            )
            last = None
            for page in pages:
                for entry in page.get("Versions" if versioned else "Contents", []):
                    key = entry["Key"].removeprefix(self._prefix)
                    if key != last and _is_valid(key):
                        last = key
                        yield key

    def unfinished(self, before: datetime) -> Iterator[tuple[str, datetime]]:
        """Multipart uploads begun before `before` and neither completed nor aborted."""
        with self._translated(self._prefix):
            pages = self._client.get_paginator("list_multipart_uploads").paginate(
                Bucket=self._bucket, Prefix=self._prefix
            )
            for page in pages:
                for upload in page.get("Uploads", []):
                    if upload["Initiated"] < before:
                        yield upload["Key"].removeprefix(self._prefix), upload["Initiated"]

    def versions(self, key: str) -> Versions:
        """Every version of `key`, newest first: more than one means a lost race or a
        write behind the service's back (the service serves the last: the oldest)."""
        full = self._full(key)
        with self._translated(key):
            return self._versions(full) if self._bucket_mode().versioned else []

    def _readable_version(self, key: str, full: str) -> str | None:
        """The version every read reads: the oldest (None on an unversioned bucket)."""
        if not self._bucket_mode().versioned:
            return None
        versions = self._versions(full)
        if not versions:
            raise ObjectMissing(key)
        return versions[-1].version_id

    def _versions(self, full: str) -> Versions:
        """Versions of exactly `full`, newest first (the listing's order, not timestamps,
        which RGW and moto round to 1 ms and 1 s)."""
        found: Versions = []
        pages = self._client.get_paginator("list_object_versions").paginate(
            Bucket=self._bucket, Prefix=full
        )
        for page in pages:
            for entry in page.get("Versions", []):
                if entry["Key"] != full:  # `full` sorts before every longer key
                    return found
                found.append(Version(entry["VersionId"], entry["Size"], entry["LastModified"]))
        return found

    def _holds_object(self, full: str, mode: _BucketMode) -> bool:
        if mode.versioned:
            return bool(self._versions(full))
        return self._head(full, None) is not None

    def _head(self, full: str, version_id: str | None) -> dict[str, Any] | None:
        params = {"VersionId": version_id} if version_id else {}
        try:
            head: dict[str, Any] = self._client.head_object(Bucket=self._bucket, Key=full, **params)
        except ClientError as exc:
            if _status(exc) == 404:
                return None
            raise
        return head

    # -- health ---------------------------------------------------------------

    def describe(self) -> str:
        where = self._config.endpoint_url or "AWS"
        return f"s3://{self._bucket}/{self._prefix} at {where}"

    def check(self) -> None:
        """Reachable, the bucket there, and its versioning and Object Lock read again
        (they are otherwise read once, at first use)."""
        with self._translated(""):
            self._client.head_bucket(Bucket=self._bucket)
            self._bucket_mode(refresh=True)

    def _bucket_mode(self, *, refresh: bool = False) -> _BucketMode:
        with self._mode_lock:
            if self._mode is None or refresh:
                versioning = self._client.get_bucket_versioning(Bucket=self._bucket)
                self._mode = _BucketMode(versioning.get("Status"), self._has_object_lock())
            return self._mode

    def _has_object_lock(self) -> bool:
        try:
            config = self._client.get_object_lock_configuration(Bucket=self._bucket)
        except ClientError as exc:
            if _code(exc) == "ObjectLockConfigurationNotFoundError" or _status(exc) == 404:
                return False
            raise
        return bool(config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled")

    # -- helpers --------------------------------------------------------------

    def _full(self, key: str) -> str:
        full = self._prefix + check_key(key)
        if len(full.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"archive key with the store's prefix is over {MAX_KEY_BYTES} bytes")
        return full

    def _unavailable(self, error: str, **detail: Any) -> ArchiveUnavailable:
        return ArchiveUnavailable(detail={"store": self.describe(), "error": error, **detail})

    @contextmanager
    def _translated(self, key: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            raise self._unavailable(
                f"{_code(exc)} (HTTP {_status(exc)})", key=key, operation=exc.operation_name
            ) from exc
        except BotoCoreError as exc:
            raise self._unavailable(str(exc), key=key) from exc


@dataclass(frozen=True)
class _Write:
    write_id: str
    body: _Body
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


@dataclass
class _FilePut:
    """A `StagedPut` that `put_new`s the file at `commit`, checked before it is sent."""

    store: S3Store
    key: str
    path: Path
    sha256: str
    content_type: str | None
    retention: Period | None

    def grown(self, size: int) -> None:
        pass

    def seal(self, size: int) -> None:
        pass

    def commit(self) -> StoredObject:
        with self.path.open("rb") as source:
            return self.store.put_new(
                self.key,
                source,
                content_type=self.content_type,
                retention=self.retention,
                expected_sha256=self.sha256,
            )

    def abort(self) -> None:
        pass


def _stage_part_size(size: int, config: S3Config) -> int:
    """Parts spread over the concurrent uploads: 5 MiB to `part_size` each, and no more
    than S3's 10 000 parts."""
    spread = -(-size // config.multipart_concurrency)
    return max(MIN_PART, min(config.part_size, spread), -(-size // MAX_PARTS))


@dataclass(frozen=True)
class _Upload:
    upload_id: str
    write: _Write
    mode: _BucketMode


@dataclass(frozen=True)
class _Part:
    number: int
    offset: int
    length: int
    md5: Future[str | None]


class _StagedUpload:
    """A multipart upload sent in the background while its file is still being written.

    Each time the file holds another full part (`grown`, `seal`), the part's MD5 (where
    needed) is computed; the first part also starts the upload's creation (after the
    same early refusal as `put_new`, on a versioned bucket only), and once it exists
    each part goes up. `seal` also starts one more SHA-256 of the file, as sent. A file
    sealed under one part, or on an unversioned bucket, is `put_new` at `commit`.
    Nothing is visible until `commit` completes the upload; `abort` aborts it.

    All of it runs on the store's shared pool, where a job only ever waits for a job
    submitted before it: since the pool starts jobs in order, that one has started,
    ended or been cancelled (by `abort`, and then waiting raises at once), so the pool
    cannot deadlock however many uploads share it."""

    def __init__(
        self,
        store: S3Store,
        key: str,
        full: str,
        path: Path,
        sha256: str,
        part_size: int,
        size_hint: int | None,
        content_type: str | None,
        retention: Period | None,
    ) -> None:
        self.key = key
        self._store = store
        self._full = full
        self._path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._body = _Body(0, sha256, None, partial(_file_range, self._fd, 0))
        self._content_type = content_type
        self._retention = retention
        self._part_size = part_size
        self._lock = threading.RLock()  # a done-callback may run at once, in the submitter
        self._all_sent = threading.Condition(self._lock)
        self._parts: list[_Part] = []
        self._unsent: deque[_Part] = deque()
        self._in_flight = 0
        self._send_failed = False
        self._queued = 0  # bytes given to parts
        self._taken: Future[bool] | None = None
        self._created: Future[_Upload | None] | None = None
        self._upload: _Upload | None = None
        self._sends: list[Future[dict[str, Any]]] = []
        self._hashed: Future[str] | None = None
        self._sealed = False
        self._settled = False
        if size_hint is not None and size_hint >= MIN_PART:
            with self._lock:
                self._start_upload()  # its round trips while the first part arrives

    def grown(self, size: int) -> None:
        with self._lock:
            while not self._settled and size - self._queued >= self._part_size:
                self._queue_part(self._part_size)

    def seal(self, size: int) -> None:
        with self._lock:
            if self._sealed or self._settled:
                return
            if self._parts or size >= MIN_PART:
                while size > self._queued:
                    self._queue_part(min(self._part_size, size - self._queued))
            self._sealed = True
            self._body.size = size
            if self._parts:
                self._hashed = self._store._pool.submit(
                    lambda: hash_stream(self._body.reader(0, size))[0]
                )

    def commit(self) -> StoredObject:
        try:
            with self._store._translated(self.key):
                if not self._sealed or self._settled:
                    raise RuntimeError(f"{self.key}: the staged put is unsealed or settled")
                if not self._parts:  # under a part: an upload created for the hint goes
                    return self._put_whole()
                upload = self._created.result() if self._created is not None else None
                if upload is None:  # not a versioned bucket
                    return self._put_whole()
                stored = self._complete(upload, self._parts_sent())
        except BaseException:
            self.abort()
            raise
        self._close()
        return stored

    def abort(self) -> None:
        with self._lock:
            if self._settled:
                return
            self._settled = True  # no upload is created, no part queued or sent after this
        self._stop_jobs()
        self._abort_upload()
        self._close()

    def _stop_jobs(self) -> None:
        """Cancel what has not started and wait for the rest, so that no job reads the
        file descriptor after `_close` (its number could by then name another file)."""
        jobs: list[Future[Any]] = [p.md5 for p in self._parts]
        for job in (self._taken, self._created, self._hashed):
            if job is not None:
                jobs.append(job)
        for job in jobs:
            job.cancel()
        wait(jobs)  # the creation among them: no upload appears after this
        with self._lock:
            self._unsent.clear()
            sends = list(self._sends)
        for send in sends:
            send.cancel()
        wait(sends)

    def _abort_upload(self) -> None:
        """Abort the upload if one was created, whatever became of the job creating it."""
        with self._lock:
            upload = self._upload
        if upload is not None:
            self._store._abort(self._full, upload.upload_id)

    # -- in the caller's thread, under the lock --

    def _queue_part(self, length: int) -> None:
        store = self._store
        offset = self._queued
        self._queued += length
        md5: Future[str | None] = store._pool.submit(self._md5_of, offset, length)
        part = _Part(len(self._parts) + 1, offset, length, md5)
        self._parts.append(part)
        self._unsent.append(part)
        if self._created is None:
            self._start_upload()
        self._dispatch()

    def _dispatch(self) -> None:
        """Send queued parts, no more than `multipart_concurrency` at a time (each holds
        buffers while it is signed and sent); each one sent makes room for the next."""
        limit = self._store._config.multipart_concurrency
        while (
            self._upload is not None
            and self._unsent
            and self._in_flight < limit
            and not (self._settled or self._send_failed)
        ):
            part = self._unsent.popleft()
            self._in_flight += 1
            send = self._store._pool.submit(self._send, self._upload.upload_id, part)
            self._sends.append(send)
            send.add_done_callback(self._sent)

    def _sent(self, send: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._in_flight -= 1
            if send.cancelled() or send.exception() is not None:
                self._send_failed = True
            self._dispatch()
            self._all_sent.notify_all()

    def _start_upload(self) -> None:
        """The early refusal, then the creation, which waits for it: submitted in this
        order, so that no job waits for one submitted after it."""
        store = self._store

        def taken() -> bool:
            mode = store._bucket_mode()
            return mode.versioned and store._holds_object(self._full, mode)

        self._taken = store._pool.submit(taken)
        self._created = store._pool.submit(self._create)

    # -- on the pool --

    def _md5_of(self, offset: int, length: int) -> str | None:
        return None if self._store._signed_payload else self._body.md5_of(offset, length)

    def _create(self) -> _Upload | None:
        store = self._store
        with store._translated(self.key):
            mode = store._bucket_mode()
            if mode.versioning != "Enabled":  # one PUT at commit, or put_new's refusal
                return None
            with self._lock:
                if self._settled:
                    return None
            write = _Write(
                secrets.token_hex(16),
                self._body,
                self._content_type,
                store._lock_for(self.key, mode, self._retention),
            )
            response = store._client.create_multipart_upload(
                Bucket=store._bucket,
                Key=self._full,
                **write.object_params(self._full),
                **write.lock_params(),
            )
            upload = _Upload(str(response["UploadId"]), write, mode)
            with self._lock:
                self._upload = upload  # from here on, abort() aborts it
                self._dispatch()
            assert self._taken is not None
            if self._taken.result():
                raise AlreadyExists(self.key)
        return upload

    def _send(self, upload_id: str, part: _Part) -> dict[str, Any]:
        store = self._store
        md5 = part.md5.result()
        response = store._client.upload_part(
            Bucket=store._bucket,
            Key=self._full,
            UploadId=upload_id,
            PartNumber=part.number,
            Body=self._body.reader(part.offset, part.length),
            ContentLength=part.length,
            **({"ContentMD5": md5} if md5 is not None else {}),
        )
        return {"PartNumber": part.number, "ETag": response["ETag"]}

    # -- committing --

    def _put_whole(self) -> StoredObject:
        with self._lock:
            self._settled = True
        self._stop_jobs()
        self._abort_upload()  # one, if the size hint promised a part at least
        self._close()
        with self._path.open("rb") as source:
            return self._store.put_new(
                self.key,
                source,
                content_type=self._content_type,
                retention=self._retention,
                expected_sha256=self._body.sha256,
            )

    def _parts_sent(self) -> list[dict[str, Any]]:
        """Wait for every part to be sent; the first failure is raised. Then the file's
        hash as sent must be the one given."""
        with self._lock:
            self._all_sent.wait_for(
                lambda: self._in_flight == 0 and (self._send_failed or not self._unsent)
            )
            sends = list(self._sends)
        parts = sorted((send.result() for send in sends), key=lambda p: int(p["PartNumber"]))
        assert self._hashed is not None
        if (found := self._hashed.result()) != self._body.sha256:
            raise FixityMismatch(f"{self.key}: sha256 {found}, expected {self._body.sha256}")
        return parts

    def _complete(self, upload: _Upload, parts: list[dict[str, Any]]) -> StoredObject:
        store, body, write = self._store, self._body, upload.write
        try:
            response = store._client.complete_multipart_upload(
                Bucket=store._bucket,
                Key=self._full,
                UploadId=upload.upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except ClientError as exc:
            if _status(exc) == 412:
                raise AlreadyExists(self.key) from None
            raise
        version_id = _version_id(response)
        if write.lock is not None and version_id:
            store._apply_lock(self._full, version_id, write.lock)
        store._confirm(self.key, self._full, write, version_id, upload.mode)
        return StoredObject(key=self.key, size=body.size, sha256=body.sha256)

    def _close(self) -> None:
        self._settled = True
        with suppress(OSError):
            os.close(self._fd)


# -- the spooled, hashed body of one put ----------------------------------------------

MEMORY_BODY_MAX = 8 * MiB  # a BytesIO up to this size is read where it is, not spooled


@dataclass
class _Body:
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
        return _b64(digest.digest())


class _Hashes:
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

    def body(self, opener: Callable[[int, int], BinaryIO]) -> _Body:
        md5 = _b64(self.md5.digest()) if self.md5 is not None else None
        return _Body(self.size, self.sha256.hexdigest(), md5, opener)


@contextmanager
def _prepared(source: BinaryIO, spool_dir: Path | None, single_up_to: int) -> Iterator[_Body]:
    """Hash `source` where it is if it is a regular file or a small BytesIO, else spool
    it to a temp file while hashing. The source's own errors pass untouched."""
    fd, start = _regular_file(source)
    if fd is not None:
        hashes = _Hashes(single_up_to if os.fstat(fd).st_size - start <= single_up_to else -1)
        for chunk in _pread_chunks(fd, start):
            hashes.update(chunk)
        yield hashes.body(partial(_file_range, fd, start))
        source.seek(start + hashes.size)
    elif isinstance(source, io.BytesIO) and len(source.getbuffer()) <= MEMORY_BODY_MAX:
        data = source.read()
        hashes = _Hashes(single_up_to)
        hashes.update(data)
        yield hashes.body(lambda offset, length: io.BytesIO(data[offset : offset + length]))
    else:
        with _spooled(source, spool_dir, _Hashes(single_up_to)) as body:
            yield body


@contextmanager
def _spooled(source: BinaryIO, spool_dir: Path | None, hashes: _Hashes) -> Iterator[_Body]:
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
        yield hashes.body(partial(_file_range, spool.fileno(), 0))


def _regular_file(source: BinaryIO) -> tuple[int | None, int]:
    try:
        fd = source.fileno()
        if source.seekable() and stat_module.S_ISREG(os.fstat(fd).st_mode):
            return fd, source.tell()
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        pass
    return None, 0


def _pread_chunks(fd: int, offset: int) -> Iterator[bytes]:
    while chunk := os.pread(fd, CHUNK_SIZE, offset):
        offset += len(chunk)
        yield chunk


def _file_range(fd: int, start: int, offset: int, length: int) -> BinaryIO:
    return cast(BinaryIO, _Range(fd, start + offset, length))


class _Range(io.RawIOBase):
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


class _Download(io.RawIOBase):
    """An object's body as it streams from S3, with the SDK's errors translated."""

    def __init__(self, body: Any, store: S3Store, key: str) -> None:
        super().__init__()
        self._body = body
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as target:
            try:
                data = self._body.read(len(target))
            except (BotoCoreError, ClientError, OSError) as exc:
                raise self._store._unavailable(str(exc), key=self._key) from exc
            target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _version_id(response: Mapping[str, Any]) -> str | None:
    version_id = response.get("VersionId")
    return str(version_id) if version_id and version_id != "null" else None


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _status(exc: ClientError) -> int | None:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return int(status) if status is not None else None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


def _is_valid(key: str) -> bool:
    try:
        check_key(key)
    except ValueError:
        return False
    return True
