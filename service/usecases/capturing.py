"""Capturing what was published (公开证明), and re-checking it: `tick` queues a capture
for each delivery that reported a public URL, and visits each capture due — the first
capture, then the re-checks on the schedule (day 1, 7, 30, then monthly by default).

Each visit is archived write-once beside the package (service.archive.packages.captures:
a WARC and a record of what it found), its WARC queued for a timestamp
(service.usecases.stamping.stamp_file), and judged against the archived filing
(service.domain.capture): unchanged, drift, link rot, withdrawn. A first capture that
meets a 404 is tried again for a grace period before it counts as rot. Drift and rot are
audited, counted and notified.

    capturer = Capturer(catalog, packages, CaptureFiles(store), fetcher, reader, …)
    capture_due(capturer)            # → CaptureRound(captured=…, checked=…, retried=…)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from service import metrics
from service.archive.packages import Packages
from service.archive.packages.captures import CaptureFiles
from service.capture.port import PageFetcher
from service.catalog.ports import Captures, Filings, Timestamps
from service.catalog.records import CaptureRecord, CaptureResult
from service.delivery.policy import Action, RetryPolicy, decide
from service.delivery.port import RetryLater
from service.domain.capture import CaptureStatus, Verdict, compares_text
from service.domain.errors import ArchiveError, ArchiveUnavailable
from service.domain.notifications import Recipients
from service.reading.port import DocumentReader
from service.usecases.capture_steps import (
    DocumentUnreadable,
    Expectation,
    archive_visit,
    expected_of,
    settled,
    with_text,
)
from service.usecases.page_visits import visit_page
from service.usecases.recent import Recent

log = structlog.get_logger()
MAX_PER_ROUND = 20  # a round is bounded; what is left waits for the next one
TEXT_BUDGET_CHARS = 16_000_000  # ~64 MB at most of recent documents' text
DIGESTS_KEPT = 100_000


class CaptureCatalog(Captures, Filings, Timestamps, Protocol):
    """What capturing asks of the catalog."""


@dataclass(frozen=True)
class CaptureSettings:
    destinations: frozenset[str] = frozenset({"portal"})  # whose URLs are captured
    grace: timedelta = timedelta(hours=24)  # a first 404 is retried this long
    retry_every: timedelta = timedelta(minutes=30)
    schedule_days: tuple[int, ...] = (1, 7, 30)
    monthly_days: int = 30
    max_redirects: int = 5
    max_attachments: int = 10


@dataclass(frozen=True)
class Capturer:
    catalog: CaptureCatalog
    packages: Packages
    files: CaptureFiles  # the captures' archived files, on the packages' store
    fetcher: PageFetcher
    reader: DocumentReader
    policy: RetryPolicy
    lease: timedelta
    clock: Callable[[], datetime]
    worker: str
    settings: CaptureSettings = field(default_factory=CaptureSettings)
    recipients: Recipients = field(default_factory=Recipients)
    # What never changes, read once while recent: a version's normalised document text
    # (characters), the payload digest of a capture's write-once WARC.
    texts: Recent[tuple[str, int], str] = field(
        default_factory=lambda: Recent(TEXT_BUDGET_CHARS, weight=len)
    )
    digests: Recent[str, str | None] = field(default_factory=lambda: Recent(DIGESTS_KEPT))


@dataclass
class CaptureRound:
    queued: int = 0
    captured: int = 0
    checked: int = 0
    retried: int = 0
    drift: int = 0
    link_rot: int = 0


def capture_due(capturer: Capturer) -> CaptureRound:
    found = CaptureRound()
    found.queued = capturer.catalog.enqueue_captures(capturer.settings.destinations, MAX_PER_ROUND)
    for job in capturer.catalog.claim_due_captures(capturer.worker, MAX_PER_ROUND, capturer.lease):
        result = _visit(capturer, job)
        _count(found, job, result)
    return found


def _visit(capturer: Capturer, job: CaptureRecord) -> CaptureResult:
    expectation = expected_of(capturer.catalog, job)
    conditional = _conditional(job) if _may_revisit(job, expectation) else {}
    visit = visit_page(
        capturer.fetcher, job.url, conditional,
        max_redirects=capturer.settings.max_redirects,
        max_attachments=capturer.settings.max_attachments,
    )  # fmt: skip
    now = capturer.clock()
    if visit.exchanges[0].error == "host_not_allowed":  # never fetched: a setting is missing
        result = CaptureResult(
            CaptureStatus.FAILED.value,
            last_error=f"capture_host_not_allowed: {job.url} is on no configured host "
            "(DISCLOSURE_CAPTURE_HOSTS)",
        )
        _settle(capturer, job, result, expectation)
        return result
    if _in_grace(capturer, job, visit.seen.http_status, now):
        result = CaptureResult(
            CaptureStatus.PENDING.value, now + capturer.settings.retry_every,
            last_error=f"not_yet_published: HTTP {visit.seen.http_status}",
        )  # fmt: skip
        _settle(capturer, job, result, expectation)
        return result
    try:
        if compares_text(visit.seen):
            expectation = with_text(capturer, job, expectation)
        result = archive_visit(capturer, job, visit, expectation, now)
    except (ArchiveError, ArchiveUnavailable) as exc:
        result = _retried(capturer, job, RetryLater("archive_unavailable", str(exc)), now)
    except DocumentUnreadable as exc:
        result = _retried(capturer, job, RetryLater("document_unreadable", str(exc)), now)
    _settle(capturer, job, result, expectation)
    return result


def _retried(
    capturer: Capturer, job: CaptureRecord, outcome: RetryLater, now: datetime
) -> CaptureResult:
    """Retried like a delivery (service.delivery.policy); a first capture the policy
    gives up on fails, a re-check waits for its next turn."""
    decision = decide(
        outcome, attempts=job.attempts + 1, first_attempt_at=job.first_attempt_at or now,
        now=now, policy=capturer.policy,
    )  # fmt: skip
    error = f"{outcome.code}: {outcome.message}"
    if decision.action is Action.RETRY:
        return CaptureResult(job.status, decision.next_attempt_at, last_error=error)
    if job.status == CaptureStatus.PENDING:
        return CaptureResult(CaptureStatus.FAILED.value, last_error=error)
    return CaptureResult(job.status, now + capturer.settings.retry_every, last_error=error)


def _may_revisit(job: CaptureRecord, expectation: Expectation) -> bool:
    """A re-check asks "changed since?" — unless what the page should show changed
    (the filing was withdrawn since), or the page was gone at the last visit: then a
    304 would say nothing (or keep the rot of a page that is back), the page is read."""
    if job.status != CaptureStatus.CAPTURED or job.verdict == Verdict.LINK_ROT:
        return False
    return not expectation.expected.withdrawn or job.verdict == Verdict.WITHDRAWN


def _conditional(job: CaptureRecord) -> dict[str, str]:
    headers = {}
    if job.etag:
        headers["If-None-Match"] = job.etag
    if job.last_modified:
        headers["If-Modified-Since"] = job.last_modified
    return headers


def _in_grace(capturer: Capturer, job: CaptureRecord, status: int | None, now: datetime) -> bool:
    """A first capture that meets a 404 (portals publish static pages with a lag)."""
    if job.status != CaptureStatus.PENDING or status != 404:
        return False
    return now - (job.first_attempt_at or now) < capturer.settings.grace


def _settle(
    capturer: Capturer, job: CaptureRecord, result: CaptureResult, expectation: Expectation
) -> None:
    events, notices = settled(capturer, job, result, expectation)
    assert job.lease_owner is not None
    held = capturer.catalog.settle_capture(job.id, job.lease_owner, result, events, notices)
    if result.verdict is not None and result.last_error is None:
        metrics.CAPTURE_VERDICTS.labels(job.destination, result.verdict).inc()
    metrics.CAPTURE_ATTEMPTS.labels(job.destination, _outcome(job, result)).inc()
    log.info(
        "capture_visited", filing_id=job.filing_id, version=job.version, url=job.url,
        status=result.status, verdict=result.verdict, http_status=result.http_status,
        error=result.last_error, lease_kept=held,
    )  # fmt: skip


def _outcome(job: CaptureRecord, result: CaptureResult) -> str:
    if result.status == CaptureStatus.FAILED:
        return "failed"
    if result.last_error is not None:
        return "retry"
    return "captured" if job.status == CaptureStatus.PENDING else "checked"


def _count(found: CaptureRound, job: CaptureRecord, result: CaptureResult) -> None:
    if result.last_error is not None:
        found.retried += 1
        return
    first = job.status == CaptureStatus.PENDING
    found.captured += first
    found.checked += not first
    found.drift += result.verdict == Verdict.DRIFT
    found.link_rot += result.verdict == Verdict.LINK_ROT
