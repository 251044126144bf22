"""Moving or holding a scheduled release (PATCH /v1/filings/{id}/schedule): the decision is
archived first, write-once, beside the latest package (`decisions/schedule-….json`, the
last in force, which a catalog rebuild reads), then the catalog moves the deliveries.
Only while none of the latest version's deliveries was claimed (service.domain.schedule)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from service.archive.packages import Packages
from service.archive.retention import filing_period
from service.catalog.ports import Filings, Schedules
from service.catalog.records import AuditEvent, FilingRecord
from service.domain.access import Principal
from service.domain.filing import ARCHIVED_STATUSES, DeliveryAction
from service.domain.schedule import DECISION_KIND, check_movable, check_release_time
from service.domain.withdrawal import filing_withdrawn
from service.usecases.ingest import Origin
from service.usecases.withdrawal import visible_filing


class ScheduleCatalog(Schedules, Filings, Protocol):
    """What moving a release asks of the catalog."""


@dataclass(frozen=True)
class ScheduleRequest:
    filing_id: str
    publish_at: datetime | None  # None: hold the release until a time is given
    principal: Principal
    origin: Origin


def reschedule_release(
    catalog: ScheduleCatalog, packages: Packages, request: ScheduleRequest, *, now: datetime
) -> FilingRecord:
    filing = visible_filing(catalog, request.filing_id, request.principal)
    check_release_time(request.publish_at, now)
    if filing.withdrawal is not None:
        raise filing_withdrawn(filing.id)
    latest = [v for v in filing.versions if v.status in ARCHIVED_STATUSES][-1]
    check_movable(
        [
            d
            for d in filing.deliveries
            if d.version == latest.version and d.action is DeliveryAction.PUBLISH
        ]
    )  # before archiving: a refused change leaves no decision behind
    packages.put_decision(
        latest.package_prefix,
        DECISION_KIND,
        _decision(request, now),
        retention=filing_period(latest.metadata),
    )
    catalog.reschedule(filing.id, latest.version, request.publish_at, _event(filing, request))
    found = catalog.get_filing(filing.id)
    assert found is not None
    return found


def _decision(request: ScheduleRequest, now: datetime) -> dict[str, object]:
    return {
        "kind": DECISION_KIND,
        "filing_id": request.filing_id,
        "publish_at": request.publish_at.isoformat() if request.publish_at else None,
        "by": request.principal.name,
        "role": request.principal.role.value,
        "at": now.isoformat(),
        "request_id": request.origin.request_id,
    }


def _event(filing: FilingRecord, request: ScheduleRequest) -> AuditEvent:
    publish_at = request.publish_at.isoformat() if request.publish_at else None
    return AuditEvent(
        actor=request.principal.name,
        role=request.principal.role.value,
        action="release.held" if publish_at is None else "release.scheduled",
        subject=f"{filing.id}/v{filing.latest_version}",
        org_code=filing.org_code,
        source=request.origin.source,
        request_id=request.origin.request_id,
        detail={"publish_at": publish_at},
    )
