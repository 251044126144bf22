"""Submitting a filing, the one use case behind POST /v1/filings and its corrections:
check it, reserve its version, archive its package, queue its deliveries — and only
then acknowledge (DESIGN.md invariant 1).

    intake = begin_intake(ingest, principal, correcting=None, size_hint=…)
    …the body arrives; intake.on_file(…) may start sending the file (service.usecases.staging)…
    submission = intake.submit(metadata, upload, origin, idempotency_key="…")
    intake.close()                    # whatever was sent and not committed is aborted

    check ─▶ reserve (filing, version) ─▶ write package (payload…, manifest last) ─▶
    commit version archived + outbox rows + audit ─▶ 201

A failure while archiving abandons the reservation and answers 503; the objects
already written stay (the archive never deletes) and `reconcile` reports them.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog
from pydantic import ValidationError

from service.archive.packages import PackageRef, Packages, PayloadFile, package_prefix
from service.archive.packages.proof import tag_manifest_key
from service.archive.version_metadata import FileFacts, VersionMetadata
from service.catalog.ports import Filings, Reservations, in_progress
from service.catalog.records import AuditEvent, FilingRecord, NewVersion, StampJob
from service.categories import category_spec
from service.domain.access import Principal, Role
from service.domain.destinations import without_account
from service.domain.errors import (
    ArchiveError,
    ArchiveUnavailable,
    Conflict,
    InvalidInput,
    Rejected,
    filing_not_found,
)
from service.domain.filing import Category, Destination, VersionStatus
from service.domain.metadata import FilingMetadata, filing_key
from service.domain.time import shanghai_date
from service.uploads import SpoolListener, Upload
from service.usecases.checking import Check, Checks, check_submission
from service.usecases.refusals import (
    refuse_correction,
    refuse_same_content,
    refuse_second_filing,
    same_filing,
)
from service.usecases.staging import PayloadStaging, retention_of
from service.validation.formats.documents import usable_name

log = structlog.get_logger()
SUBMITTING_ROLES = (Role.OPERATOR, Role.ADMIN)
RETRY_IN_PROGRESS_S = 5  # a submission in progress is usually done within seconds


class IngestCatalog(Reservations, Filings, Protocol):
    """What submitting asks of the catalog."""


@dataclass(frozen=True)
class Ingest:
    """Everything submitting needs, built once by the composition root."""

    catalog: IngestCatalog
    packages: Packages
    checks: Checks
    clock: Callable[[], datetime]

    @property
    def routes(self) -> Mapping[Category, Sequence[Destination]]:
        return self.checks.routes

    def destinations(self, metadata: FilingMetadata) -> tuple[list[str], list[str]]:
        """Where a filing goes, and where it is routed but not enabled (未开通): a
        destination that publishes on a body's own account, for a body without one."""
        body = self.checks.registry.get(metadata.org_code)
        going, skipped = without_account(
            self.routes.get(metadata.category, ()),
            self.checks.limits,
            body.accounts if body else (),
        )
        return [d.value for d in going], [d.value for d in skipped]


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit log."""

    source: str | None = None
    request_id: str | None = None


@dataclass(frozen=True)
class Submission:
    filing: FilingRecord
    replayed: bool = False  # the same Idempotency-Key and body came before: nothing new was stored


def check_filing(
    ingest: Ingest, metadata: FilingMetadata, upload: Upload, *, principal: Principal | None = None
) -> Check:
    """Validate a submission without storing anything (service.usecases.checking), on today's
    date and against last period's archived filing of the body and kind."""
    return check_submission(
        ingest.checks,
        metadata,
        upload,
        received_on=shanghai_date(ingest.clock()),
        principal=principal,
        previous=_previous_period(ingest.catalog, metadata),
    )


def begin_intake(
    ingest: Ingest, principal: Principal, *, correcting: str | None, size_hint: int | None
) -> Intake:
    """A submission about to be received. A correction's filing is read now, before
    the body, so that the correction too can be sent while it arrives."""
    existing = ingest.catalog.get_filing(correcting, with_attempts=False) if correcting else None
    return Intake(ingest, principal, correcting, existing, size_hint)


def submit_filing(
    ingest: Ingest,
    principal: Principal,
    metadata: FilingMetadata,
    upload: Upload,
    origin: Origin,
    *,
    correcting: str | None = None,
    idempotency_key: str | None = None,
) -> Submission:
    """A file already received (the CLI, tests): the same steps as an intake's."""
    intake = begin_intake(ingest, principal, correcting=correcting, size_hint=upload.size)
    try:
        return intake.submit(metadata, upload, origin, idempotency_key=idempotency_key)
    finally:
        intake.close(wait=True)


class Intake:
    """One submission from its first byte to its answer; owns its payload's staging."""

    def __init__(
        self,
        ingest: Ingest,
        principal: Principal,
        correcting: str | None,
        existing: FilingRecord | None,
        size_hint: int | None,
    ) -> None:
        self._ingest = ingest
        self._principal = principal
        self._correcting = correcting
        self._existing = existing
        self._size_hint = size_hint
        self._staging: PayloadStaging | None = None

    def on_file(self, fields: Mapping[str, str], filename: str, path: Path) -> SpoolListener | None:
        """The file part begins: send it while it arrives when the metadata part came
        first, declares the file's SHA-256, and names a body the principal files for
        (and, for a correction, its filing's body, kind and period)."""
        metadata = _parsed(fields.get("metadata"))
        if metadata is None or not self._may_stream(metadata):
            return None
        self._staging = PayloadStaging(self._ingest.packages, metadata, self._existing)
        return self._staging.stream(filename, path, self._size_hint)

    def _may_stream(self, metadata: FilingMetadata) -> bool:
        p = self._principal
        if metadata.file_sha256 is None or p.role not in SUBMITTING_ROLES:
            return False
        if not p.may_act_for(metadata.org_code):
            return False
        if self._correcting is None:
            return True
        return self._existing is not None and same_filing(self._existing, metadata)

    def submit(
        self,
        metadata: FilingMetadata,
        upload: Upload,
        origin: Origin,
        *,
        idempotency_key: str | None = None,
    ) -> Submission:
        ingest, principal = self._ingest, self._principal
        principal.require_role(*SUBMITTING_ROLES)
        principal.require_body(metadata.org_code)
        fingerprint = _fingerprint(metadata, upload, self._correcting)
        if idempotency_key is not None:
            replay = _replay(ingest, principal, idempotency_key, fingerprint)
            if replay is not None:
                return Submission(replay, replayed=True)
        existing = self._require_filing(metadata) if self._correcting else None
        refuse_same_content(ingest.catalog, metadata, upload)
        if existing is None:
            refuse_second_filing(ingest.catalog, metadata)
        staging = self._staging or PayloadStaging(ingest.packages, metadata, existing)
        self._staging = staging
        key = (idempotency_key, fingerprint) if idempotency_key else None
        try:
            staging.stage(upload)
            acceptance = _Acceptance(
                ingest, principal, metadata, upload, origin, staging, self._correcting, key
            )
            return _accept(acceptance)
        finally:
            staging.abort()  # at once, on this thread: does nothing once committed

    def _require_filing(self, metadata: FilingMetadata) -> FilingRecord:
        """The filing corrected; NotFound also for one of a body the principal may not
        act for, so that its existence is not told."""
        assert self._correcting is not None
        existing = self._ingest.catalog.get_filing(self._correcting, with_attempts=False)
        if existing is None or not self._principal.may_act_for(existing.org_code):
            raise filing_not_found()
        refuse_correction(existing, metadata)
        return existing

    def close(self, *, wait: bool = False) -> None:
        """Abort whatever was staged and not committed: from a thread of its own unless
        `wait` (an abort waits for the parts in flight; the event loop must not)."""
        if self._staging is not None:
            (self._staging.abort if wait else self._staging.abort_aside)()


@dataclass(frozen=True)
class _Acceptance:
    ingest: Ingest
    principal: Principal
    metadata: FilingMetadata
    upload: Upload
    origin: Origin
    staging: PayloadStaging
    correcting: str | None
    ingest_key: tuple[str, str] | None

    def event(self, action: str, filing_id: str, number: int) -> AuditEvent:
        return AuditEvent(
            actor=self.principal.name,
            role=self.principal.role.value,
            action=action,
            subject=f"{filing_id}/v{number}",
            org_code=self.metadata.org_code,
            source=self.origin.source,
            request_id=self.origin.request_id,
            detail={"category": self.metadata.category.value, "period": self.metadata.period},
        )


def _accept(a: _Acceptance) -> Submission:
    check = check_filing(a.ingest, a.metadata, a.upload, principal=a.principal)
    if not check.valid:
        raise Rejected(check.findings)
    a = _named_by_type(a, check)
    make_version = functools.partial(_new_version, a, check)
    filing_id, number = a.ingest.catalog.reserve_version(
        filing_id=a.correcting,
        new_filing_id=a.staging.filing_id,
        org_code=a.metadata.org_code,
        org_name=a.metadata.org_name,
        category=a.metadata.category,
        period=a.metadata.period,
        actor=a.principal.name,
        make_version=make_version,
        ingest_key=a.ingest_key,
        content_sha256=a.upload.sha256,
        filed_once=filing_key(a.metadata),
    )
    with a.ingest.catalog.hold_reservation(filing_id, number):  # until acknowledged or not
        version = make_version(filing_id, number)
        ref = _archive_or_abandon(a, filing_id, number, version)
        _complete(a, check, filing_id, number, ref)
    record = a.ingest.catalog.get_filing(filing_id)
    assert record is not None
    return Submission(record)


def _registered_name(ingest: Ingest, metadata: FilingMetadata) -> str:
    """The body's name as the registry has it (an alias in the metadata is not it)."""
    body = ingest.checks.registry.get(metadata.org_code)
    return body.name if body is not None else metadata.org_name


def _named_by_type(a: _Acceptance, check: Check) -> _Acceptance:
    """A file whose name has no extension of its type is stored under one that has
    (staged again under it, if it was staged under the other)."""
    assert check.document is not None
    name = usable_name(a.upload.filename, check.document.kind)
    if name == a.upload.filename:
        return a
    upload = replace(a.upload, filename=name)
    a.staging.stage(upload)
    return replace(a, upload=upload)


def fallback_title(m: FilingMetadata) -> str:
    """A title for a document that names none: 「…2023年度部门预算」 for a year,
    「…重大民生信息（2024-01-05）」 for an item of a day."""
    if m.category.annual:
        return f"{m.org_name}{m.period}年度{m.category.label_zh}"
    return f"{m.org_name}{m.category.label_zh}（{m.period}）"


def _new_version(a: _Acceptance, check: Check, filing_id: str, number: int) -> NewVersion:
    assert check.document is not None
    m = a.metadata
    return NewVersion(
        filename=a.upload.filename,
        kind=check.document.kind,
        media_type=check.document.media_type,
        size=a.upload.size,
        sha256=a.upload.sha256,
        title=check.title or m.title or fallback_title(m),
        package_prefix=package_prefix(m.org_code, m.category, m.period, filing_id, number),
        metadata=m.model_dump(mode="json"),
        findings=[f.to_dict() for f in check.findings],
        publish_at=m.publish_at,
    )


def _archive_or_abandon(
    a: _Acceptance, filing_id: str, number: int, version: NewVersion
) -> PackageRef:
    payload = a.staging.payload_for(filing_id, number, a.upload)
    try:
        return _archive(a, filing_id, number, version, payload)
    except (ArchiveError, ArchiveUnavailable, OSError) as exc:
        _abandon(a, filing_id, number)
        log.error("archive_write_failed", filing_id=filing_id, version=number, error=repr(exc))
        raise ArchiveUnavailable() from exc
    except BaseException:
        _abandon(a, filing_id, number)
        raise
    finally:
        if payload.source is not None:
            payload.source.close()


def _archive(
    a: _Acceptance, filing_id: str, number: int, version: NewVersion, payload: PayloadFile
) -> PackageRef:
    m = a.metadata
    destinations, not_enabled = a.ingest.destinations(m)
    document = VersionMetadata(
        filing_id=filing_id,
        version=number,
        title=version.title,
        submitted=version.metadata,
        file=FileFacts(
            version.filename, version.kind, version.media_type, version.size, version.sha256
        ),
        findings=version.findings,
        destinations=tuple(destinations),
        not_enabled=tuple(not_enabled),
        archived_at=a.ingest.clock(),
        archived_by=a.principal.name,
    )
    return a.ingest.packages.put_package(
        version.package_prefix,
        [replace(payload, size=version.size)],
        document.to_json(),
        {
            "Source-Organization": _registered_name(a.ingest, m),
            "Organization-Code": m.org_code,
            "Category": m.category.value,
            "Period": m.period,
        },
        retention=retention_of(m),
    )


def _complete(a: _Acceptance, check: Check, filing_id: str, number: int, ref: PackageRef) -> None:
    destinations, not_enabled = a.ingest.destinations(a.metadata)
    event = a.event("filing.submitted" if number == 1 else "filing.corrected", filing_id, number)
    if not_enabled:  # routed there, but the body has no account there (未开通)
        event = replace(event, detail={**event.detail, "not_enabled": not_enabled})
    if check.waivers:
        waivers = [w.to_dict() for w in check.waivers]
        event = replace(event, detail={**event.detail, "waivers": waivers})
    a.ingest.catalog.complete_version(
        filing_id,
        number,
        destinations,
        event,
        manifest_sha256=ref.manifest.sha256,
        stamps=[StampJob(filing_id, number, tag_manifest_key(ref.prefix))],
        not_enabled=not_enabled,
    )
    log.info(
        "filing_archived", filing_id=filing_id, version=number, destinations=destinations,
        not_enabled=not_enabled,
    )  # fmt: skip


def _abandon(a: _Acceptance, filing_id: str, number: int) -> None:
    a.ingest.catalog.abandon_version(
        filing_id, number, a.event("filing.abandoned", filing_id, number)
    )


# -- before any work -------------------------------------------------------------------


def _parsed(raw: str | None) -> FilingMetadata | None:
    try:
        return FilingMetadata.model_validate(json.loads(raw or ""))
    except (ValidationError, ValueError, RecursionError):
        return None  # answered properly once the body is read


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
    ingest: Ingest, principal: Principal, key: str, fingerprint: str
) -> FilingRecord | None:
    catalog = ingest.catalog
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
    if version.status is not VersionStatus.RESERVED:
        return record
    held = catalog.reservation_held(known.filing_id, known.version)
    if in_progress(held, version.created_at, ingest.clock()):
        raise Conflict(
            "使用该幂等键的提交仍在处理中，请稍后重试",
            "A submission with this Idempotency-Key is still being processed; retry later",
            code="idempotency_key_in_use",
            retry_after=RETRY_IN_PROGRESS_S,
        )
    # The request that reserved it died (its hold went with its process): it was never
    # acknowledged. Abandon it (reconcile lists its objects) so this retry can go through
    # — unless it completed meanwhile, and then this is a replay after all.
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
    return None if abandoned else _replay(ingest, principal, key, fingerprint)


def _previous_period(catalog: IngestCatalog, metadata: FilingMetadata) -> FilingMetadata | None:
    """Last period's filing of this body and kind, when archived and when its kind's rules
    compare with it (the 年报's cross-year checks)."""
    compares = category_spec(metadata.category).compares_with_previous
    if not compares or not metadata.category.annual or not metadata.period.isdigit():
        return None
    found = catalog.latest_metadata(
        metadata.org_code, metadata.category.value, str(int(metadata.period) - 1)
    )
    try:
        return FilingMetadata.model_validate(found) if found is not None else None
    except ValueError:  # archived under an older shape: no cross-year check
        return None
