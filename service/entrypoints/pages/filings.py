"""报送列表, 报送详情, the package's download and 固定性校验: each calls what the API's
route calls (or the API's route function itself), so the pages follow the same rules
from the same code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from service.domain.access import Principal
from service.domain.filing import (
    Category,
    DeliveryAction,
    DeliveryStatus,
    ReviewState,
    VersionStatus,
)
from service.domain.metadata import DETAIL_FIELDS
from service.entrypoints.api.deps import FilingId
from service.entrypoints.api.filings import get_filing
from service.entrypoints.api.packages import download_package, verify
from service.entrypoints.api.search import list_filings
from service.entrypoints.pages.core import PageDep, PageRoute, SignedIn, render, require_csrf
from service.entrypoints.pages.listing import SORTS, ListFilters, page_count
from service.usecases.ingest import SUBMITTING_ROLES
from service.usecases.proof import proof_view

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UNCLAIMED = (DeliveryStatus.PENDING, DeliveryStatus.HELD)


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
        "total_exact": found["total_exact"],  # False: more than `total` (1,000+)
        "pages": pages,
        "filters": filters,
        "previous": filters.query_string(page=filters.page - 1) if filters.page > 1 else None,
        "next": (
            filters.query_string(page=filters.page + 1)
            if filters.page < pages or not found["total_exact"]
            else None
        ),
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
    values: dict[str, Any] = {"filing": filing, "may": may_do(principal, filing)}
    values |= {
        "details": await _details(context, filing_id),
        "proof": await _proof(context, filing),
    }
    return render(context, "filing.html", values)


async def _proof(context: PageDep, filing: dict[str, Any]) -> dict[str, Any]:
    """公开证明: the filing's timestamps and captures (`get_filing` checked the access)."""
    services = context.services

    def view() -> dict[str, Any]:
        stamps = services.catalog.timestamps(filing["id"])
        return proof_view(services.proof, stamps, services.catalog.captures(filing["id"]))

    return await run_in_threadpool(view)


def may_do(principal: Principal, filing: dict[str, Any]) -> dict[str, Any]:
    """What the page offers: what the API would allow this token now (it decides again)."""
    open_ = filing["withdrawal"] is None
    acting = principal.role in SUBMITTING_ROLES
    latest = [
        d for d in filing["deliveries"]
        if d["version"] == filing["version"] and d["action"] == DeliveryAction.PUBLISH
    ]  # fmt: skip
    unclaimed = all(d["status"] in UNCLAIMED and d["attempts"] == 0 for d in latest)
    return {
        "correct": acting and open_,
        "withdraw": open_,  # every role may withdraw a filing it may see
        "retry": _retryable(filing) if acting else [],
        "schedule": acting and open_ and bool(latest) and unclaimed,
        "held": bool(latest) and all(d["status"] == DeliveryStatus.HELD for d in latest),
    }  # fmt: skip


def _retryable(filing: dict[str, Any]) -> list[str]:
    """Destinations with a failed delivery to retry: of a withdrawn filing, a failed
    takedown only (the catalog refuses to publish it again)."""
    failed = [d for d in filing["deliveries"] if d["status"] == DeliveryStatus.FAILED]
    if filing["withdrawal"] is not None:
        failed = [d for d in failed if d["action"] == DeliveryAction.WITHDRAW]
    return sorted({d["destination"] for d in failed})


async def _details(context: PageDep, filing_id: str) -> dict[int, dict[str, Any]]:
    """Each version's own category metadata (批复日期, leaders …), by version number."""
    catalog = context.services.catalog
    found = await run_in_threadpool(lambda: catalog.get_filing(filing_id, with_attempts=False))
    versions = found.versions if found is not None else ()
    return {v.version: {k: v.metadata[k] for k in DETAIL_FIELDS if v.metadata.get(k)}
            for v in versions}  # fmt: skip


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
    values: dict[str, Any] = {
        "filing": filing,
        "verified": checked,
        "may": may_do(principal, filing),
    }
    values |= {
        "details": await _details(context, filing_id),
        "proof": await _proof(context, filing),
    }
    return render(context, "filing.html", values)
