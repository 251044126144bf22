"""以本报告替换平台已有报告: the form on a filing's page, for a delivery the legal platform
refused because it holds another report for the body and year (40901). It calls the API's
own use case (`replace_existing`, which checks role, body and the conflict as for the
API), then opens the filing's page again."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import Response

from service.domain import errors
from service.entrypoints.api.deps import FilingId, origin_of
from service.entrypoints.api.documented import ReplaceIn
from service.entrypoints.pages.core import PageDep, PageRoute, SignedIn, redirect, require_csrf
from service.usecases.replacing import ReplacementRequest, replace_existing

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/filings/{filing_id}/replace-existing")
async def replace_existing_report(
    context: PageDep, principal: SignedIn, filing_id: FilingId
) -> Response:
    form = await require_csrf(context)
    try:
        body = ReplaceIn(reason=str(form.get("reason") or ""))
    except ValidationError as exc:
        raise errors.InvalidInput(
            "请填写替换原因（1–200 字）",
            "Give the reason for the replacement (1–200 characters)",
            code="replace_reason_missing",
        ) from exc
    services = context.services
    asked = ReplacementRequest(filing_id, body.reason, principal, origin_of(context.request))
    await run_in_threadpool(
        lambda: replace_existing(services.catalog, services.packages, asked, now=services.clock())
    )
    return redirect(context, f"/filings/{filing_id}")
