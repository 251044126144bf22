"""The route that replaces the report the legal platform already holds (after a 40901):
parse, call the use case, render."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.entrypoints.api.deps import FilingId, KnownQuery, PrincipalDep, ServicesDep, origin_of
from service.entrypoints.api.documented import WRITE_ERRORS, FilingOut, ReplaceIn
from service.entrypoints.api.views import acknowledged, filing_view
from service.usecases.replacing import ReplacementRequest, replace_existing

router = APIRouter(prefix="/v1", tags=["filings"], dependencies=[KnownQuery])

_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"model": FilingOut, "description": "已排入替换投递 A replace delivery is queued"},
    200: {"model": FilingOut, "description": "此前已决定替换 Decided before: the same result"},
    **WRITE_ERRORS,
}


@router.post(
    "/filings/{filing_id}/deliveries/legal_platform/replace-existing",
    status_code=202,
    summary="以本报告替换平台已有报告 Replace the report the legal platform holds",
    response_model=None,
    responses=_ANSWERS,
)
async def replace_existing_report(
    filing_id: FilingId,
    body: ReplaceIn,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
) -> JSONResponse:
    """Admins and operators of the body. Only when the latest version's delivery to the
    legal platform failed because the platform holds another report for the body and year
    (40901; see the delivery's `conflict`), else 409 `no_conflict`. The report then goes in
    a new delivery (action `replace`, its own request_id) as the platform's latest version
    + 1. Never automatic; audited. A repeat answers 200 with the same result."""
    asked = ReplacementRequest(filing_id, body.reason, principal, origin_of(request))
    filing, created = await run_in_threadpool(
        lambda: replace_existing(services.catalog, services.packages, asked, now=services.clock())
    )
    shown = acknowledged(filing)
    assert shown is not None  # replace_existing refuses a filing never acknowledged
    captures = await run_in_threadpool(services.catalog.captures, filing_id)
    return JSONResponse(filing_view(shown, captures), status_code=202 if created else 200)
