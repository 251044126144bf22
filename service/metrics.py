"""What the service counts, for Prometheus: GET /metrics on the API (no token), or on a
port of its own (DISCLOSURE_METRICS_PORT). One registry per process.

    disclosure_http_requests_total{method,route,status}     and _seconds, a histogram
    disclosure_filings_total{category,outcome}               accepted, replayed, refused
    disclosure_findings_total{code,severity}                  on every checked submission
    disclosure_delivery_attempts_total{destination,outcome}   delivered, retry, failed
    disclosure_outbox_pending                                 deliveries not yet settled
    disclosure_outbox_oldest_due_seconds                      how late the most overdue is
    disclosure_fixity_checks_total{outcome}                   ok, damaged
    disclosure_timestamp_attempts_total{file,outcome}         package|capture; stamped, retry, failed
    disclosure_capture_verdicts_total{destination,verdict}    each capture and re-check judged
    disclosure_capture_attempts_total{destination,outcome}    captured, checked, retry, failed
    disclosure_foreign_versions_total                         written over archived keys
    disclosure_deadlines{state}                               due_soon, overdue: at the last tick
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

from service.domain.filing import DeliveryStatus
from service.domain.findings import Finding

REGISTRY = CollectorRegistry()
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUESTS = Counter(
    "disclosure_http_requests",
    "HTTP requests answered, by route template and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
REQUEST_SECONDS = Histogram(
    "disclosure_http_request_seconds",
    "Time to answer an HTTP request, by route template",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
FILINGS = Counter(
    "disclosure_filings",
    "Submissions, by kind and outcome (accepted, replayed, refused)",
    ["category", "outcome"],
    registry=REGISTRY,
)
FINDINGS = Counter(
    "disclosure_findings",
    "Findings on checked submissions, by code and severity",
    ["code", "severity"],
    registry=REGISTRY,
)
DELIVERY_ATTEMPTS = Counter(
    "disclosure_delivery_attempts",
    "Delivery attempts, by destination and outcome (delivered, retry, failed)",
    ["destination", "outcome"],
    registry=REGISTRY,
)
NOTIFICATION_ATTEMPTS = Counter(
    "disclosure_notification_attempts",
    "Notification attempts, by kind, channel and outcome (sent, retry, failed)",
    ["kind", "channel", "outcome"],
    registry=REGISTRY,
)
FIXITY_CHECKS = Counter(
    "disclosure_fixity_checks",
    "Versions re-hashed from storage, by outcome (ok, damaged)",
    ["outcome"],
    registry=REGISTRY,
)
CAPTURE_VERDICTS = Counter(
    "disclosure_capture_verdicts",
    "Captures and re-checks of published pages, by destination and verdict "
    "(unchanged, drift, link_rot, withdrawn)",
    ["destination", "verdict"],
    registry=REGISTRY,
)
CAPTURE_ATTEMPTS = Counter(
    "disclosure_capture_attempts",
    "Visits to published pages, by destination and outcome (captured: a first capture,"
    " checked: a re-check, retry: not published yet or the archive down, failed: given up)",
    ["destination", "outcome"],
    registry=REGISTRY,
)
TIMESTAMP_ATTEMPTS = Counter(
    "disclosure_timestamp_attempts",
    "Trusted-timestamp attempts, by file stamped (package: its tag manifest, capture: a"
    " WARC) and outcome (stamped, retry, failed)",
    ["file", "outcome"],
    registry=REGISTRY,
)
FOREIGN_VERSIONS = Counter(
    "disclosure_foreign_versions",
    "Versions or delete markers found written over archived keys",
    registry=REGISTRY,
)
DEADLINES = Gauge(
    "disclosure_deadlines",
    "Deadline board rows at the last tick: due within DISCLOSURE_DEADLINE_NOTICE_DAYS"
    " (due_soon), or past due with nothing filed (overdue)",
    ["state"],
    registry=REGISTRY,
)


def count_findings(findings: Iterable[Finding]) -> None:
    for finding in findings:
        FINDINGS.labels(finding.code, finding.severity.value).inc()


def exposition() -> bytes:
    return generate_latest(REGISTRY)


class OutboxFacts(Protocol):
    def count_deliveries(self, status: DeliveryStatus | None = None) -> int: ...
    def oldest_due_delivery(self) -> datetime | None: ...


class _Outbox:
    """The outbox's depth and lateness, read from the catalog when scraped."""

    def __init__(self, outbox: OutboxFacts, clock: Callable[[], datetime]) -> None:
        self._outbox = outbox
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "disclosure_outbox_pending", "Deliveries not yet delivered, failed or superseded"
        )
        pending.add_metric([], self._outbox.count_deliveries(DeliveryStatus.PENDING))
        oldest = self._outbox.oldest_due_delivery()
        late = GaugeMetricFamily(
            "disclosure_outbox_oldest_due_seconds",
            "How long the most overdue pending delivery has been due (0: none is)",
        )
        late.add_metric([], max(0.0, (self._clock() - oldest).total_seconds()) if oldest else 0.0)
        yield pending
        yield late


_watched: list[_Outbox] = []


def watch_outbox(outbox: OutboxFacts, clock: Callable[[], datetime]) -> None:
    """Report this catalog's outbox (the latest one watched, in a process that builds
    more than one)."""
    for collector in _watched:
        REGISTRY.unregister(collector)
    _watched[:] = [_Outbox(outbox, clock)]
    REGISTRY.register(_watched[0])
