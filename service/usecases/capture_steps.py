"""The steps of one capture or re-check (service.usecases.capturing): what the page is
expected to show, the visit archived (WARC and record, write-once) and stamped, and
what it changes in the catalog (audit events, notices)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from service.archive.packages import Packages
from service.archive.packages.captures import WARC_SUFFIX
from service.archive.retention import Period, filing_period
from service.capture.warc import Revisit, payload_digest, response_digest, warc_file
from service.catalog.records import AuditEvent, CaptureRecord, CaptureResult
from service.domain.capture import (
    VERDICT_TEXT,
    CaptureStatus,
    Expected,
    Seen,
    Verdict,
    attachments_match,
    judge,
    next_check_at,
    normalise_text,
    rot_kind,
    text_matches,
)
from service.domain.notifications import Notice, NoticeEvent, NoticeKind
from service.reading.port import DocumentReader
from service.usecases.page_visits import Visit
from service.usecases.stamping import stamp_file

if TYPE_CHECKING:
    from service.usecases.capturing import CaptureCatalog, Capturer

NOTICE_KINDS = {
    Verdict.DRIFT: NoticeKind.PUBLICATION_DRIFT,
    Verdict.LINK_ROT: NoticeKind.PUBLICATION_LINK_ROT,
}


@dataclass(frozen=True)
class Expectation:
    expected: Expected  # its text "" until `with_text` (a 304, a page gone never need it)
    prefix: str
    retention: Period | None
    org_code: str | None
    filename: str


def expected_of(catalog: CaptureCatalog, job: CaptureRecord) -> Expectation:
    """The archived filing as the page should show it — its file as the attachment, and
    whether the filing was withdrawn since — but not yet its text."""
    version = catalog.get_version(job.filing_id, job.version)
    filing = catalog.get_filing(job.filing_id, with_attempts=False)
    assert version is not None and filing is not None  # a capture's filing exists
    expected = Expected("", frozenset({version.sha256}), filing.withdrawal is not None)
    return Expectation(
        expected, version.package_prefix, filing_period(version.metadata), filing.org_code,
        version.filename,
    )  # fmt: skip


class DocumentUnreadable(Exception):
    """The archived document could not be read this time (the reading pool timed out, a
    worker was killed for memory): the visit is retried — never judged against no text,
    which would call every page drift — and nothing is kept among the recent texts."""


def with_text(capturer: Capturer, job: CaptureRecord, expectation: Expectation) -> Expectation:
    """The expectation with the archived document's text, read once per version while it
    stays among the capturer's recent texts (an archived version never changes).
    Raises DocumentUnreadable."""
    texts, prefix, name = capturer.texts, expectation.prefix, expectation.filename
    text = texts.get_or(
        (job.filing_id, job.version),
        lambda: _document_text(capturer.packages, capturer.reader, prefix, name),
    )
    return replace(expectation, expected=replace(expectation.expected, text=text))


def _document_text(packages: Packages, reader: DocumentReader, prefix: str, name: str) -> str:
    with tempfile.TemporaryDirectory(prefix="capture-") as tmp:
        local = Path(tmp) / "payload"
        with packages.open_payload(prefix, name) as src, local.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
        document, findings = reader.read(local, name)
    if document is None:
        codes = ", ".join(f.code for f in findings) or "no document"
        raise DocumentUnreadable(f"the archived {name} could not be read: {codes}")
    return normalise_text("\n".join(document.paragraphs))


def _comparison(
    job: CaptureRecord, seen: Seen, expected: Expected, compared: bool
) -> dict[str, bool | None]:
    """Whether the text and attachments match: compared now, or — the page unchanged
    since (304) — what the visit that read it found; None for a page gone."""
    if compared:
        return {
            "text_matches": text_matches(seen, expected),
            "attachments_match": attachments_match(seen, expected),
        }
    if seen.not_modified:
        return {"text_matches": job.text_matches, "attachments_match": job.attachments_match}
    return {"text_matches": None, "attachments_match": None}


def archive_visit(
    capturer: Capturer, job: CaptureRecord, visit: Visit, expectation: Expectation,
    now: datetime,
) -> CaptureResult:  # fmt: skip
    first = job.status == CaptureStatus.PENDING
    check = 0 if first else job.checks + 1
    files = capturer.files
    number = files.free_number(expectation.prefix, job.destination, check)
    revisit = None if first else _revisit_of(capturer, job, visit)
    exchanges = [(e, revisit if e is visit.page else None) for e in visit.exchanges]
    name = f"{job.destination}-{number:03d}{WARC_SUFFIX}"
    warc = files.put_warc(
        expectation.prefix, job.destination, number, warc_file(name, exchanges),
        expectation.retention,
    )  # fmt: skip
    previous = Verdict(job.verdict) if job.verdict else None
    verdict = judge(visit.seen, expectation.expected, previous)
    seen = visit.seen
    compared = not seen.not_modified and verdict in (Verdict.UNCHANGED, Verdict.DRIFT)
    page = visit.page
    gone = rot_kind(seen) if verdict is Verdict.LINK_ROT else None
    found: dict[str, Any] = {
        "http_status": seen.http_status,
        "rot_kind": gone.value if gone else None,
        **_comparison(job, seen, expectation.expected, compared),
        "etag": page.header("etag") if page and page.status == 200 else None,
        "last_modified": page.header("last-modified") if page and page.status == 200 else None,
    }
    captured_at = now if first else (job.captured_at or now)
    record = {
        "delivery_id": job.delivery_id, "filing_id": job.filing_id, "version": job.version,
        "destination": job.destination, "url": job.url, "check": check, "number": number,
        "checked_at": now.isoformat(), "captured_at": captured_at.isoformat(),
        "verdict": verdict.value, "warc_key": warc.key, "warc_sha256": warc.sha256, **found,
    }  # fmt: skip
    kept = files.put_record(
        expectation.prefix, job.destination, number, record, expectation.retention
    )
    stamp_file(capturer.catalog, job.filing_id, job.version, warc.key)
    settings = capturer.settings
    return CaptureResult(
        CaptureStatus.CAPTURED.value,
        next_check_at(captured_at, check, settings.schedule_days, settings.monthly_days),
        captured_at=captured_at if first else None,
        warc_key=warc.key if first else None, warc_sha256=warc.sha256 if first else None,
        last_checked_at=now, checks=check, verdict=verdict.value,
        objects={warc.key: warc.sha256, kept.key: kept.sha256}, **found,
    )  # fmt: skip


def _revisit_of(capturer: Capturer, job: CaptureRecord, visit: Visit) -> Revisit | None:
    """A re-check whose page is unchanged since the capture (a 304, or the same bytes)
    is recorded as a revisit of it (the capture's WARC is read once for its digest)."""
    files = capturer.files
    page = visit.page
    warc_key = job.warc_key
    if page is None or warc_key is None or job.captured_at is None:
        return None
    digest = capturer.digests.get_or(warc_key, lambda: response_digest(files.read(warc_key)))
    same = page.status == 200 and digest == payload_digest(page.body)
    if digest is None or not (page.status == 304 or same):
        return None
    return Revisit(job.url, job.captured_at, digest)


def settled(
    capturer: Capturer, job: CaptureRecord, result: CaptureResult, expectation: Expectation
) -> tuple[list[AuditEvent], list[Notice]]:
    """The audit event of a visit, and the notice of a new drift or link rot."""
    if result.last_error is not None:
        action = "capture.retry_scheduled"
    else:
        action = "capture.captured" if job.status == CaptureStatus.PENDING else "capture.checked"
    detail = {"url": job.url, "destination": job.destination, "verdict": result.verdict,
              "rot_kind": result.rot_kind, "http_status": result.http_status,
              "check": result.checks, "error": result.last_error}  # fmt: skip
    event = AuditEvent(
        actor=capturer.worker, role="system", action=action,
        subject=f"{job.filing_id}/v{job.version}", org_code=expectation.org_code, detail=detail,
    )  # fmt: skip
    verdict = Verdict(result.verdict) if result.verdict else None
    if verdict not in NOTICE_KINDS or result.verdict == job.verdict or verdict is None:
        return [event], []
    zh, en = VERDICT_TEXT[verdict]
    notice = NoticeEvent(
        NOTICE_KINDS[verdict], subject=job.id, occurred_at=capturer.clock(),
        filing_id=job.filing_id, org_code=expectation.org_code,
        detail={**detail, "message_zh": zh, "message_en": en, "version": job.version},
    )  # fmt: skip
    return [event], capturer.recipients.notices(notice)
