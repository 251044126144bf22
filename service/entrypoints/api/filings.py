"""Routes for filings: submit, correct, validate, read, retry (the list: search.py)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from python_multipart.exceptions import MultipartParseError

from service import metrics
from service.catalog.records import AuditEvent, CaptureRecord
from service.domain.access import Principal, Role
from service.domain.errors import InvalidInput, Rejected, filing_not_found
from service.domain.filing import Destination
from service.domain.findings import Finding
from service.domain.metadata import FilingMetadata
from service.entrypoints.api.deps import (
    FilingId,
    KnownQuery,
    PrincipalDep,
    ServicesDep,
    origin_of,
)
from service.entrypoints.api.documented import (
    READ_ERRORS,
    UPLOAD_ERRORS,
    WRITE_ERRORS,
    FilingOut,
    RequeuedOut,
    ValidationOut,
    multipart_body,
    ok,
)
from service.entrypoints.api.multipart import OnFile, SubmissionBody, boundary_of
from service.entrypoints.api.problems import first_en, first_zh, problems
from service.entrypoints.api.services import ApiServices
from service.entrypoints.api.views import acknowledged, filing_view
from service.uploads import Upload
from service.usecases.ingest import Origin, Submission, begin_intake, check_filing

router = APIRouter(prefix="/v1", tags=["filings"], dependencies=[KnownQuery])
METADATA_PART_LIMIT = 256 * 1024


def _invalid_metadata(exc: ValidationError | ValueError) -> InvalidInput:
    found = problems(
        exc.errors()
        if isinstance(exc, ValidationError)
        else [{"loc": (), "msg": str(exc), "type": "json_invalid"}]
    )
    return InvalidInput(
        f"metadata 部分不是有效的报送元数据（JSON）{first_zh(found)}",
        f"The metadata part is not valid filing metadata (JSON){first_en(found)}",
        code="invalid_metadata",
        detail={"problems": found},
    )


async def read_submission(
    request: Request, services: ApiServices, on_file: OnFile | None = None
) -> tuple[FilingMetadata, Upload]:
    """Parse the multipart body as it streams in: a `metadata` JSON part and a `file` part,
    which goes straight to a hashed spool file on disk."""
    body = SubmissionBody(
        boundary_of(request.headers.get("content-type", "")),
        max_upload_bytes=services.max_upload_bytes,
        max_field_bytes=METADATA_PART_LIMIT,
        on_file=on_file,
    )
    try:
        await body.read(request.stream(), services.spool_dir)
    except MultipartParseError as exc:
        raise InvalidInput(
            "multipart 请求体格式错误",
            f"Malformed multipart body: {exc}",
            code="malformed_multipart",
        ) from exc
    try:
        return _metadata(body.fields.get("metadata")), _file(body.upload)
    except BaseException:
        body.discard()
        raise


def _metadata(raw: str | None) -> FilingMetadata:
    if raw is None:
        raise InvalidInput(
            "缺少 metadata 部分", "The metadata part is missing", code="metadata_missing"
        )
    try:
        return FilingMetadata.model_validate(json.loads(raw))
    except (ValidationError, ValueError) as exc:
        raise _invalid_metadata(exc) from exc
    except RecursionError as exc:  # JSON nested deeper than the parser can follow
        raise _invalid_metadata(ValueError("nested too deep")) from exc


def _file(upload: Upload | None) -> Upload:
    if upload is None:
        raise InvalidInput(
            "缺少 file 部分（报送文件）", "The file part is missing", code="file_missing"
        )
    return upload


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 128:
        raise InvalidInput(
            "Idempotency-Key 长度须为 1 至 128 个字符",
            "Idempotency-Key must be 1 to 128 characters",
            code="invalid_idempotency_key",
        )
    return key


def _submitted(submission: Submission, captures: Sequence[CaptureRecord]) -> JSONResponse:
    """`captures`: a correction's earlier versions' published pages (their findings)."""
    filing = submission.filing
    headers = {"Location": f"/v1/filings/{filing.id}"}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        filing_view(filing, captures),
        status_code=200 if submission.replayed else 201,
        headers=headers,
    )


_SUBMITTED: dict[int | str, dict[str, Any]] = {
    201: {"model": FilingOut, "description": "已归档并排入投递 Archived and queued for delivery"},
    200: {"model": FilingOut, "description": "同一 Idempotency-Key 的重放 A replay of the key"},
    **UPLOAD_ERRORS,
}


@router.post(
    "/filings",
    status_code=201,
    summary="提交报送 Submit a filing",
    response_model=None,
    responses=_SUBMITTED,
    openapi_extra=multipart_body("报送元数据与文件 The filing's metadata and its document"),
)
async def submit(request: Request, services: ServicesDep, principal: PrincipalDep) -> JSONResponse:
    """Idempotency-Key (optional): the same key and body give the same filing (200, replayed).
    With `file_sha256` in the metadata part, sent before the file part, the file goes to
    the archive while it is received."""
    return await _accept(request, services, principal, correcting=None)


@router.post(
    "/filings/{filing_id}/versions",
    status_code=201,
    summary="提交更正版本 Submit a corrected version",
    response_model=None,
    responses=_SUBMITTED,
    openapi_extra=multipart_body("更正版本的元数据与文件 The corrected version and its metadata"),
)
async def correct(
    filing_id: FilingId, request: Request, services: ServicesDep, principal: PrincipalDep
) -> JSONResponse:
    """As `POST /v1/filings`, for version n+1 of the filing."""
    return await _accept(request, services, principal, correcting=filing_id)


async def _accept(
    request: Request, services: ApiServices, principal: Principal, correcting: str | None
) -> JSONResponse:
    key = _idempotency_key(request)
    length = request.headers.get("content-length", "")
    intake = await run_in_threadpool(
        lambda: begin_intake(
            services.ingest,
            principal,
            correcting=correcting,
            size_hint=int(length) if length.isdigit() else None,
        )
    )
    try:
        metadata, upload = await read_submission(request, services, on_file=intake.on_file)
        try:
            submission = await run_in_threadpool(
                lambda: intake.submit(metadata, upload, origin_of(request), idempotency_key=key)
            )
        except Rejected as refused:
            _count(metadata, "refused", refused.findings)
            event = refused_event(principal, metadata, refused, origin_of(request), correcting)
            await run_in_threadpool(services.catalog.audit, event)
            raise
        finally:
            upload.path.unlink(missing_ok=True)
    finally:
        intake.close()  # whatever was sent ahead and not committed; never waits here
    replayed = submission.replayed
    _count(
        metadata, "replayed" if replayed else "accepted", () if replayed else _findings(submission)
    )
    captures: Sequence[CaptureRecord] = ()
    if len(submission.filing.versions) > 1:  # a first version has no published page yet
        captures = await run_in_threadpool(services.catalog.captures, submission.filing.id)
    return _submitted(submission, captures)


def refused_event(
    principal: Principal,
    metadata: FilingMetadata,
    refused: Rejected,
    origin: Origin,
    correcting: str | None,
) -> AuditEvent:
    """A refused submission is audited with what refused it: nothing was archived, so
    the subject is the filing corrected, or the body, kind and period filed for."""
    category = metadata.category.value
    return AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action="filing.refused",
        subject=correcting or f"{metadata.org_code}/{category}/{metadata.period}",
        org_code=metadata.org_code,
        source=origin.source,
        request_id=origin.request_id,
        detail={
            "category": category,
            "period": metadata.period,
            "codes": [f.code for f in refused.findings if f.is_error],
            "warnings": [f.code for f in refused.findings if not f.is_error],
        },
    )


def _count(metadata: FilingMetadata, outcome: str, findings: Iterable[Finding]) -> None:
    metrics.FILINGS.labels(metadata.category.value, outcome).inc()
    metrics.count_findings(findings)


def _findings(submission: Submission) -> list[Finding]:
    latest = submission.filing.versions[-1]
    return [Finding.from_dict(f) for f in latest.findings]


@router.post(
    "/validations",
    summary="仅校验，不归档 Validate without storing",
    response_model=None,
    responses=ok(ValidationOut, "校验结果 The findings", UPLOAD_ERRORS),
    openapi_extra=multipart_body("待校验的元数据与文件 What to check"),
)
async def validate(
    request: Request, services: ServicesDep, principal: PrincipalDep
) -> dict[str, Any]:
    metadata, upload = await read_submission(request, services)
    try:
        return await run_in_threadpool(checked, services, principal, metadata, upload)
    finally:
        upload.path.unlink(missing_ok=True)


def checked(
    services: ApiServices, principal: Principal, metadata: FilingMetadata, upload: Upload
) -> dict[str, Any]:
    """What `POST /v1/validations` answers (the pages' 「校验」 too): the findings, nothing stored."""
    principal.require_body(metadata.org_code)
    check = check_filing(services.ingest, metadata, upload, principal=principal)
    return {
        "valid": check.valid,
        "title": check.title,
        "findings": [f.to_dict() for f in check.findings],
    }


def _visible(principal: Principal, org_code: str) -> None:
    if not principal.may_act_for(org_code):
        raise filing_not_found()


@router.get(
    "/filings/{filing_id}",
    summary="报送详情 A filing with its versions, deliveries and attempts",
    response_model=None,
    responses=ok(FilingOut, "报送 The filing", READ_ERRORS),
)
def get_filing(
    filing_id: FilingId, services: ServicesDep, principal: PrincipalDep
) -> dict[str, Any]:
    found = services.catalog.get_filing(filing_id)
    record = acknowledged(found) if found is not None else None
    if record is None:
        raise filing_not_found()
    _visible(principal, record.org_code)
    return filing_view(record, services.catalog.captures(filing_id))


@router.post(
    "/filings/{filing_id}/deliveries/{destination}/retry",
    summary="重新投递失败项 Re-queue a failed delivery",
    response_model=None,
    responses=ok(RequeuedOut, "已重新排队 Queued again", WRITE_ERRORS),
)
def retry_delivery(
    filing_id: FilingId,
    destination: Destination,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    principal.require_role(Role.OPERATOR, Role.ADMIN)
    record = services.catalog.get_filing(filing_id, with_attempts=False)
    if record is None:
        raise filing_not_found()
    _visible(principal, record.org_code)
    origin = origin_of(request)
    event = AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action="delivery.retry_requested",
        subject=f"{filing_id}/{destination.value}",
        org_code=record.org_code,
        source=origin.source,
        request_id=origin.request_id,
    )
    delivery = services.catalog.requeue_failed_delivery(filing_id, destination.value, event)
    return {"delivery_id": delivery.id, "version": delivery.version, "status": delivery.status}
