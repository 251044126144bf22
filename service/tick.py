"""The periodic job (`disclosure tick`, a Kubernetes CronJob; a loop inside `serve`):
re-drive due deliveries (scheduled releases and retries), poll the legal platform for
review outcomes, re-hash a sample of the archive, and export each closed day's audit
log to the archive."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

import structlog

from service.audit_export import export_pending_days
from service.bootstrap import Container
from service.catalog.database import make_sessions
from service.catalog.sql.restore import CatalogRestore
from service.delivery.port import DestinationAdapter
from service.delivery.reviews import ReviewRound, ReviewSource, poll_reviews
from service.delivery.worker import Worker
from service.verification import AuditPlan, audit_versions, plan_versions

log = structlog.get_logger()
MAX_DRAIN_ROUNDS = 100  # a tick is bounded; what is left waits for the next one


@dataclass
class TickReport:
    delivered_rounds: int = 0
    attempts: int = 0
    reviews: ReviewRound = field(default_factory=ReviewRound)
    fixity_checked: int = 0
    fixity_damaged: int = 0
    audit_days_exported: int = 0


def run_tick(
    container: Container,
    adapters: Mapping[str, DestinationAdapter],
    worker: Worker | None,
) -> TickReport:
    report = TickReport()
    if worker is not None:
        _drain(worker, report)
    legal = adapters.get("legal_platform")
    if legal is not None:
        report.reviews = poll_reviews(
            container.catalog,
            container.packages,
            _as_review_source(legal),
            clock=container.clock,
            interval=timedelta(seconds=container.settings.review_poll_interval_s),
        )
    _fixity_sample(container, report)
    report.audit_days_exported = _export_audit_log(container)
    log.info(
        "tick",
        attempts=report.attempts,
        reviews_polled=report.reviews.polled,
        reviews_returned=report.reviews.returned,
        fixity_checked=report.fixity_checked,
        fixity_damaged=report.fixity_damaged,
        audit_days_exported=report.audit_days_exported,
    )
    return report


def _export_audit_log(container: Container) -> int:
    """Every closed day's audit events, as write-once JSON Lines in the archive (invariant 8)."""
    restore = CatalogRestore(make_sessions(container.engine), clock=container.clock)
    exports = export_pending_days(
        restore, container.catalog, container.store, now=container.clock(), actor="tick"
    )
    return sum(e.created for e in exports)


def _drain(worker: Worker, report: TickReport) -> None:
    for _ in range(MAX_DRAIN_ROUNDS):
        claimed = worker.run_once()
        if claimed == 0:
            return
        report.delivered_rounds += 1
        report.attempts += claimed


def _as_review_source(adapter: DestinationAdapter) -> ReviewSource:
    if not hasattr(adapter, "poll_review"):
        raise TypeError(f"{adapter.destination} cannot report reviews")
    return adapter  # type: ignore[return-value]


def _fixity_sample(container: Container, report: TickReport) -> None:
    size = container.settings.fixity_sample_per_tick
    if size <= 0:
        return
    versions = plan_versions(container.catalog, AuditPlan(sample=size))
    for result in audit_versions(
        container.catalog,
        container.packages,
        versions,
        checked_by="audit:tick",
        clock=container.clock,
    ):
        report.fixity_checked += 1
        report.fixity_damaged += not result.ok
