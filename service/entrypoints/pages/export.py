"""报送列表's export: the whole result of the list's search (every page, not the one
shown) as CSV (UTF-8 with BOM, streamed a batch at a time) or XLSX (a write-only
workbook). The same search as the list and the API (`listing.filing_query`), walked with
the catalog's keyset cursor; at most MAX_ROWS rows, a larger result is refused with the
number found, before a byte is sent.

    /filings/export?format=csv&org_name=南开&title=法治

Like the API's board export, an export is a read and is not audited (the trail records
changes, sign-ins, refusals and package downloads)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response, StreamingResponse

from service.catalog.records import DeliveryRecord, FilingPage, FilingQuery, FilingRecord
from service.domain.errors import InvalidInput
from service.domain.time import shanghai
from service.entrypoints.api.services import ApiServices
from service.entrypoints.api.views import acknowledged
from service.entrypoints.exports import (
    CSV_MEDIA_TYPE,
    XLSX_MEDIA_TYPE,
    Cell,
    csv_chunks,
    xlsx_bytes,
)
from service.entrypoints.pages import labels
from service.entrypoints.pages.core import (
    PAGE_HEADERS,
    PageContext,
    PageDep,
    PageRoute,
    SignedIn,
)
from service.entrypoints.pages.listing import ListFilters, export_query

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_ROWS = 10_000
BATCH = 500  # the API's largest page
HEADERS = (
    "报送编号", "单位代码", "单位名称", "类别", "期间", "标题", "版本", "状态",
    "投递", "审核", "提交时间（北京时间）", "提交人",
)  # fmt: skip


class ExportFilters(ListFilters):
    format: Literal["csv", "xlsx"] = "csv"


@router.get("/filings/export")
async def export_filings(
    context: PageDep, principal: SignedIn, filters: Annotated[ExportFilters, Query()]
) -> Response:
    first_page = filters.model_copy(update={"page": 1})
    query = export_query(principal, first_page, BATCH, MAX_ROWS)
    services = context.services
    first = await run_in_threadpool(services.catalog.search_filings, query)
    if not first.total_exact:  # counted up to MAX_ROWS: more match
        raise InvalidInput(
            f"查询结果超过导出上限 {MAX_ROWS} 条，请缩小查询范围后再导出",
            f"More than the {MAX_ROWS} filings an export holds match: narrow the search",
            code="export_too_large",
            detail={"limit": MAX_ROWS},
        )
    batches = _batches(services, query, first)
    name = f"filings-{shanghai(services.clock()):%Y%m%d-%H%M%S}.{filters.format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    if filters.format == "csv":
        chunks = csv_chunks(HEADERS, batches)
        streamed = StreamingResponse(chunks, media_type=CSV_MEDIA_TYPE, headers=disposition)
        return downloaded(context, streamed)
    content = await run_in_threadpool(_xlsx, batches)
    return downloaded(context, Response(content, media_type=XLSX_MEDIA_TYPE, headers=disposition))


def downloaded(context: PageContext, response: Response) -> Response:
    """A page's download: never cached (it holds what one token may see), its session
    renewed like a page's."""
    for header in ("Cache-Control", "X-Content-Type-Options"):
        response.headers[header] = PAGE_HEADERS[header]
    context.codec.write(response, context.session, context.request)
    return response


def _xlsx(batches: Iterator[list[list[Cell]]]) -> bytes:
    return xlsx_bytes("报送列表", HEADERS, (row for rows in batches for row in rows))


def _batches(
    services: ApiServices, query: FilingQuery, found: FilingPage
) -> Iterator[list[list[Cell]]]:
    """The rows a page of the search at a time, each page after where the last ended."""
    while True:
        yield [_cells(f) for f in map(acknowledged, found.filings) if f is not None]
        if found.next_after is None:
            return
        query = replace(query, after=found.next_after)
        found = services.catalog.search_filings(query)


def _cells(filing: FilingRecord) -> list[Cell]:
    latest = filing.versions[-1]
    current = [d for d in filing.deliveries if d.version == filing.latest_version]
    return [
        filing.id,
        filing.org_code,
        filing.org_name,
        labels.category(filing.category),
        filing.period,
        latest.title,
        filing.latest_version,
        labels.word(labels.STATUS, latest.status),
        _joined(current, lambda d: labels.word(labels.DELIVERY_STATUS, d.status)),
        _joined(current, lambda d: labels.word(labels.REVIEW, d.review_status)),
        labels.beijing(filing.created_at.isoformat()),
        filing.created_by,
    ]


def _joined(deliveries: Iterable[DeliveryRecord], what: Callable[[DeliveryRecord], str]) -> str:
    """「中国政府网：已投递；……」: each destination and what it says."""
    said = ((labels.destination(d.destination), what(d)) for d in deliveries)
    return "；".join(f"{where}：{word}" for where, word in said if word)
