"""How catalog records look in the API's JSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from service.catalog.records import (
    AuditEntry,
    CaptureRecord,
    DeliveryRecord,
    FilingRecord,
    VersionRecord,
)
from service.domain.capture import PageVerdict, publication_finding
from service.domain.filing import ARCHIVED_STATUSES, DeliveryAction
from service.domain.ids import filing_id_of
from service.domain.replacement import CONFLICT, PLATFORM_VERSION, REPLACING, existing_report
from service.domain.withdrawal import takedown_states


def acknowledged(filing: FilingRecord) -> FilingRecord | None:
    """The filing as its submitters were told of it: its archived versions only (one
    still being written, or abandoned when archiving failed, was never acknowledged);
    None when it has none."""
    versions = tuple(v for v in filing.versions if v.status in ARCHIVED_STATUSES)
    if not versions:
        return None
    numbers = {v.version for v in versions}
    deliveries = tuple(d for d in filing.deliveries if d.version in numbers)
    return replace(
        filing, versions=versions, deliveries=deliveries, latest_version=versions[-1].version
    )


def filing_view(filing: FilingRecord, captures: Sequence[CaptureRecord] = ()) -> dict[str, Any]:
    """The filing; its `findings` are its latest version's and, from `captures`, every
    published page that drifted or rotted (each version's own in `versions`)."""
    latest = filing.versions[-1] if filing.versions else None
    return {
        "id": filing.id,
        "org_code": filing.org_code,
        "org_name": filing.org_name,
        "category": filing.category,
        "period": filing.period,
        "version": filing.latest_version,
        "status": latest.status if latest else None,
        "sha256": latest.sha256 if latest else None,
        "title": latest.title if latest else None,
        "findings": [*(latest.findings if latest else []), *publication_findings(captures)],
        "needs_correction": any(
            d.review_status == "RETURNED"
            for d in filing.deliveries
            if d.version == filing.latest_version
        ),
        "created_at": filing.created_at.isoformat(),
        "created_by": filing.created_by,
        "versions": [version_view(v, captures) for v in filing.versions],
        "deliveries": [delivery_view(d) for d in filing.deliveries],
        "withdrawal": withdrawal_view(filing),
    }


def withdrawal_view(filing: FilingRecord) -> dict[str, Any] | None:
    withdrawal = filing.withdrawal
    if withdrawal is None:
        return None
    return {
        "reason": withdrawal.reason,
        "by": withdrawal.by,
        "at": withdrawal.at.isoformat(),
        "destinations": {k: v.value for k, v in takedown_states(filing.deliveries).items()},
    }


def publication_findings(
    captures: Sequence[CaptureRecord], version: int | None = None
) -> list[dict[str, Any]]:
    """Drift and link rot of the published pages (of one version, or of all), each as
    its capture's latest verdict has it."""
    pages = (
        PageVerdict(c.version, c.destination, c.url, c.verdict, c.rot_kind)
        for c in captures
        if version is None or c.version == version
    )
    return [f.to_dict() for f in map(publication_finding, pages) if f is not None]


def version_view(version: VersionRecord, captures: Sequence[CaptureRecord] = ()) -> dict[str, Any]:
    return {
        "version": version.version,
        "status": version.status,
        "supersedes": version.supersedes,
        "filename": version.filename,
        "kind": version.kind,
        "media_type": version.media_type,
        "size": version.size,
        "sha256": version.sha256,
        "title": version.title,
        "publish_at": version.publish_at.isoformat() if version.publish_at else None,
        "review": version.metadata.get("review"),
        "reason": version.metadata.get("reason"),
        "waivers": [
            {"code": f["code"], "reason": f.get("waiver_reason"), "waived_by": f.get("waived_by")}
            for f in version.findings
            if f.get("waived_by")
        ],
        "findings": [*version.findings, *publication_findings(captures, version.version)],
        "package": version.package_prefix,
        "created_at": version.created_at.isoformat(),
        "created_by": version.created_by,
    }


def delivery_view(delivery: DeliveryRecord) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "version": delivery.version,
        "destination": delivery.destination,
        "action": delivery.action.value,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at": delivery.next_attempt_at.isoformat(),
        "last_error": delivery.last_error,
        "receipt": delivery.receipt,
        "receipt_sha256": delivery.receipt_sha256,
        "review": (
            {
                "status": delivery.review_status,
                "reason": delivery.review_reason,
                "checked_at": delivery.review_checked_at.isoformat()
                if delivery.review_checked_at
                else None,
            }
            if delivery.review_status
            else None
        ),
        "delivered_at": delivery.delivered_at.isoformat() if delivery.delivered_at else None,
        "conflict": conflict_view(delivery),
        "replacing": replacing_view(delivery),
        "attempt_log": [
            {
                "number": a.number,
                "worker": a.worker,
                "started_at": a.started_at.isoformat(),
                "duration_ms": a.duration_ms,
                "outcome": a.outcome,
                "http_status": a.http_status,
                "code": a.code,
                "message": a.message,
            }
            for a in delivery.attempt_log
        ],
    }


def conflict_view(delivery: DeliveryRecord) -> dict[str, Any] | None:
    """The report the destination holds instead of ours (a 40901), beside our file's hash."""
    existing = existing_report(delivery)
    if existing is None:
        return None
    ours = delivery.state.get(CONFLICT, {}).get("our_sha256")
    return {**existing.to_dict(), "our_sha256": ours if isinstance(ours, str) else None}


def replacing_view(delivery: DeliveryRecord) -> dict[str, Any] | None:
    """A replace delivery: the report it replaces, the version it goes as, who and why."""
    if delivery.action is not DeliveryAction.REPLACE:
        return None
    replacing = delivery.state.get(REPLACING) or {}
    return {
        "receipt_no": replacing.get("receipt_no"),
        "file_sha256": replacing.get("file_sha256"),
        "version": replacing.get("version"),
        "platform_version": delivery.state.get(PLATFORM_VERSION),
        "reason": replacing.get("reason"),
        "by": replacing.get("by"),
    }


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    event = entry.event
    return {
        "at": entry.at.isoformat(),
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "subject": event.subject,
        "filing_id": filing_id_of(event.subject),
        "org_code": event.org_code,
        "source": event.source,
        "request_id": event.request_id,
        "detail": event.detail,
    }
