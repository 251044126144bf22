"""Submitting a filing: check it, reserve its version, archive its package, queue its
deliveries — and only then acknowledge (DESIGN.md invariant 1).

    reserve (filing, version)  ─▶  write package (payload…, manifest last)  ─▶
    commit version archived + outbox rows + audit  ─▶  201

A failure while archiving abandons the reservation and answers 503; the objects
already written stay (the archive never deletes) and `reconcile` reports them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import structlog

from service import __version__
from service.archive.packages import PackageRef, Packages, PayloadFile, package_prefix
from service.archive.retention import Period, filing_period
from service.catalog.ports import STALE_RESERVATION, Catalog
from service.catalog.records import AuditEvent, FilingRecord, NewVersion
from service.checking import Check, Checks, check_submission
from service.domain.access import Principal, Role
from service.domain.errors import (
    ArchiveError,
    ArchiveUnavailable,
    Conflict,
    InvalidInput,
    NotFound,
    Rejected,
    duplicate_filing,
)
from service.domain.filing import Category, Destination, VersionStatus
from service.domain.findings import error as error_finding
from service.domain.ids import new_id
from service.domain.metadata import FilingMetadata
from service.uploads import Upload

SHANGHAI = ZoneInfo("Asia/Shanghai")

log = structlog.get_logger()
SUBMITTING_ROLES = (Role.OPERATOR, Role.ADMIN)


@dataclass(frozen=True)
class Ingest:
    """Everything submitting needs, built once by the composition root."""

    catalog: Catalog
    packages: Packages
    checks: Checks
    clock: Callable[[], datetime]

    @property
    def routes(self) -> Mapping[Category, Sequence[Destination]]:
        return self.checks.routes


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit log."""

    source: str | None = None
    request_id: str | None = None


def check_filing(
    ingest: Ingest,
    metadata: FilingMetadata,
    upload: Upload,
    *,
    principal: Principal | None = None,
) -> Check:
    """Validate a submission without storing anything (service.checking), today's date
    and last period's archived filing of the body and kind as the catalog knows them."""
    return check_submission(
        ingest.checks,
        metadata,
        upload,
        received_on=ingest.clock().astimezone(SHANGHAI).date(),
        principal=principal,
        previous=_previous_period(ingest.catalog, metadata),
    )


def _previous_period(catalog: Catalog, metadata: FilingMetadata) -> FilingMetadata | None:
    """Last year's 年报 of this body, when archived, for the cross-year checks."""
    if metadata.category is not Category.GOV_INFO_ANNUAL_REPORT or not metadata.period.isdigit():
        return None
    found = catalog.latest_metadata(
        metadata.org_code, metadata.category.value, str(int(metadata.period) - 1)
    )
    try:
        return FilingMetadata.model_validate(found) if found is not None else None
    except ValueError:  # archived under an older shape: no cross-year check
        return None


@dataclass(frozen=True)
class Submission:
    filing: FilingRecord
    replayed: bool = False  # the same Idempotency-Key and body came before: nothing new was stored


def submit_filing(
    ingest: Ingest,
    principal: Principal,
    metadata: FilingMetadata,
    upload: Upload,
    origin: Origin,
    *,
    correcting: str | None = None,
    idempotency_key: str | None = None,
    streamed: StagedPayload | None = None,
) -> Submission:
    """Accept a new filing (or, with `correcting`, a new version of that filing).
    `streamed`: the payload as `stream_payload` started sending it while it arrived
    (used only when the file is the one its metadata declared; aborted otherwise)."""
    try:
        return _submit(
            ingest, principal, metadata, upload, origin, correcting, idempotency_key, streamed
        )
    finally:
        if streamed is not None:
            streamed.abort()  # does nothing once committed


def _submit(
    ingest: Ingest,
    principal: Principal,
    metadata: FilingMetadata,
    upload: Upload,
    origin: Origin,
    correcting: str | None,
    idempotency_key: str | None,
    streamed: StagedPayload | None,
) -> Submission:
    principal.require_role(*SUBMITTING_ROLES)
    principal.require_body(metadata.org_code)
    fingerprint = _fingerprint(metadata, upload, correcting)
    if idempotency_key is not None:
        replay = _replay(ingest.catalog, principal, idempotency_key, fingerprint, ingest.clock())
        if replay is not None:
            return Submission(replay, replayed=True)
    existing = (
        _require_same_filing(ingest.catalog, principal, correcting, metadata)
        if correcting
        else None
    )
    _refuse_same_content(ingest.catalog, metadata, upload)
    if streamed is not None and _streamed_fits(streamed, metadata, upload, correcting):
        staged = streamed
    else:
        if streamed is not None:
            streamed.abort()  # not the file declared: it goes again, from the spool
        staged = _stage_payload(ingest, metadata, upload, existing)
    try:
        return _validate_and_archive(
            ingest,
            principal,
            metadata,
            upload,
            origin,
            staged,
            correcting,
            (idempotency_key, fingerprint) if idempotency_key else None,
        )
    finally:
        staged.abort()  # does nothing once committed


def _streamed_fits(
    streamed: StagedPayload, metadata: FilingMetadata, upload: Upload, correcting: str | None
) -> bool:
    """The file sent as it arrived is the one declared, for the filing submitted to."""
    same_filing = streamed.number == 1 if correcting is None else streamed.filing_id == correcting
    return metadata.file_sha256 == upload.sha256 and same_filing


@dataclass(frozen=True)
class StagedPayload:
    """The payload sent ahead, under the version it will most likely get: a new filing's
    v1 under an id chosen now, or a correction's next number. Sending starts before
    validation and the reservation; it becomes visible only if both succeed and the
    reservation gives that very version (else it is aborted and the file sent again)."""

    filing_id: str
    number: int
    payload: PayloadFile

    def abort(self) -> None:
        if self.payload.staged is not None:
            self.payload.staged.abort()


def stream_payload(
    ingest: Ingest,
    principal: Principal,
    metadata: FilingMetadata,
    filename: str,
    path: Path,
    size_hint: int | None,
    *,
    correcting: FilingRecord | None = None,
) -> StagedPayload | None:
    """Start archiving a file while it is still being received into `path`: a new
    filing's as version 1 of a filing id chosen now, or a correction's (`correcting`,
    read before the body) as its next version. Only when its metadata declares the
    file's SHA-256 (the archive records it before the last byte is in), the principal
    may file for the body and a correction keeps its filing's body, kind and period.
    Nothing is visible until `submit_filing` commits it. Waits on no I/O (it opens
    `path` and hands work to the store's threads), so it may run on the event loop."""
    if metadata.file_sha256 is None:
        return None
    if principal.role not in SUBMITTING_ROLES or not principal.may_act_for(metadata.org_code):
        return None
    if correcting is not None and not _same_filing(correcting, metadata):
        return None
    return _stage(
        ingest, metadata, correcting, filename, path, metadata.file_sha256, size_hint=size_hint
    )


def _predicted_version(existing: FilingRecord | None) -> tuple[str, int]:
    """(filing id, version) a submission will most likely get: v1 of a new id, or the
    next number of the filing it corrects (unless a concurrent one takes it first)."""
    if existing is None:
        return new_id("fil"), 1
    return existing.id, max((v.version for v in existing.versions), default=0) + 1


def _retention(metadata: FilingMetadata) -> Period | None:
    return filing_period(metadata.model_dump(mode="json"))


def _stage_payload(
    ingest: Ingest, metadata: FilingMetadata, upload: Upload, existing: FilingRecord | None
) -> StagedPayload:
    return _stage(
        ingest, metadata, existing, upload.filename, upload.path, upload.sha256, size=upload.size
    )


def _stage(
    ingest: Ingest,
    metadata: FilingMetadata,
    existing: FilingRecord | None,
    filename: str,
    path: Path,
    sha256: str,
    *,
    size: int | None = None,
    size_hint: int | None = None,
) -> StagedPayload:
    """Stage the file under the version the submission will most likely get."""
    filing_id, number = _predicted_version(existing)
    prefix = package_prefix(
        metadata.org_code, metadata.category, metadata.period, filing_id, number
    )
    payload = ingest.packages.stage_payload(
        prefix,
        filename,
        path,
        sha256=sha256,
        size=size,
        size_hint=size_hint,
        retention=_retention(metadata),
    )
    return StagedPayload(filing_id, number, payload)


def _validate_and_archive(
    ingest: Ingest,
    principal: Principal,
    metadata: FilingMetadata,
    upload: Upload,
    origin: Origin,
    staged: StagedPayload,
    correcting: str | None,
    ingest_key: tuple[str, str] | None,
) -> Submission:
    check = check_filing(ingest, metadata, upload, principal=principal)
    if not check.valid:
        raise Rejected(check.findings)
    assert check.document is not None
    destinations = list(ingest.routes.get(metadata.category, ()))
    title = (
        check.title
        or metadata.title
        or f"{metadata.org_name}{metadata.period}年度{metadata.category.label_zh}"
    )

    def new_version(filing_id: str, number: int) -> NewVersion:
        return NewVersion(
            filename=upload.filename,
            kind=check.document.kind,  # type: ignore[union-attr]
            media_type=check.document.media_type,  # type: ignore[union-attr]
            size=upload.size,
            sha256=upload.sha256,
            title=title,
            package_prefix=package_prefix(
                metadata.org_code, metadata.category, metadata.period, filing_id, number
            ),
            metadata=metadata.model_dump(mode="json"),
            findings=[f.to_dict() for f in check.findings],
            publish_at=metadata.publish_at,
        )

    filing_id, number = ingest.catalog.reserve_version(
        filing_id=correcting,
        new_filing_id=staged.filing_id,
        org_code=metadata.org_code,
        org_name=metadata.org_name,
        category=metadata.category,
        period=metadata.period,
        actor=principal.name,
        make_version=new_version,
        ingest_key=ingest_key,
        content_sha256=upload.sha256,
    )
    payload = staged.payload
    resend = (filing_id, number) != (staged.filing_id, staged.number)
    if resend:
        log.info("staged_payload_resent", filing_id=filing_id, version=number)
        staged.abort()
    version = new_version(filing_id, number)
    event = _event(
        principal,
        origin,
        "filing.submitted" if number == 1 else "filing.corrected",
        filing_id,
        number,
        metadata,
    )
    if check.waivers:
        event = replace(
            event, detail={**event.detail, "waivers": [w.to_dict() for w in check.waivers]}
        )
    try:
        if resend:
            payload = PayloadFile(upload.filename, upload.path.open("rb"), upload.sha256)
        ref = _archive(
            ingest, filing_id, number, version, payload, metadata, destinations, principal
        )
    except (ArchiveError, ArchiveUnavailable, OSError) as exc:
        _abandon(ingest, principal, origin, filing_id, number, metadata)
        log.error("archive_write_failed", filing_id=filing_id, version=number, error=repr(exc))
        raise ArchiveUnavailable() from exc
    except BaseException:
        _abandon(ingest, principal, origin, filing_id, number, metadata)
        raise
    finally:
        if payload.source is not None:
            payload.source.close()
    ingest.catalog.complete_version(
        filing_id,
        number,
        [d.value for d in destinations],
        event,
        manifest_sha256=ref.manifest.sha256,
    )
    log.info(
        "filing_archived",
        filing_id=filing_id,
        version=number,
        destinations=[d.value for d in destinations],
    )
    record = ingest.catalog.get_filing(filing_id)
    assert record is not None
    return Submission(record)


def _fingerprint(metadata: FilingMetadata, upload: Upload, correcting: str | None) -> str:
    """What makes two submissions "the same request" for an Idempotency-Key."""
    canonical = json.dumps(
        {
            "metadata": metadata.model_dump(mode="json"),
            "sha256": upload.sha256,
            "correcting": correcting,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replay(
    catalog: Catalog, principal: Principal, key: str, fingerprint: str, now: datetime
) -> FilingRecord | None:
    known = catalog.find_ingest_key(principal.name, key)
    if known is None:
        return None
    if known.fingerprint != fingerprint:
        raise InvalidInput(
            "该幂等键已用于内容不同的另一次提交",
            "This Idempotency-Key was used with a different submission",
            code="idempotency_key_reused",
            detail={"filing_id": known.filing_id},
        )
    record = catalog.get_filing(known.filing_id)
    assert record is not None
    version = next(v for v in record.versions if v.version == known.version)
    if version.status == VersionStatus.RESERVED and now - version.created_at > STALE_RESERVATION:
        # The request that reserved it died between archive and commit: never acknowledged.
        # Abandon it (reconcile lists its objects) so this retry can go through — unless it
        # completed meanwhile, and then this is a replay after all.
        abandoned = catalog.abandon_version(
            known.filing_id,
            known.version,
            AuditEvent(
                actor=principal.name,
                role=principal.role.value,
                action="filing.abandoned",
                subject=f"{known.filing_id}/v{known.version}",
                detail={"reason": "stale reservation; retried with the same Idempotency-Key"},
            ),
        )
        if abandoned:
            return None
        return _replay(catalog, principal, key, fingerprint, now)
    if version.status == VersionStatus.RESERVED:
        raise Conflict(
            "使用该幂等键的提交仍在处理中，请稍后重试",
            "A submission with this Idempotency-Key is still being processed; retry later",
            code="idempotency_key_in_use",
        )
    return record


def _refuse_same_content(catalog: Catalog, metadata: FilingMetadata, upload: Upload) -> None:
    """Early, before any validation work; reserve_version checks again atomically."""
    same = catalog.find_same_content(
        metadata.org_code, metadata.category.value, metadata.period, upload.sha256
    )
    if same is not None:
        raise duplicate_filing(*same)


def _require_same_filing(
    catalog: Catalog, principal: Principal, filing_id: str, metadata: FilingMetadata
) -> FilingRecord:
    """The filing corrected; NotFound also for one of a body the principal may not act
    for, so that its existence is not told."""
    existing = catalog.get_filing(filing_id, with_attempts=False)
    if existing is None or not principal.may_act_for(existing.org_code):
        raise NotFound("未找到该报送", "No such filing", code="filing_not_found")
    if not _same_filing(existing, metadata):
        raise Rejected(
            [
                error_finding(
                    "correction_mismatch",
                    "更正版本的单位、类别和期间必须与原报送一致",
                    "A correction must keep the body, category and period of its filing",
                    where="metadata",
                )
            ]
        )
    return existing


def _same_filing(existing: FilingRecord, metadata: FilingMetadata) -> bool:
    """A correction keeps its filing's body, kind and period."""
    return (existing.org_code, existing.category, existing.period) == (
        metadata.org_code,
        metadata.category.value,
        metadata.period,
    )


def _archive(
    ingest: Ingest,
    filing_id: str,
    number: int,
    version: NewVersion,
    payload: PayloadFile,
    metadata: FilingMetadata,
    destinations: Sequence[Destination],
    principal: Principal,
) -> PackageRef:
    now = ingest.clock()
    document_metadata = package_metadata(
        filing_id, number, version, destinations, principal.name, now
    )
    return ingest.packages.put_package(
        version.package_prefix,
        [replace(payload, size=version.size)],
        document_metadata,
        {
            "Source-Organization": metadata.org_name,
            "Organization-Code": metadata.org_code,
            "Category": metadata.category.value,
            "Period": metadata.period,
        },
        retention=_retention(metadata),
    )


def package_metadata(
    filing_id: str,
    number: int,
    version: NewVersion,
    destinations: Sequence[Destination],
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """metadata.json: everything the catalog holds about this version (invariant 8)."""
    return {
        "filing_id": filing_id,
        "version": number,
        "supersedes": number - 1 if number > 1 else None,
        "title": version.title,
        "submitted": version.metadata,
        "file": {
            "name": version.filename,
            "kind": version.kind,
            "media_type": version.media_type,
            "size": version.size,
            "sha256": version.sha256,
        },
        "findings": version.findings,
        "waivers": waivers_of(version.findings),
        "destinations": [d.value for d in destinations],
        "archived_at": now.isoformat(),
        "archived_by": actor,
        "service_version": __version__,
    }


def waivers_of(findings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The waivers applied to a version, from its findings: code, reason, who, how many."""
    waived: dict[tuple[str, str, str], int] = {}
    for f in findings:
        if f.get("waived_by"):
            key = (f["code"], f.get("waiver_reason") or "", f["waived_by"])
            waived[key] = waived.get(key, 0) + 1
    return [
        {"code": code, "reason": reason, "waived_by": by, "findings": count}
        for (code, reason, by), count in waived.items()
    ]


def _abandon(
    ingest: Ingest,
    principal: Principal,
    origin: Origin,
    filing_id: str,
    number: int,
    metadata: FilingMetadata,
) -> None:
    ingest.catalog.abandon_version(
        filing_id,
        number,
        _event(principal, origin, "filing.abandoned", filing_id, number, metadata),
    )


def _event(
    principal: Principal,
    origin: Origin,
    action: str,
    filing_id: str,
    number: int,
    metadata: FilingMetadata,
) -> AuditEvent:
    return AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action=action,
        subject=f"{filing_id}/v{number}",
        org_code=metadata.org_code,
        source=origin.source,
        request_id=origin.request_id,
        detail={"category": metadata.category.value, "period": metadata.period},
    )


def today_in_shanghai(now: datetime) -> date:
    return now.astimezone(SHANGHAI).date()
