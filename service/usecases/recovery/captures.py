"""Restoring the captures of published pages from the archive alone, after
`rebuild_catalog`: each visit left a write-once record beside its WARC
(service.archive.packages.captures); for each delivery the first record gives the
capture, the last one the latest re-check's verdict, and every archived file goes back
into the capture's `objects` (so `verify` knows them). Each WARC's timestamp comes back
as the package's does (service.usecases.recovery.stamps): stamped, failed, or pending.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.archive.packages.captures import CaptureFiles
from service.archive.packages.proof import Proofs
from service.archive.port import StoredObject
from service.catalog.ports import Captures, Timestamps
from service.catalog.records import CaptureJob, CaptureResult, StampJob, VersionState
from service.domain.capture import CaptureStatus, next_check_at
from service.domain.errors import ArchiveError
from service.domain.filing import ARCHIVED_STATUSES
from service.usecases.recovery.stamps import from_token

Schedule = tuple[tuple[int, ...], int]  # (days after the capture, then every n days)


class CaptureRestoreCatalog(Captures, Timestamps, Protocol):
    """What restoring captures asks of the catalog."""


@dataclass
class CapturesRestored:
    captures: int = 0
    checks: int = 0
    unreadable: int = 0


def restore_captures(
    catalog: CaptureRestoreCatalog, files: CaptureFiles, proofs: Proofs,
    versions: Iterable[VersionState], *, schedule: Schedule = ((1, 7, 30), 30),
) -> CapturesRestored:  # fmt: skip
    """`schedule`: the re-checks' days after the capture, then every so many days (the
    settings'); a restored capture's next re-check falls where it would have."""
    found = CapturesRestored()
    for version in versions:
        if version.status not in ARCHIVED_STATUSES:
            continue
        try:
            records = list(files.records(version.package_prefix))
        except (ArchiveError, ValueError):
            found.unreadable += 1
            continue
        by_delivery: dict[str, list[tuple[StoredObject, dict[str, Any]]]] = {}
        for stored, record in records:
            by_delivery.setdefault(str(record.get("delivery_id")), []).append((stored, record))
        for visits in by_delivery.values():
            _restore_one(catalog, proofs, version, visits, schedule)
            found.captures += 1
            found.checks += len(visits) - 1
    return found


def _restore_one(
    catalog: CaptureRestoreCatalog, proofs: Proofs, version: VersionState,
    visits: list[tuple[StoredObject, dict[str, Any]]], schedule: Schedule,
) -> None:  # fmt: skip
    visits.sort(key=lambda visit: int(visit[1].get("number", 0)))
    first, last = visits[0][1], visits[-1][1]
    objects: dict[str, str] = {}
    for stored, record in visits:
        objects[stored.key] = stored.sha256
        objects[str(record["warc_key"])] = str(record["warc_sha256"])
        _restore_stamp(catalog, proofs, version, str(record["warc_key"]))
    job = CaptureJob(version.filing_id, version.version, str(first["destination"]),
                     str(first["delivery_id"]), str(first["url"]))  # fmt: skip
    catalog.restore_capture(job, _result(first, last, objects, schedule))


def _result(
    first: dict[str, Any], last: dict[str, Any], objects: dict[str, str], schedule: Schedule
) -> CaptureResult:
    captured_at = datetime.fromisoformat(first["captured_at"])
    checks = int(last.get("check", 0))
    return CaptureResult(
        CaptureStatus.CAPTURED.value, next_check_at(captured_at, checks, *schedule),
        captured_at=captured_at,
        http_status=last.get("http_status"), text_matches=last.get("text_matches"),
        attachments_match=last.get("attachments_match"),
        warc_key=first.get("warc_key"), warc_sha256=first.get("warc_sha256"),
        etag=last.get("etag"), last_modified=last.get("last_modified"),
        last_checked_at=datetime.fromisoformat(last["checked_at"]),
        checks=checks, verdict=last.get("verdict"), rot_kind=last.get("rot_kind"),
        objects=objects,
    )  # fmt: skip


def _restore_stamp(
    catalog: CaptureRestoreCatalog, proofs: Proofs, version: VersionState, key: str
) -> None:
    job = StampJob(version.filing_id, version.version, key)
    result = from_token(proofs, key)
    if result is None:
        catalog.enqueue_stamps([job])
    else:
        catalog.restore_stamp(job, result)
