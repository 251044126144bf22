"""Routes for what is archived: download a package, verify its fixity."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from service.catalog.records import AuditEvent, FilingRecord
from service.domain.access import Principal
from service.domain.errors import DamagedArchive, FixityMismatch, NotFound, filing_not_found
from service.entrypoints.api.deps import FilingId, KnownQuery, PrincipalDep, ServicesDep, origin_of
from service.entrypoints.api.documented import READ_ERRORS, ZIP_ANSWER, FixityOut, ok
from service.usecases.verification import LIVE, verify_filing

router = APIRouter(prefix="/v1", tags=["archive"], dependencies=[KnownQuery])
log = structlog.get_logger()


def _visible_filing(services: Any, principal: Principal, filing_id: str) -> FilingRecord:
    filing: FilingRecord | None = services.catalog.get_filing(filing_id, with_attempts=False)
    if filing is None or not principal.may_act_for(filing.org_code):
        raise filing_not_found()
    return filing


@router.get(
    "/filings/{filing_id}/package",
    summary="下载归档包 Download a version's bag as a zip",
    response_class=FileResponse,
    responses=ZIP_ANSWER | READ_ERRORS,
)
async def download_package(
    filing_id: FilingId,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> FileResponse:
    """The BagIt bag of one version (the latest by default), receipts included as tag files.
    Every payload byte is re-hashed on the way; a mismatch refuses the download."""
    filing = _visible_filing(services, principal, filing_id)
    number = version or filing.latest_version
    chosen = next((v for v in filing.versions if v.version == number and v.status in LIVE), None)
    if chosen is None:
        raise NotFound(
            "未找到该版本的归档包", "No archived package for that version", code="version_not_found"
        )
    bag_name = f"{filing.id}-v{number}"
    fd, path = tempfile.mkstemp(prefix="bag-", suffix=".zip")
    try:
        with os.fdopen(fd, "wb") as out:
            await run_in_threadpool(
                services.packages.write_zip, chosen.package_prefix, out, bag_name=bag_name
            )
    except FixityMismatch as exc:
        os.unlink(path)
        log.error("download_refused_fixity", filing_id=filing.id, version=number, error=str(exc))
        services.catalog.audit(
            AuditEvent(
                actor=principal.name,
                role=principal.role.value,
                action="fixity.failed",
                subject=f"{filing.id}/v{number}",
                org_code=filing.org_code,
                detail={"on": "download", "error": str(exc)},
            )
        )
        raise DamagedArchive() from exc
    except BaseException:
        os.unlink(path)
        raise
    services.catalog.audit(_downloaded(principal, filing, number, request))
    return FileResponse(
        path,
        media_type="application/zip",
        filename=f"{bag_name}.zip",
        background=BackgroundTask(os.unlink, path),
    )


def _downloaded(
    principal: Principal, filing: FilingRecord, number: int, request: Request
) -> AuditEvent:
    """Reading a package is audited too: who took a copy of what, from where."""
    origin = origin_of(request)
    return AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action="package.downloaded",
        subject=f"{filing.id}/v{number}",
        org_code=filing.org_code,
        source=origin.source,
        request_id=origin.request_id,
        detail={"version": number},
    )


@router.post(
    "/filings/{filing_id}/verify",
    summary="固定性校验 Re-hash a filing's packages from storage",
    response_model=None,
    responses=ok(FixityOut, "每个版本的结果 Each version's check", READ_ERRORS),
)
async def verify(
    filing_id: FilingId, services: ServicesDep, principal: PrincipalDep
) -> dict[str, Any]:
    filing = _visible_filing(services, principal, filing_id)
    results = await run_in_threadpool(
        lambda: verify_filing(
            services.catalog,
            services.packages,
            filing.id,
            checked_by=principal.name,
            now=services.clock(),
            recipients=services.recipients,
            proof=services.proof,
        )
    )
    return {
        "filing_id": filing.id,
        "ok": all(r.ok for r in results),
        "versions": [
            {"version": r.version, "package": r.package, "ok": r.ok, **r.report} for r in results
        ],
    }
