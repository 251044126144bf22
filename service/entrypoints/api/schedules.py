"""The route that moves or holds a scheduled release: parse, call the use case, render."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from service.domain.access import Role
from service.entrypoints.api.deps import FilingId, KnownQuery, PrincipalDep, ServicesDep, origin_of
from service.entrypoints.api.documented import DECISION_ERRORS, FilingOut, ScheduleIn, ok
from service.entrypoints.api.views import acknowledged, filing_view
from service.usecases.scheduling import ScheduleRequest, reschedule_release

router = APIRouter(prefix="/v1", tags=["filings"], dependencies=[KnownQuery])


@router.patch(
    "/filings/{filing_id}/schedule",
    summary="调整或暂停定时发布 Move or hold a scheduled release",
    response_model=None,
    responses=ok(FilingOut, "报送 The filing, its release moved", DECISION_ERRORS),
)
async def schedule(
    filing_id: FilingId,
    body: ScheduleIn,
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
) -> dict[str, Any]:
    """Operators of the body and admins. A time (ISO 8601 with offset, in the future) moves
    the latest version's release; `null` holds its deliveries (`held`) until a later PATCH
    gives a time. 409 once any of them was attempted; 422 for a time not in the future."""
    principal.require_role(Role.OPERATOR, Role.ADMIN)
    asked = ScheduleRequest(filing_id, body.publish_at, principal, origin_of(request))
    filing = await run_in_threadpool(
        lambda: reschedule_release(services.catalog, services.packages, asked, now=services.clock())
    )
    shown = acknowledged(filing)
    assert shown is not None
    return filing_view(shown, await run_in_threadpool(services.catalog.captures, filing_id))
