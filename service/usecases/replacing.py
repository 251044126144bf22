"""Replacing the report a destination already holds (POST /v1/filings/{id}/deliveries/
legal_platform/replace-existing; service.domain.replacement has the rules). A person's
decision, never automatic: archived first, write-once, beside the latest package
(decisions/replace_{destination}-….json, which a catalog rebuild reads), then the catalog
supersedes the failed delivery and queues the new one, audited.

    replace_existing(...)  → (the filing, True)    queued now: 202
                           → (the filing, False)   decided before: 200, the same result"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.archive.packages import Packages
from service.archive.retention import filing_period
from service.catalog.ports import Filings, Replacements
from service.catalog.records import AuditEvent, DeliveryRecord, FilingRecord
from service.domain.access import Principal, Role
from service.domain.filing import ARCHIVED_STATUSES, DeliveryAction, Destination
from service.domain.replacement import (
    ExistingReport,
    conflicted,
    decision_kind,
    existing_report,
    replace_state,
)
from service.domain.withdrawal import filing_withdrawn
from service.usecases.ingest import Origin
from service.usecases.withdrawal import visible_filing


class ReplacementCatalog(Replacements, Filings, Protocol):
    """What replacing asks of the catalog."""


@dataclass(frozen=True)
class ReplacementRequest:
    filing_id: str
    reason: str
    principal: Principal
    origin: Origin
    destination: str = Destination.LEGAL_PLATFORM.value


def replace_existing(
    catalog: ReplacementCatalog, packages: Packages, request: ReplacementRequest, *, now: datetime
) -> tuple[FilingRecord, bool]:
    """Admins, and operators of the filing's body (Forbidden for compliance staff; NotFound
    for a filing the principal may not see). Conflict `no_conflict` unless the latest
    version's delivery there failed as a conflict (or was replaced before)."""
    request.principal.require_role(Role.OPERATOR, Role.ADMIN)
    filing = visible_filing(catalog, request.filing_id, request.principal)
    if filing.withdrawal is not None:
        raise filing_withdrawn(filing.id)
    latest = [v for v in filing.versions if v.status in ARCHIVED_STATUSES][-1]
    found = conflicted(
        d
        for d in filing.deliveries
        if d.version == latest.version and d.destination == request.destination
    )
    if found.action is DeliveryAction.REPLACE:
        return filing, False
    existing = existing_report(found)
    assert existing is not None  # conflicted() found it so
    packages.put_decision(
        latest.package_prefix,
        decision_kind(request.destination),
        decision_document(found, existing, latest.sha256, request, now),
        retention=filing_period(latest.metadata),
    )
    state = replace_state(existing, request.reason, request.principal.name)
    created = catalog.replace_existing(
        found.id, state, _event(filing.org_code, found, existing, request)
    )
    refreshed = catalog.get_filing(filing.id)
    assert refreshed is not None
    return refreshed, created


def decision_document(
    failed: DeliveryRecord,
    existing: ExistingReport,
    our_sha256: str,
    request: ReplacementRequest,
    now: datetime,
) -> dict[str, Any]:
    """The archived decision: enough for a rebuild to queue the replace delivery again."""
    return {
        "kind": decision_kind(failed.destination),
        "filing_id": failed.filing_id,
        "version": failed.version,
        "destination": failed.destination,
        "existing": existing.to_dict(),
        "our_sha256": our_sha256,
        "reason": request.reason,
        "by": request.principal.name,
        "role": request.principal.role.value,
        "at": now.isoformat(),
        "request_id": request.origin.request_id,
    }


def _event(
    org_code: str, failed: DeliveryRecord, existing: ExistingReport, request: ReplacementRequest
) -> AuditEvent:
    return AuditEvent(
        actor=request.principal.name,
        role=request.principal.role.value,
        action="delivery.replace_requested",
        subject=f"{failed.filing_id}/v{failed.version}/{failed.destination}",
        org_code=org_code,
        source=request.origin.source,
        request_id=request.origin.request_id,
        detail={
            "reason": request.reason,
            "replaces": existing.to_dict(),
            "platform_version": existing.version + 1,
        },
    )
