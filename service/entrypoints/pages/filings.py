"""报送列表, 报送详情, the package's download and 固定性校验: each calls what the API's
route calls (or the API's route function itself), so the pages follow the same rules
from the same code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from service.domain.filing import Category, DeliveryStatus, ReviewState, VersionStatus
from service.entrypoints.api.deps import FilingId
from service.entrypoints.api.filings import get_filing
from service.entrypoints.api.packages import download_package, verify
from service.entrypoints.api.search import list_filings
from service.entrypoints.pages.core import PageDep, PageRoute, SignedIn, render, require_csrf
from service.entrypoints.pages.listing import SORTS, ListFilters, page_count

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/filings")
async def filing_list(
    context: PageDep, principal: SignedIn, filters: Annotated[ListFilters, Query()]
) -> Response:
    matching, paging = filters.search()
    found = await run_in_threadpool(list_filings, context.services, principal, matching, paging)
    pages = page_count(found["total"])
    values: dict[str, Any] = {
        "filings": found["filings"],
        "total": found["total"],
        "pages": pages,
        "filters": filters,
        "previous": filters.query_string(page=filters.page - 1) if filters.page > 1 else None,
        "next": filters.query_string(page=filters.page + 1) if filters.page < pages else None,
        "exported": filters.query_string(page=None),
        "sorts": SORTS,
        "categories": list(Category),
        "statuses": list(VersionStatus),
        "delivery_statuses": list(DeliveryStatus),
        "review_states": list(ReviewState),
        "bodies": _bodies(context, principal),
    }
    return render(context, "filings.html", values)


def _bodies(context: PageDep, principal: SignedIn) -> list[Any]:
    """The registry's bodies this token may see, for the filter's choice."""
    bodies = context.pages.bodies.bodies.values()
    return [b for b in bodies if principal.may_act_for(b.org_code)]


@router.get("/filings/{filing_id}")
async def filing_detail(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    filing = await run_in_threadpool(get_filing, filing_id, context.services, principal)
    return render(context, "filing.html", {"filing": filing})


@router.get("/filings/{filing_id}/package")
async def filing_package(
    context: PageDep,
    principal: SignedIn,
    filing_id: FilingId,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    return await download_package(filing_id, context.request, context.services, principal, version)


@router.post("/filings/{filing_id}/verify")
async def filing_verify(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    await require_csrf(context)
    checked = await verify(filing_id, context.services, principal)
    filing = await run_in_threadpool(get_filing, filing_id, context.services, principal)
    return render(context, "filing.html", {"filing": filing, "verified": checked})
