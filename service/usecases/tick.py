"""The periodic job (`disclosure tick`, a Kubernetes CronJob; a loop inside `serve`):
re-drive due deliveries (scheduled releases and retries), capture and re-check published
pages (service.usecases.capturing), timestamp archived files (service.usecases.stamping), poll the legal platform for
review outcomes, re-hash a sample of the archive, export each closed day's audit
log to the archive, send the notifications these raised (and any still due), and log and
count what falls due soon and what is overdue."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import structlog

from service import metrics
from service.archive.packages import Packages
from service.archive.port import ArchiveStore
from service.catalog.ports import (
    AuditLog,
    Captures,
    Filings,
    Fixity,
    Notifications,
    Restore,
    Reviews,
    Timestamps,
)
from service.delivery.port import ReviewingAdapter
from service.delivery.reviews import ReviewRound, poll_reviews
from service.delivery.worker import Worker
from service.domain.notifications import Recipients
from service.domain.time import shanghai_date
from service.notifications.sender import NotificationSender
from service.usecases.audit_export import export_pending_days
from service.usecases.capturing import Capturer, CaptureRound, capture_due
from service.usecases.deadlines import BoardRow, DeadlineBoard, DeadlineWatch, watch_deadlines
from service.usecases.notifications import notify_deadlines
from service.usecases.stamping import Stamper, StampRound, stamp_due
from service.usecases.verification import AuditPlan, audit_versions, plan_versions

log = structlog.get_logger()
MAX_DRAIN_ROUNDS = 100  # a tick is bounded; what is left waits for the next one


class TickCatalog(
    Reviews, Fixity, AuditLog, Filings, Notifications, Timestamps, Captures, Protocol
):
    """What the periodic job asks of the catalog."""


@dataclass(frozen=True)
class TickJobs:
    """The parts the periodic job uses, handed over by the composition root."""

    catalog: TickCatalog
    packages: Packages
    store: ArchiveStore
    restore: Restore
    worker: Worker | None  # None inside `serve`, whose own worker drains the outbox
    reviewing: Sequence[ReviewingAdapter]  # the destinations whose reviews are polled
    review_interval: timedelta
    fixity_sample: int
    clock: Callable[[], datetime]
    recipients: Recipients = field(default_factory=Recipients)  # who is told (nobody)
    notifier: NotificationSender | None = None  # None: the notifications wait for a sender
    deadlines: DeadlineBoard | None = None  # None: deadlines are not watched
    deadline_notice_days: int = 14
    stamper: Stamper | None = None  # None: no timestamps in this tick
    capturer: Capturer | None = None  # None: published pages are not captured


@dataclass
class TickReport:
    delivered_rounds: int = 0
    attempts: int = 0
    reviews: ReviewRound = field(default_factory=ReviewRound)
    fixity_checked: int = 0
    fixity_damaged: int = 0
    audit_days_exported: int = 0
    notifications_tried: int = 0
    stamps: StampRound = field(default_factory=StampRound)
    captures: CaptureRound = field(default_factory=CaptureRound)
    deadlines: DeadlineWatch = field(default_factory=lambda: DeadlineWatch([], []))


def run_tick(jobs: TickJobs) -> TickReport:
    report = TickReport()
    if jobs.worker is not None:
        _drain(jobs.worker, report)
    for adapter in jobs.reviewing:
        report.reviews += poll_reviews(
            jobs.catalog,
            jobs.packages,
            adapter,
            clock=jobs.clock,
            interval=jobs.review_interval,
            recipients=jobs.recipients,
        )
    if jobs.capturer is not None:  # first: its WARCs are stamped in the same tick
        report.captures = capture_due(jobs.capturer)
    if jobs.stamper is not None:
        report.stamps = stamp_due(jobs.stamper)
    _fixity_sample(jobs, report)
    report.audit_days_exported = _export_audit_log(jobs)
    report.deadlines = _watch_deadlines(jobs)
    _notify_deadlines(jobs, report.deadlines)
    if jobs.notifier is not None:
        report.notifications_tried = jobs.notifier.drain()
    log.info(
        "tick",
        attempts=report.attempts,
        reviews_polled=report.reviews.polled,
        reviews_returned=report.reviews.returned,
        fixity_checked=report.fixity_checked,
        fixity_damaged=report.fixity_damaged,
        audit_days_exported=report.audit_days_exported,
        notifications_tried=report.notifications_tried,
        stamped=report.stamps.stamped,
        stamps_failed=report.stamps.failed,
        captured=report.captures.captured,
        capture_checks=report.captures.checked,
        capture_drift=report.captures.drift,
        capture_link_rot=report.captures.link_rot,
        deadlines_due_soon=len(report.deadlines.due_soon),
        deadlines_overdue=len(report.deadlines.overdue),
    )
    return report


LOGGED_ROWS = 50  # a log line names this many rows of each list; the board has them all


def _watch_deadlines(jobs: TickJobs) -> DeadlineWatch:
    """What falls due within the notice period and what is overdue: logged, counted,
    and returned for whoever notifies (DeadlineWatch)."""
    if jobs.deadlines is None:
        return DeadlineWatch([], [])
    watch = watch_deadlines(
        jobs.deadlines, as_of=shanghai_date(jobs.clock()), notice_days=jobs.deadline_notice_days
    )
    metrics.DEADLINES.labels("due_soon").set(len(watch.due_soon))
    metrics.DEADLINES.labels("overdue").set(len(watch.overdue))
    if watch.due_soon or watch.overdue:
        log.warning(
            "deadlines_watched",
            notice_days=jobs.deadline_notice_days,
            due_soon=[_named(r) for r in watch.due_soon[:LOGGED_ROWS]],
            overdue=[_named(r) for r in watch.overdue[:LOGGED_ROWS]],
            due_soon_count=len(watch.due_soon),
            overdue_count=len(watch.overdue),
        )
    return watch


def _notify_deadlines(jobs: TickJobs, watch: DeadlineWatch) -> None:
    """Each body's contacts are told once of a deadline drawing near and once of one
    missed (the notifications' event ids are their body, kind and period)."""
    rows = [*watch.due_soon, *watch.overdue]
    if rows:
        notify_deadlines(
            jobs.catalog,
            jobs.recipients,
            rows,
            as_of=shanghai_date(jobs.clock()),
            notice_days=jobs.deadline_notice_days,
            now=jobs.clock(),
        )


def _named(row: BoardRow) -> dict[str, str | None]:
    return {
        "org_code": row.org_code,
        "category": row.category,
        "kind": row.kind,
        "period": row.period,
        "due_on": row.due_on.isoformat() if row.due_on else None,
    }


def _export_audit_log(jobs: TickJobs) -> int:
    """Every closed day's audit events, as write-once JSON Lines in the archive (invariant 8)."""
    exports = export_pending_days(
        jobs.restore, jobs.catalog, jobs.store, now=jobs.clock(), actor="tick"
    )
    return sum(e.created for e in exports)


def _drain(worker: Worker, report: TickReport) -> None:
    for _ in range(MAX_DRAIN_ROUNDS):
        claimed = worker.run_once()
        if claimed == 0:
            return
        report.delivered_rounds += 1
        report.attempts += claimed


def _fixity_sample(jobs: TickJobs, report: TickReport) -> None:
    if jobs.fixity_sample <= 0:
        return
    versions = plan_versions(jobs.catalog, AuditPlan(sample=jobs.fixity_sample))
    for result in audit_versions(
        jobs.catalog,
        jobs.packages,
        versions,
        checked_by="audit:tick",
        clock=jobs.clock,
        recipients=jobs.recipients,
    ):
        report.fixity_checked += 1
        report.fixity_damaged += not result.ok
