"""Routes for filings: submit, correct, validate, read, list."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from python_multipart.exceptions import MultipartParseError

from service.api.deps import ContainerDep, PrincipalDep
from service.api.multipart import OnFile, SubmissionBody, boundary_of
from service.api.views import filing_view
from service.archive.port import StagedPut
from service.bootstrap import Container
from service.catalog.records import AuditEvent, FilingQuery, FilingRecord
from service.domain.access import Principal, Role
from service.domain.errors import InvalidInput, NotFound
from service.domain.filing import Category, DeliveryStatus, Destination, ReviewState, VersionStatus
from service.domain.metadata import FilingMetadata
from service.ingest import (
    Ingest,
    Origin,
    StagedPayload,
    Submission,
    check_filing,
    stream_payload,
    submit_filing,
)
from service.uploads import SpoolListener, Upload

router = APIRouter(prefix="/v1", tags=["filings"])
METADATA_PART_LIMIT = 256 * 1024


def _invalid_metadata(exc: ValidationError | ValueError) -> InvalidInput:
    problems = (
        [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        if isinstance(exc, ValidationError)
        else [{"loc": [], "msg": str(exc)}]
    )
    return InvalidInput(
        "metadata 部分不是有效的报送元数据（JSON）",
        "The metadata part is not valid filing metadata (JSON)",
        code="invalid_metadata",
        detail={"problems": problems},
    )


async def read_submission(
    request: Request, max_upload_bytes: int, on_file: OnFile | None = None
) -> tuple[FilingMetadata, Upload]:
    """Parse the multipart body as it streams in: a `metadata` JSON part and a `file` part,
    which goes straight to a hashed spool file on disk."""
    body = SubmissionBody(
        boundary_of(request.headers.get("content-type", "")),
        max_upload_bytes=max_upload_bytes,
        max_field_bytes=METADATA_PART_LIMIT,
        on_file=on_file,
    )
    try:
        await body.read(request.stream())
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


def _file(upload: Upload | None) -> Upload:
    if upload is None:
        raise InvalidInput(
            "缺少 file 部分（报送文件）", "The file part is missing", code="file_missing"
        )
    return upload


def _origin(request: Request) -> Origin:
    client = request.client.host if request.client else None
    return Origin(source=client, request_id=request.scope.get("state", {}).get("request_id"))


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is not None and not 1 <= len(key) <= 128:
        raise InvalidInput(
            "Idempotency-Key 长度须为 1 至 128 个字符",
            "Idempotency-Key must be 1 to 128 characters",
            code="invalid_idempotency_key",
        )
    return key


def _submitted(submission: Submission) -> JSONResponse:
    filing = submission.filing
    headers = {"Location": f"/v1/filings/{filing.id}"}
    if submission.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(
        filing_view(filing), status_code=200 if submission.replayed else 201, headers=headers
    )


class _Streaming:
    """The file archived as it arrives (`stream_payload`), when the metadata part came
    first and declares the file's SHA-256."""

    def __init__(
        self,
        ingest: Ingest,
        principal: Principal,
        request: Request,
        existing: FilingRecord | None,
        *,
        streamable: bool,
    ) -> None:
        self._ingest = ingest
        self._principal = principal
        self._existing = existing
        self._streamable = streamable
        length = request.headers.get("content-length", "")
        self._size_hint = int(length) if length.isdigit() else None
        self.staged: StagedPayload | None = None

    def on_file(self, fields: Mapping[str, str], filename: str, path: Path) -> SpoolListener | None:
        if not self._streamable:
            return None
        try:
            metadata = FilingMetadata.model_validate(json.loads(fields.get("metadata", "")))
        except (ValidationError, ValueError):
            return None  # answered properly once the body is read
        self.staged = stream_payload(
            self._ingest,
            self._principal,
            metadata,
            filename,
            path,
            self._size_hint,
            correcting=self._existing,
        )
        if self.staged is None or self.staged.payload.staged is None:
            return None
        return _AbortingAside(self.staged.payload.staged)

    def abort_aside(self) -> None:
        if self.staged is not None:
            _abort_aside(self.staged.abort)


@dataclass(frozen=True)
class _AbortingAside:
    """A staged put told of the spool's growth on the event loop, where an abort, which
    waits for the parts in flight, must not run."""

    staged: StagedPut

    def grown(self, size: int) -> None:
        self.staged.grown(size)

    def seal(self, size: int) -> None:
        self.staged.seal(size)

    def abort(self) -> None:
        _abort_aside(self.staged.abort)


def _abort_aside(abort: Callable[[], None]) -> None:
    threading.Thread(target=abort, name="abort-streamed", daemon=True).start()


@router.post("/filings", status_code=201, summary="提交报送 Submit a filing")
async def submit(
    request: Request, container: ContainerDep, principal: PrincipalDep
) -> JSONResponse:
    """Idempotency-Key (optional): the same key and body give the same filing (200, replayed).
    With `file_sha256` in the metadata part, sent before the file part, the file goes to
    the archive while it is received."""
    return await _accept(request, container, principal, correcting=None)


@router.post(
    "/filings/{filing_id}/versions",
    status_code=201,
    summary="提交更正版本 Submit a corrected version",
)
async def correct(
    filing_id: str, request: Request, container: ContainerDep, principal: PrincipalDep
) -> JSONResponse:
    """As `POST /v1/filings`, for version n+1 of the filing."""
    return await _accept(request, container, principal, correcting=filing_id)


async def _accept(
    request: Request, container: Container, principal: Principal, correcting: str | None
) -> JSONResponse:
    key = _idempotency_key(request)
    existing = None
    if correcting is not None:  # read before the body, to stream the correction too
        existing = await run_in_threadpool(
            lambda: container.catalog.get_filing(correcting, with_attempts=False)
        )
    streaming = _Streaming(
        container.ingest,
        principal,
        request,
        existing,
        streamable=correcting is None or bool(existing),
    )
    try:
        metadata, upload = await read_submission(
            request, container.settings.max_upload_bytes, on_file=streaming.on_file
        )
    except BaseException:
        streaming.abort_aside()
        raise
    try:
        submission = await run_in_threadpool(
            lambda: submit_filing(
                container.ingest,
                principal,
                metadata,
                upload,
                _origin(request),
                correcting=correcting,
                idempotency_key=key,
                streamed=streaming.staged,
            )
        )
    except BaseException:
        streaming.abort_aside()  # in case submit_filing never ran (cancelled before)
        raise
    finally:
        upload.path.unlink(missing_ok=True)  # submit_filing settles the streamed payload
    return _submitted(submission)


@router.post("/validations", summary="仅校验，不归档 Validate without storing")
async def validate(
    request: Request, container: ContainerDep, principal: PrincipalDep
) -> dict[str, Any]:
    metadata, upload = await read_submission(request, container.settings.max_upload_bytes)
    try:
        principal.require_body(metadata.org_code)
        check = await run_in_threadpool(
            lambda: check_filing(container.ingest, metadata, upload, principal=principal)
        )
    finally:
        upload.path.unlink(missing_ok=True)
    return {
        "valid": check.valid,
        "title": check.title,
        "findings": [f.to_dict() for f in check.findings],
    }


def _visible(principal: Principal, org_code: str) -> None:
    if not principal.may_act_for(org_code):
        raise NotFound("未找到该报送", "No such filing", code="filing_not_found")


@router.get(
    "/filings/{filing_id}", summary="报送详情 A filing with its versions, deliveries and attempts"
)
def get_filing(filing_id: str, container: ContainerDep, principal: PrincipalDep) -> dict[str, Any]:
    record = container.catalog.get_filing(filing_id)
    if record is None:
        raise NotFound("未找到该报送", "No such filing", code="filing_not_found")
    _visible(principal, record.org_code)
    return filing_view(record)


@router.get("/filings", summary="查询报送 Search filings")
def list_filings(
    container: ContainerDep,
    principal: PrincipalDep,
    org_code: str | None = None,
    category: Category | None = None,
    period: str | None = None,
    status: VersionStatus | None = None,
    delivery_status: DeliveryStatus | None = None,
    review_status: ReviewState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    query = FilingQuery(
        org_codes=principal.visible_bodies(),
        org_code=org_code,
        category=category.value if category else None,
        period=period,
        status=status,
        delivery_status=delivery_status,
        review_status=review_status,
        limit=limit,
        offset=offset,
    )
    return {"filings": [filing_view(f) for f in container.catalog.list_filings(query)]}


@router.post(
    "/filings/{filing_id}/deliveries/{destination}/retry",
    summary="重新投递失败项 Re-queue a failed delivery",
)
def retry_delivery(
    filing_id: str,
    destination: Destination,
    request: Request,
    container: ContainerDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    principal.require_role(Role.OPERATOR, Role.ADMIN)
    record = container.catalog.get_filing(filing_id, with_attempts=False)
    if record is None:
        raise NotFound("未找到该报送", "No such filing", code="filing_not_found")
    _visible(principal, record.org_code)
    origin = _origin(request)
    event = AuditEvent(
        actor=principal.name,
        role=principal.role.value,
        action="delivery.retry_requested",
        subject=f"{filing_id}/{destination.value}",
        org_code=record.org_code,
        source=origin.source,
        request_id=origin.request_id,
    )
    delivery = container.catalog.requeue_failed_delivery(filing_id, destination.value, event)
    return {"delivery_id": delivery.id, "version": delivery.version, "status": delivery.status}
