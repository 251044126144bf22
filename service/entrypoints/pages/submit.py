"""新建报送: a form with what every filing carries (body, kind, period, title, 保密审查,
publish_at) and the file. It is read by the API's multipart reader and submitted through
the same use case (`submit_filing`, which checks role and body as for the API); refused
findings (422) are shown on the form, a new filing opens its page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from python_multipart.exceptions import MultipartParseError
from starlette.responses import Response

from service.domain import errors
from service.domain.access import Principal
from service.domain.filing import Category
from service.domain.metadata import FilingMetadata
from service.domain.time import SHANGHAI
from service.entrypoints.api.deps import origin_of
from service.entrypoints.api.errors import status_of
from service.entrypoints.api.filings import METADATA_PART_LIMIT
from service.entrypoints.api.multipart import SubmissionBody, boundary_of
from service.entrypoints.api.problems import problems
from service.entrypoints.pages.core import (
    PageContext,
    PageDep,
    PageRoute,
    SignedIn,
    check_csrf,
    redirect,
    render,
)
from service.entrypoints.pages.sessions import CSRF_FIELD
from service.uploads import Upload
from service.usecases.ingest import SUBMITTING_ROLES, submit_filing

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FORM_FIELDS = frozenset(
    {CSRF_FIELD, "org_code", "org_name", "category", "period", "title", "reviewer",
     "reviewed_on", "review_result", "publish_at", "file"}
)  # fmt: skip


@router.get("/filings/new")
def new_filing_form(context: PageDep, principal: SignedIn) -> Response:
    principal.require_role(*SUBMITTING_ROLES)
    return _form(context, principal, {})


@router.post("/filings/new")
async def new_filing(context: PageDep, principal: SignedIn) -> Response:
    principal.require_role(*SUBMITTING_ROLES)  # before a byte of the file is read
    fields, upload = await _read_form(context)
    try:
        check_csrf(context, fields.get(CSRF_FIELD))
        metadata = _metadata(context, fields)
        if upload is None:
            raise errors.InvalidInput(
                "请选择要报送的文件", "No file was chosen", code="file_missing"
            )
        submission = await run_in_threadpool(
            submit_filing,
            context.services.ingest,
            principal,
            metadata,
            upload,
            origin_of(context.request),
        )
    except (errors.InvalidInput, errors.Conflict) as refused:
        return _form(context, principal, fields, refused)
    finally:
        if upload is not None:
            upload.path.unlink(missing_ok=True)
    return redirect(context, f"/filings/{submission.filing.id}")


async def _read_form(context: PageContext) -> tuple[dict[str, str], Upload | None]:
    request, services = context.request, context.services
    body = SubmissionBody(
        boundary_of(request.headers.get("content-type", "")),
        max_upload_bytes=services.max_upload_bytes,
        max_field_bytes=METADATA_PART_LIMIT,
        field_names=FORM_FIELDS,
    )
    try:
        await body.read(request.stream(), services.spool_dir)
    except MultipartParseError as exc:
        raise errors.InvalidInput("表单格式错误", f"Malformed form: {exc}") from exc
    return body.fields, body.upload


def _metadata(context: PageContext, fields: dict[str, str]) -> FilingMetadata:
    raw: dict[str, Any] = {
        "category": fields.get("category", ""),
        "org_code": fields.get("org_code", "").strip(),
        "org_name": _body_name(context, fields),
        "period": fields.get("period", "").strip(),
        "title": fields.get("title", "").strip() or None,
        "publish_at": _publish_at(fields.get("publish_at", "")),
    }
    review = [fields.get(k, "").strip() for k in ("reviewer", "reviewed_on", "review_result")]
    if any(review):
        raw["review"] = dict(zip(("reviewer", "reviewed_on", "result"), review, strict=True))
    try:
        return FilingMetadata.model_validate(raw)
    except ValidationError as exc:
        raise errors.InvalidInput(
            "表单填写有误", "The form has invalid fields", code="invalid_metadata",
            detail={"problems": problems(exc.errors())},
        ) from exc  # fmt: skip


def _body_name(context: PageContext, fields: dict[str, str]) -> str:
    """The registry's name for a registered body; what was typed for another."""
    body = context.pages.bodies.get(fields.get("org_code", "").strip())
    return fields.get("org_name", "").strip() or (body.name if body else "")


def _publish_at(value: str) -> str | None:
    """A browser's datetime-local has no zone: it is Beijing time (Asia/Shanghai)."""
    if not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return value  # the model names it
    return (moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)).isoformat()


def _form(
    context: PageContext,
    principal: Principal,
    fields: dict[str, str],
    refused: errors.ServiceError | None = None,
) -> Response:
    bodies = [b for b in context.pages.bodies.bodies.values() if principal.may_act_for(b.org_code)]
    values = {
        "fields": fields,
        "error": refused,
        "findings": refused.detail.get("findings", []) if refused else [],
        "problems": refused.detail.get("problems", []) if refused else [],
        "categories": list(Category),
        "bodies": bodies,
    }
    return render(context, "new_filing.html", values, status_of(refused) if refused else 200)
