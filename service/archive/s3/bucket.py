"""`Bucket`: the requests the store makes of one bucket under a prefix — write-once
(the package docstring's steps 1, 3 and 4), versions, heads — and the translation of
every SDK error into ours."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from service.archive.port import MAX_KEY_BYTES, check_key
from service.archive.retention import Lock, Period
from service.archive.s3.bodies import Body, Write
from service.archive.s3.config import (
    WRITE_ID_META,
    BucketMode,
    S3Config,
    Version,
    code,
    status,
    version_id,
)
from service.domain.errors import AlreadyExists, ArchiveUnavailable, ObjectMissing

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_LOCK_SLACK = timedelta(seconds=1)


class Bucket:
    def __init__(
        self,
        name: str,
        prefix: str,
        config: S3Config,
        client: Any,
        clock: Callable[[], datetime],
    ) -> None:
        self.name = name
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.config = config
        self.client = client
        self._clock = clock
        self._mode: BucketMode | None = None
        self._mode_lock = threading.Lock()
        # Over plain http SigV4 signs each body's SHA-256, which the server checks.
        self.signed_payload = (config.endpoint_url or "").startswith("http:")
        # Staged uploads' jobs (staged.StagedUpload), shared: it bounds parts in flight.
        self.pool = ThreadPoolExecutor(config.pool_size, thread_name_prefix="s3-stage")

    # -- keys, errors, the bucket's mode ------------------------------------------

    def full(self, key: str) -> str:
        full = self.prefix + check_key(key)
        if len(full.encode()) > MAX_KEY_BYTES:
            raise ValueError(f"archive key with the store's prefix is over {MAX_KEY_BYTES} bytes")
        return full

    def describe(self) -> str:
        where = self.config.endpoint_url or "AWS"
        return f"s3://{self.name}/{self.prefix} at {where}"

    def unavailable(self, error: str, **detail: Any) -> ArchiveUnavailable:
        return ArchiveUnavailable(detail={"store": self.describe(), "error": error, **detail})

    @contextmanager
    def translated(self, key: str) -> Iterator[None]:
        try:
            yield
        except ClientError as exc:
            raise self.unavailable(
                f"{code(exc)} (HTTP {status(exc)})", key=key, operation=exc.operation_name
            ) from exc
        except BotoCoreError as exc:
            raise self.unavailable(str(exc), key=key) from exc

    def known_mode(self) -> BucketMode | None:
        """The mode if it has been read, without a request."""
        return self._mode

    def mode(self, *, refresh: bool = False) -> BucketMode:
        with self._mode_lock:
            if self._mode is None or refresh:
                versioning = self.client.get_bucket_versioning(Bucket=self.name)
                self._mode = BucketMode(versioning.get("Status"), self._has_object_lock())
            return self._mode

    def _has_object_lock(self) -> bool:
        try:
            config = self.client.get_object_lock_configuration(Bucket=self.name)
        except ClientError as exc:
            if code(exc) == "ObjectLockConfigurationNotFoundError" or status(exc) == 404:
                return False
            raise
        return bool(config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled")

    # -- what a key holds ------------------------------------------------------------

    def versions(self, full: str) -> list[Version]:
        """Versions of exactly `full`, newest first (the listing's order, not timestamps,
        which RGW and moto round to 1 ms and 1 s)."""
        found: list[Version] = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.name, Prefix=full
        )
        for page in pages:
            for entry in page.get("Versions", []):
                if entry["Key"] != full:  # `full` sorts before every longer key
                    return found
                found.append(Version(entry["VersionId"], entry["Size"], entry["LastModified"]))
        return found

    def overwrites(self, full: str) -> tuple[str, ...]:
        """Every version of exactly `full` but the oldest (the archived one), and every
        delete marker, newest first."""
        found: list[tuple[datetime, str]] = []
        pages = self.client.get_paginator("list_object_versions").paginate(
            Bucket=self.name, Prefix=full
        )
        for page in pages:
            versions = [v for v in page.get("Versions", []) if v["Key"] == full]
            markers = [m for m in page.get("DeleteMarkers", []) if m["Key"] == full]
            found += [(v["LastModified"], f"version {v['VersionId']}") for v in versions]
            found += [(m["LastModified"], f"delete marker {m['VersionId']}") for m in markers]
        if not found:
            return ()
        found.sort(reverse=True)
        archived = min((at, what) for at, what in found if what.startswith("version"))
        return tuple(f"{what} at {at.isoformat()}" for at, what in found if (at, what) != archived)

    def readable_version(self, key: str, full: str) -> str | None:
        """The version every read reads: the oldest (None on an unversioned bucket)."""
        if not self.mode().versioned:
            return None
        versions = self.versions(full)
        if not versions:
            raise ObjectMissing(key)
        return versions[-1].version_id

    def holds_object(self, full: str, mode: BucketMode) -> bool:
        if mode.versioned:
            return bool(self.versions(full))
        return self.head(full, None) is not None

    def head(self, full: str, version: str | None) -> dict[str, Any] | None:
        params = {"VersionId": version} if version else {}
        try:
            head: dict[str, Any] = self.client.head_object(Bucket=self.name, Key=full, **params)
        except ClientError as exc:
            if status(exc) == 404:
                return None
            raise
        return head

    # -- writing once ----------------------------------------------------------------

    def put_single(self, full: str, write: Write) -> str | None:
        body = write.body
        try:
            response = self.client.put_object(
                Bucket=self.name,
                Key=full,
                Body=body.reader(0, body.size),
                ContentLength=body.size,
                ContentMD5=body.md5,
                IfNoneMatch="*",
                **write.object_params(full),
                **(write.lock_params()),
            )
        except ClientError as exc:
            if status(exc) == 412:
                raise AlreadyExists(full.removeprefix(self.prefix)) from None
            raise
        return version_id(response)

    def put_multipart(self, full: str, write: Write) -> str | None:
        upload_id = self.client.create_multipart_upload(
            Bucket=self.name, Key=full, **write.object_params(full), **write.lock_params()
        )["UploadId"]
        try:
            parts = self._upload_parts(full, upload_id, write.body)
        except BaseException:
            self.abort_upload(full, upload_id)
            raise
        return self.complete(full, upload_id, parts, write)

    def complete(
        self, full: str, upload_id: str, parts: list[dict[str, Any]], write: Write
    ) -> str | None:
        """Complete a multipart upload (aborted if that fails) and lock what it made."""
        try:
            response = self.client.complete_multipart_upload(
                Bucket=self.name,
                Key=full,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException as exc:
            self.abort_upload(full, upload_id)
            if isinstance(exc, ClientError) and status(exc) == 412:
                raise AlreadyExists(full.removeprefix(self.prefix)) from None
            raise
        version = version_id(response)
        if write.lock is not None and version:
            self._apply_lock(full, version, write.lock)
        return version

    def _upload_parts(self, full: str, upload_id: str, body: Body) -> list[dict[str, Any]]:
        part_size = self.config.part_size
        numbers = range(1, max(1, -(-body.size // part_size)) + 1)
        with ThreadPoolExecutor(self.config.multipart_concurrency) as pool:
            return list(
                pool.map(lambda n: self._upload_part(full, upload_id, body, n, part_size), numbers)
            )

    def _upload_part(
        self, full: str, upload_id: str, body: Body, number: int, part_size: int
    ) -> dict[str, Any]:
        offset, length = body.part_range(number, part_size)
        md5 = None if self.signed_payload else body.md5_of(offset, length)
        return self.upload_part(full, upload_id, number, body.reader(offset, length), length, md5)

    def upload_part(
        self, full: str, upload_id: str, number: int, data: Any, length: int, md5: str | None
    ) -> dict[str, Any]:
        """Content-MD5 goes with a part unless the payload is signed (`md5` None then):
        SigV4's SHA-256, which the server checks, would make it a second hash of the
        same bytes. Parts carry no Object Lock headers, which need one."""
        response = self.client.upload_part(
            Bucket=self.name,
            Key=full,
            UploadId=upload_id,
            PartNumber=number,
            Body=data,
            ContentLength=length,
            **({"ContentMD5": md5} if md5 is not None else {}),
        )
        return {"PartNumber": number, "ETag": response["ETag"]}

    def create_upload(self, full: str, write: Write) -> str:
        response = self.client.create_multipart_upload(
            Bucket=self.name, Key=full, **write.object_params(full), **write.lock_params()
        )
        return str(response["UploadId"])

    def abort_upload(self, full: str, upload_id: str) -> None:
        # Best effort: the upload was never completed, so no object is visible either way.
        with suppress(BotoCoreError, ClientError):
            self.client.abort_multipart_upload(Bucket=self.name, Key=full, UploadId=upload_id)

    def _apply_lock(self, full: str, version: str, lock: Lock) -> None:
        retention = {"Mode": lock.mode, "RetainUntilDate": lock.retain_until}
        self.client.put_object_retention(
            Bucket=self.name, Key=full, VersionId=version, Retention=retention
        )
        if lock.legal_hold:
            self.client.put_object_legal_hold(
                Bucket=self.name, Key=full, VersionId=version, LegalHold={"Status": "ON"}
            )

    def lock_for(self, key: str, mode: BucketMode, period: Period | None) -> Lock | None:
        if not mode.object_lock:
            return None
        return self.config.retention.lock_for(key, self._clock(), period)

    def confirm(
        self, key: str, full: str, write: Write, version: str | None, mode: BucketMode
    ) -> None:
        """Succeed only if the object now holding `key` is this write's (package docstring)."""
        head = None
        if mode.versioned:
            versions = self.versions(full)
            if versions and version and versions[-1].version_id != version:
                raise AlreadyExists(key)  # an older version holds the key: we lost
            if versions:
                head = self.head(full, versions[-1].version_id)
        else:
            head = self.head(full, None)
        if head is None:
            raise self.unavailable(f"{key}: the object just written is not there")
        if head.get("Metadata", {}).get(WRITE_ID_META) != write.write_id:
            raise AlreadyExists(key)  # another write holds the key
        if head["ContentLength"] != write.body.size:
            raise self.unavailable(f"{key}: the store holds a different size than was sent")
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
            raise self.unavailable(
                f"{key}: the store did not keep the Object Lock asked for "
                f"({lock.mode} until {lock.retain_until.isoformat()}, legal hold "
                f"{'on' if lock.legal_hold else 'off'}); it holds {found}"
            )


class Download(io.RawIOBase):
    """An object's body as it streams from S3, with the SDK's errors translated."""

    def __init__(self, body: Any, bucket: Bucket, key: str) -> None:
        super().__init__()
        self._body = body
        self._bucket = bucket
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        with memoryview(buffer) as view, view.cast("B") as target:
            try:
                data = self._body.read(len(target))
            except (BotoCoreError, ClientError, OSError) as exc:
                raise self._bucket.unavailable(str(exc), key=self._key) from exc
            target[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
