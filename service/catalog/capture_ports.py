"""The catalog's port for captures of published pages (service.usecases.capturing), apart
from service.catalog.ports for its size; `Catalog` includes it."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Protocol

from service.catalog.records import AuditEvent, CaptureJob, CaptureRecord, CaptureResult
from service.domain.notifications import Notice


class Captures(Protocol):
    """Captures of published pages (service.domain.capture): one per delivery that
    reported a public URL, captured then re-checked under a lease."""

    def enqueue_captures(self, destinations: Collection[str], limit: int) -> int:
        """Queue a capture for each delivered publication to `destinations` whose receipt
        names a `url` and that has none yet (up to `limit`); how many were new."""
        ...

    def claim_due_captures(self, worker: str, limit: int, lease: timedelta) -> list[CaptureRecord]:
        """Lease up to `limit` captures due (a first capture, or a re-check)."""
        ...

    def settle_capture(
        self, capture_id: str, lease_token: str, result: CaptureResult,
        events: Sequence[AuditEvent], notices: Sequence[Notice] = (),
    ) -> bool:  # fmt: skip
        """Count the attempt, settle it, audit and queue the notices; False, nothing
        changed, when the lease was lost."""
        ...

    def restore_capture(self, job: CaptureJob, result: CaptureResult) -> None:
        """A capture as the archive shows it (a rebuild)."""
        ...

    def captures(self, filing_id: str) -> list[CaptureRecord]:
        """A filing's captures, by version then destination."""
        ...

    def captures_of(self, filing_ids: Collection[str]) -> dict[str, list[CaptureRecord]]:
        """The captures of several filings (a page of a listing), each filing's in the
        order of `captures`; a filing with none is absent."""
        ...
