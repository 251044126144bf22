"""Staged writes (`ArchiveStore.stage`): a file, complete or still arriving, sent as a
multipart upload in the background and completed only at `commit` (`StagedUpload`);
or, where that does not pay or cannot hold, `put_new` at `commit` (`FilePut`)."""

from __future__ import annotations

import os
import secrets
import threading
from collections import deque
from concurrent.futures import Future, wait
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from service.archive.fixity import hash_stream
from service.archive.port import StoredObject
from service.archive.retention import Period
from service.archive.s3.bodies import Body, Write, file_range
from service.archive.s3.bucket import Bucket
from service.archive.s3.config import MAX_PARTS, MIN_PART, BucketMode, S3Config
from service.domain.errors import AlreadyExists, FixityMismatch


class PutNew(Protocol):
    def __call__(
        self,
        key: str,
        source: BinaryIO,
        *,
        content_type: str | None = None,
        retention: Period | None = None,
        expected_sha256: str | None = None,
    ) -> StoredObject: ...


@dataclass
class FilePut:
    """A `StagedPut` that `put_new`s the file at `commit`, checked before it is sent."""

    put_new: PutNew
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
            return self.put_new(
                self.key,
                source,
                content_type=self.content_type,
                retention=self.retention,
                expected_sha256=self.sha256,
            )

    def abort(self) -> None:
        pass


def stage_part_size(size: int, config: S3Config) -> int:
    """Parts spread over the concurrent uploads: 5 MiB to `part_size` each, and no more
    than S3's 10 000 parts."""
    spread = -(-size // config.multipart_concurrency)
    return max(MIN_PART, min(config.part_size, spread), -(-size // MAX_PARTS))


@dataclass(frozen=True)
class Upload:
    upload_id: str
    write: Write
    mode: BucketMode


@dataclass(frozen=True)
class Part:
    number: int
    offset: int
    length: int
    md5: Future[str | None]


class StagedUpload:
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
        bucket: Bucket,
        put_new: PutNew,
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
        self._bucket = bucket
        self._put_new = put_new
        self._full = full
        self._path = path
        self._fd = os.open(path, os.O_RDONLY)
        self._body = Body(0, sha256, None, partial(file_range, self._fd, 0))
        self._content_type = content_type
        self._retention = retention
        self._part_size = part_size
        self._lock = threading.RLock()  # a done-callback may run at once, in the submitter
        self._all_sent = threading.Condition(self._lock)
        self._parts: list[Part] = []
        self._unsent: deque[Part] = deque()
        self._in_flight = 0
        self._send_failed = False
        self._queued = 0  # bytes given to parts
        self._taken: Future[bool] | None = None
        self._created: Future[Upload | None] | None = None
        self._upload: Upload | None = None
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
                self._hashed = self._bucket.pool.submit(
                    lambda: hash_stream(self._body.reader(0, size))[0]
                )

    def commit(self) -> StoredObject:
        try:
            with self._bucket.translated(self.key):
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
            self._bucket.abort_upload(self._full, upload.upload_id)

    # -- in the caller's thread, under the lock --

    def _queue_part(self, length: int) -> None:
        offset = self._queued
        self._queued += length
        md5: Future[str | None] = self._bucket.pool.submit(self._md5_of, offset, length)
        part = Part(len(self._parts) + 1, offset, length, md5)
        self._parts.append(part)
        self._unsent.append(part)
        if self._created is None:
            self._start_upload()
        self._dispatch()

    def _dispatch(self) -> None:
        """Send queued parts, no more than `multipart_concurrency` at a time (each holds
        buffers while it is signed and sent); each one sent makes room for the next."""
        limit = self._bucket.config.multipart_concurrency
        while (
            self._upload is not None
            and self._unsent
            and self._in_flight < limit
            and not (self._settled or self._send_failed)
        ):
            part = self._unsent.popleft()
            self._in_flight += 1
            send = self._bucket.pool.submit(self._send, self._upload.upload_id, part)
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
        bucket = self._bucket

        def taken() -> bool:
            mode = bucket.mode()
            return mode.versioned and bucket.holds_object(self._full, mode)

        self._taken = bucket.pool.submit(taken)
        self._created = bucket.pool.submit(self._create)

    # -- on the pool --

    def _md5_of(self, offset: int, length: int) -> str | None:
        return None if self._bucket.signed_payload else self._body.md5_of(offset, length)

    def _create(self) -> Upload | None:
        bucket = self._bucket
        with bucket.translated(self.key):
            mode = bucket.mode()
            if mode.versioning != "Enabled":  # one PUT at commit, or put_new's refusal
                return None
            with self._lock:
                if self._settled:
                    return None
            write = Write(
                secrets.token_hex(16),
                self._body,
                self._content_type,
                bucket.lock_for(self.key, mode, self._retention),
            )
            upload = Upload(bucket.create_upload(self._full, write), write, mode)
            with self._lock:
                self._upload = upload  # from here on, abort() aborts it
                self._dispatch()
            assert self._taken is not None
            if self._taken.result():
                raise AlreadyExists(self.key)
        return upload

    def _send(self, upload_id: str, part: Part) -> dict[str, Any]:
        data = self._body.reader(part.offset, part.length)
        return self._bucket.upload_part(
            self._full, upload_id, part.number, data, part.length, part.md5.result()
        )

    # -- committing --

    def _put_whole(self) -> StoredObject:
        with self._lock:
            self._settled = True
        self._stop_jobs()
        self._abort_upload()  # one, if the size hint promised a part at least
        self._close()
        with self._path.open("rb") as source:
            return self._put_new(
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

    def _complete(self, upload: Upload, parts: list[dict[str, Any]]) -> StoredObject:
        body, write = self._body, upload.write
        version = self._bucket.complete(self._full, upload.upload_id, parts, write)
        self._bucket.confirm(self.key, self._full, write, version, upload.mode)
        return StoredObject(key=self.key, size=body.size, sha256=body.sha256)

    def _close(self) -> None:
        self._settled = True
        with suppress(OSError):
            os.close(self._fd)


# -- the spooled, hashed body of one put ----------------------------------------------
