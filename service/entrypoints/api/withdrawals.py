"""The route that withdraws a filing (撤回): parse, call the use case, render."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from service.domain.access import Role
from service.entrypoints.api.deps import FilingId, KnownQuery, PrincipalDep, ServicesDep, origin_of
from service.entrypoints.api.documented import WRITE_ERRORS, FilingOut, WithdrawIn
from service.entrypoints.api.views import acknowledged, filing_view
from service.usecases.withdrawal import WithdrawalRequest, withdraw

router = APIRouter(prefix="/v1", tags=["filings"], dependencies=[KnownQuery])

_ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"model": FilingOut, "description": "已撤回，撤稿排入投递 Withdrawn; takedowns queued"},
    200: {"model": FilingOut, "description": "此前已撤回（以首次原因为准）Withdrawn before"},
    **WRITE_ERRORS,
}


@router.post(
    "/filings/{filing_id}/withdraw",
    status_code=202,
    summary="撤回报送 Withdraw a filing",
    response_model=None,
    responses=_ANSWERS,
)
async def withdraw_filing(
    filing_id: FilingId,
    body: WithdrawIn,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
) -> JSONResponse:
    """Operators of the body, compliance staff and admins. The portal's article is taken down
    through the outbox; a destination with no withdraw call shows `manual` (须人工撤回).
    Nothing archived is removed. A repeat answers 200 with the first withdrawal."""
    principal.require_role(Role.OPERATOR, Role.COMPLIANCE, Role.ADMIN)
    asked = WithdrawalRequest(filing_id, body.reason, principal, origin_of(request))
    filing, created = await run_in_threadpool(
        lambda: withdraw(
            services.catalog,
            services.packages,
            asked,
            takedown=services.takedown,
            now=services.clock(),
        )
    )
    shown = acknowledged(filing)
    assert shown is not None  # withdraw refuses a filing never acknowledged
    captures = await run_in_threadpool(services.catalog.captures, filing_id)
    return JSONResponse(filing_view(shown, captures), status_code=202 if created else 200)
