"""Filings on given days, straight through the catalog's ports (what ingest does once a
package is archived), for the deadline board's tests."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from service.catalog.ports import Catalog
from service.catalog.records import AuditEvent, NewVersion
from service.domain.filing import FilingKey
from service.domain.time import SHANGHAI
from tests.support.clock import FakeClock


def shanghai_morning(day: date) -> datetime:
    """10:00 in Asia/Shanghai on `day` (02:00 UTC)."""
    return datetime.combine(day, time(10), SHANGHAI).astimezone(UTC)


def file_on(
    catalog: Catalog,
    clock: FakeClock,
    day: date,
    *,
    org_code: str,
    category: str,
    period: str,
    variant: str | None = None,
    approved_on: date | None = None,
    destinations: tuple[str, ...] = (),
    at: datetime | None = None,
) -> str:
    """A filing acknowledged on `day` (Asia/Shanghai, or exactly `at`); its id."""
    clock.now = at or shanghai_morning(day)
    metadata: dict[str, Any] = {"org_code": org_code, "category": category, "period": period}
    if variant is not None:
        metadata["budget"] = {"kind": variant, "approved_on": _iso(approved_on)}
    annual = len(period) == 4
    filing_id, number = catalog.reserve_version(
        filing_id=None,
        org_code=org_code,
        org_name="测试单位",
        category=category,
        period=period,
        actor="op",
        make_version=lambda fid, n: _version(fid, n, org_code, category, period, metadata),
        filed_once=FilingKey(org_code, category, period, variant) if annual else None,
    )
    catalog.complete_version(filing_id, number, destinations, _event(org_code))
    clock.now += timedelta(seconds=1)
    return filing_id


def _version(
    filing_id: str, number: int, org: str, category: str, period: str, metadata: dict[str, Any]
) -> NewVersion:
    return NewVersion(
        filename="report.pdf",
        kind="pdf",
        media_type="application/pdf",
        size=10,
        sha256=f"{filing_id}{number}".encode().hex()[:64].ljust(64, "0"),
        title=None,
        package_prefix=f"filings/{org}/{category}/{period}/{filing_id}/v{number}/",
        metadata=metadata,
        findings=[],
        publish_at=None,
    )


def _event(org_code: str) -> AuditEvent:
    return AuditEvent(
        actor="op", role="operator", action="filing.submitted", subject="s", org_code=org_code
    )


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
