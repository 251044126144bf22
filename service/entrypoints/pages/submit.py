"""新建报送 and 更正: one form for everything the API takes (service.entrypoints.pages.
filing_form), read by the API's multipart reader. 「校验」 runs what `POST /v1/validations`
runs and shows the findings; 「提交报送」 submits through the use case behind
`POST /v1/filings` (and `…/{id}/versions` for a correction), which checks role and body
as for the API; a refusal is audited as the API audits it and shown on the form.

A chosen file is held (service.entrypoints.pages.held) as soon as the form is read, so
that after 「校验」 or a refusal the person submits again without choosing it again."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from python_multipart.exceptions import MultipartParseError
from starlette.responses import Response

from service.domain import errors
from service.domain.access import Principal, Role
from service.domain.filing import Category
from service.domain.metadata import FilingMetadata
from service.entrypoints.api.deps import origin_of
from service.entrypoints.api.errors import status_of
from service.entrypoints.api.filings import METADATA_PART_LIMIT, checked, refused_event
from service.entrypoints.api.multipart import SubmissionBody, boundary_of
from service.entrypoints.pages import filing_form
from service.entrypoints.pages.core import (
    PageContext,
    PageDep,
    PageRoute,
    SignedIn,
    check_csrf,
    redirect,
    render,
)
from service.entrypoints.pages.held import HeldUploads, owner_of
from service.entrypoints.pages.sessions import CSRF_FIELD
from service.uploads import Upload
from service.usecases.ingest import SUBMITTING_ROLES, submit_filing
from service.usecases.refusals import reason_missing

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FORM_FIELDS = filing_form.NAMES | {CSRF_FIELD, "file", "held", "action"}


@dataclass(frozen=True)
class Correcting:
    """The filing a correction is for, as its page shows it."""

    filing: dict[str, Any]


@dataclass
class Posted:
    fields: dict[str, str]
    held: str = ""  # the id of the held upload, "" when none
    upload: Upload | None = None


@router.get("/filings/new")
def new_filing_form(context: PageDep, principal: SignedIn) -> Response:
    principal.require_role(*SUBMITTING_ROLES)
    return filing_page(context, principal, {})


@router.post("/filings/new")
async def new_filing(context: PageDep, principal: SignedIn) -> Response:
    principal.require_role(*SUBMITTING_ROLES)  # before a byte of the file is read
    return await posted_filing(context, principal, None)


async def posted_filing(
    context: PageContext, principal: Principal, correcting: Correcting | None
) -> Response:
    """Check or submit what the form posted; the form again, with what was found."""
    posted = Posted({})
    try:
        posted = await _read_form(context)
        metadata = filing_form.metadata_of(posted.fields, org_name=_body_name(context, posted))
        upload = _required(posted.upload)
        if posted.fields.get("action") == "check":
            found = await run_in_threadpool(checked, context.services, principal, metadata, upload)
            found = _with_reason(found, metadata) if correcting else found
            return filing_page(context, principal, posted, correcting=correcting, found=found)
        filing_id = await run_in_threadpool(
            _submit, context, principal, metadata, upload, correcting
        )
    except (errors.InvalidInput, errors.Conflict) as refused:
        return filing_page(context, principal, posted, refused, correcting=correcting)
    _held_uploads(context).release(posted.held)
    return redirect(context, f"/filings/{filing_id}")


def _submit(
    context: PageContext,
    principal: Principal,
    metadata: FilingMetadata,
    upload: Upload,
    correcting: Correcting | None,
) -> str:
    services, origin = context.services, origin_of(context.request)
    corrected = correcting.filing["id"] if correcting else None
    try:
        submission = submit_filing(
            services.ingest, principal, metadata, upload, origin, correcting=corrected
        )
    except errors.Rejected as refused:
        services.catalog.audit(refused_event(principal, metadata, refused, origin, corrected))
        raise
    return submission.filing.id


def _with_reason(found: dict[str, Any], metadata: FilingMetadata) -> dict[str, Any]:
    """A correction's check says, too, that it needs a reason (as submitting it would)."""
    if metadata.reason:
        return found
    return found | {"valid": False, "findings": [reason_missing().to_dict(), *found["findings"]]}


def _required(upload: Upload | None) -> Upload:
    if upload is None:
        raise errors.InvalidInput("请选择要报送的文件", "No file was chosen", code="file_missing")
    return upload


async def _read_form(context: PageContext) -> Posted:
    """The form's fields, its CSRF token checked, and its file: the one chosen now
    (held at once), or else the one held from before."""
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
    chosen = body.upload if _chosen(body.upload) else None
    if body.upload is not None and chosen is None:
        body.upload.path.unlink(missing_ok=True)
    try:
        check_csrf(context, body.fields.get(CSRF_FIELD))
    except errors.ServiceError:
        if chosen is not None:
            chosen.path.unlink(missing_ok=True)
        raise
    return _with_file(context, body.fields, chosen)


def _chosen(upload: Upload | None) -> bool:
    """A form sent with no file chosen still has its part: empty and nameless."""
    return upload is not None and not (upload.size == 0 and upload.filename == "upload")


def _with_file(context: PageContext, fields: dict[str, str], chosen: Upload | None) -> Posted:
    held, owner, now = _held_uploads(context), _owner(context), context.services.clock()
    ident = held.hold(chosen, owner, now) if chosen is not None else fields.get("held", "")
    upload = held.take(ident, owner, now) if ident else None
    return Posted(fields, ident if upload is not None else "", upload)


def _owner(context: PageContext) -> str:
    return owner_of(context.session.name, context.session.csrf)


def _held_uploads(context: PageContext) -> HeldUploads:
    root = context.services.spool_dir or Path(tempfile.gettempdir()) / "disclosure-pages"
    return HeldUploads(root / "held")


def _body_name(context: PageContext, posted: Posted) -> str:
    """The registry's name for a registered body; what was typed for another."""
    body = context.pages.bodies.get(posted.fields.get("org_code", "").strip())
    return posted.fields.get("org_name", "").strip() or (body.name if body else "")


def filing_page(
    context: PageContext,
    principal: Principal,
    posted: Posted | dict[str, str],
    refused: errors.ServiceError | None = None,
    *,
    correcting: Correcting | None = None,
    found: dict[str, Any] | None = None,
) -> Response:
    posted = posted if isinstance(posted, Posted) else Posted(posted)
    bodies = [b for b in context.pages.bodies.bodies.values() if principal.may_act_for(b.org_code)]
    values = {
        "fields": posted.fields,
        "held": posted.held,
        "held_upload": posted.upload,
        "error": refused,
        "findings": refused.detail.get("findings", []) if refused else [],
        "problems": refused.detail.get("problems", []) if refused else [],
        "checked": found,
        "categories": list(Category),
        "bodies": bodies,
        "may_waive": principal.role is Role.ADMIN,
        "correcting": correcting.filing if correcting else None,
        "rows": {"leaders": range(filing_form.LEADER_ROWS), "units": range(filing_form.UNIT_ROWS),
                 "waivers": range(filing_form.WAIVER_ROWS)},
    }  # fmt: skip
    return render(context, "new_filing.html", values, status_of(refused) if refused else 200)
