"""The payload sent ahead (the staging protocol): a submission's file goes to the
archive under the version it will most likely get — a new filing's v1 under an id
chosen now, a correction's next number — while it is received or checked, and becomes
visible only when the submission commits it.

    staging = PayloadStaging(packages, metadata, existing)   # predicts (filing, version)
    staging.stream(filename, path, size_hint)   # as it arrives (its SHA-256 declared)
    staging.stage(upload)                       # or once it has arrived
    payload = staging.payload_for(filing_id, number, upload)   # what put_package commits:
                                                # the staged file, or (number lost to a
                                                # concurrent correction) the spool again
    staging.abort()          # whatever is not committed; idempotent; waits for parts
    staging.abort_aside()    # the same, from a thread: for the event loop

One object owns every step, so that nothing is sent twice and everything not
committed is aborted exactly once (DESIGN.md invariants 1 and 2).
"""

from __future__ import annotations

import threading
from pathlib import Path

import structlog

from service.archive.packages import Packages, PayloadFile, package_prefix
from service.archive.port import StagedPut
from service.archive.retention import Period, filing_period
from service.catalog.records import FilingRecord
from service.domain.ids import new_id
from service.domain.metadata import FilingMetadata
from service.uploads import SpoolListener, Upload

log = structlog.get_logger()


def predicted_version(existing: FilingRecord | None) -> tuple[str, int]:
    """(filing id, version) a submission will most likely get: v1 of a new id, or the
    next number of the filing it corrects (unless a concurrent one takes it first)."""
    if existing is None:
        return new_id("fil"), 1
    return existing.id, max((v.version for v in existing.versions), default=0) + 1


def retention_of(metadata: FilingMetadata) -> Period | None:
    return filing_period(metadata.model_dump(mode="json"))


class PayloadStaging:
    def __init__(
        self, packages: Packages, metadata: FilingMetadata, existing: FilingRecord | None
    ) -> None:
        self._packages = packages
        self._metadata = metadata
        self.filing_id, self.number = predicted_version(existing)
        self._payload: PayloadFile | None = None
        self._streamed: tuple[str, str] | None = None  # (name, sha256) of the file streamed
        self._lock = threading.Lock()

    @property
    def streaming(self) -> bool:
        return self._streamed is not None

    def stream(self, filename: str, path: Path, size_hint: int | None) -> SpoolListener | None:
        """Start sending the file still being received into `path` (its metadata declares
        its SHA-256: the archive records that before the last byte is in). Waits on no
        I/O, so it may run on the event loop; the listener it returns, told as the spool
        grows, aborts off the loop."""
        sha256 = self._metadata.file_sha256
        assert sha256 is not None
        self._payload = self._stage(filename, path, sha256, size_hint=size_hint)
        self._streamed = (filename, sha256)
        staged = self._payload.staged
        return None if staged is None else _AbortingAside(staged)

    def stage(self, upload: Upload) -> None:
        """The received file staged: kept if it is the very file streamed, else the
        streamed one aborted and this one sent from the spool."""
        if self.streaming and self._streamed == (upload.filename, upload.sha256):
            return
        self.abort()
        self._payload = self._stage(upload.filename, upload.path, upload.sha256, size=upload.size)
        self._streamed = None

    def payload_for(self, filing_id: str, number: int, upload: Upload) -> PayloadFile:
        """The payload to commit under the reserved (filing, version): the staged one when
        the prediction held, else the spool sent again (a concurrent correction took the
        number)."""
        assert self._payload is not None, "stage() first"
        if (filing_id, number) == (self.filing_id, self.number):
            return self._payload
        log.info("staged_payload_resent", filing_id=filing_id, version=number)
        self.abort()
        return PayloadFile(upload.filename, upload.path.open("rb"), upload.sha256)

    def abort(self) -> None:
        with self._lock:
            payload, self._payload = self._payload, None
        if payload is not None and payload.staged is not None:
            payload.staged.abort()  # does nothing once committed

    def abort_aside(self) -> None:
        threading.Thread(target=self.abort, name="abort-staged", daemon=True).start()

    def _stage(
        self,
        filename: str,
        path: Path,
        sha256: str,
        *,
        size: int | None = None,
        size_hint: int | None = None,
    ) -> PayloadFile:
        m = self._metadata
        prefix = package_prefix(m.org_code, m.category, m.period, self.filing_id, self.number)
        return self._packages.stage_payload(
            prefix,
            filename,
            path,
            sha256=sha256,
            size=size,
            size_hint=size_hint,
            retention=retention_of(m),
        )


class _AbortingAside:
    """A staged put told of the spool's growth on the event loop, where an abort, which
    waits for the parts in flight, must not run."""

    def __init__(self, staged: StagedPut) -> None:
        self._staged = staged

    def grown(self, size: int) -> None:
        self._staged.grown(size)

    def seal(self, size: int) -> None:
        self._staged.seal(size)

    def abort(self) -> None:
        threading.Thread(target=self._staged.abort, name="abort-streamed", daemon=True).start()
