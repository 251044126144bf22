"""Searching filings: `GET /v1/filings`, filtered, sorted, a page at a time.

    ?title=法治&org_name=南开&status=delivery_failed&sort=period&order=asc&limit=50
    → {"filings": [...], "total": 1234, "total_exact": true, "next_cursor": "eyJzb3J0Ijoi..."}

`total` is exact up to 1,000; beyond, it says 1000 and `total_exact` is false.

Pass `next_cursor` back as `cursor` (with the same sort and order) for the next page:
it starts after the last filing shown however many come and go meanwhile, and page 100
costs what page 1 does. `offset` still works, for a page by number.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from service.catalog.records import (
    TOTAL_LIMIT,
    CaptureRecord,
    FilingPage,
    FilingQuery,
    FilingSort,
    ListingKey,
)
from service.domain.access import Principal
from service.domain.errors import InvalidInput
from service.domain.filing import Category, DeliveryStatus, ReviewState, VersionStatus
from service.entrypoints.api.deps import KnownQuery, PrincipalDep, ServicesDep
from service.entrypoints.api.documented import READ_ERRORS, FilingsOut, ok
from service.entrypoints.api.params import (
    Cursor,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    parse_zoned,
    search_text,
    zoned_time,
)
from service.entrypoints.api.views import acknowledged, filing_view

router = APIRouter(prefix="/v1", tags=["filings"], dependencies=[KnownQuery])
MAX_OFFSET = 1_000_000  # a page that far is a crawl, not a search
COUNT_UP_TO = TOTAL_LIMIT  # a total beyond is "1,000+" (total_exact: false)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

Order = Literal["asc", "desc"]


@dataclass(frozen=True)
class Filters:
    org_code: str | None
    org_name: str | None
    category: Category | None
    period: str | None
    status: VersionStatus | None
    delivery_status: DeliveryStatus | None
    review_status: ReviewState | None
    title: str | None
    submitted_since: datetime | None
    submitted_until: datetime | None


def filters(
    org_code: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    org_name: Annotated[
        str | None, search_text("单位名称中的字词 Words in the body's name")
    ] = None,
    category: Category | None = None,
    period: Annotated[str | None, Query(pattern=r"^\d{4}(-\d{2}-\d{2})?$")] = None,
    status: VersionStatus | None = None,
    delivery_status: DeliveryStatus | None = None,
    review_status: ReviewState | None = None,
    title: Annotated[str | None, search_text("标题中的字词 Words in the title")] = None,
    submitted_since: Annotated[str | None, zoned_time("提交时间起（含）Submitted from")] = None,
    submitted_until: Annotated[str | None, zoned_time("提交时间止（不含）Submitted before")] = None,
) -> Filters:
    return Filters(
        org_code,
        org_name,
        category,
        period,
        status,
        delivery_status,
        review_status,
        title,
        parse_zoned(submitted_since, "submitted_since"),
        parse_zoned(submitted_until, "submitted_until"),
    )


@dataclass(frozen=True)
class Paging:
    sort: FilingSort
    order: Order
    limit: int
    offset: int
    after: ListingKey | None


def paging(
    sort: Annotated[FilingSort, Query(description="排序 Sort on; ties by time, then id")] = (
        FilingSort.CREATED_AT
    ),
    order: Order = "desc",
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    cursor: Cursor = None,
) -> Paging:
    if cursor is not None and offset:
        raise InvalidInput(
            "cursor 与 offset 不能同时使用",
            "Pass either cursor or offset, not both",
            code="cursor_with_offset",
        )
    return Paging(sort, order, limit, offset, _after(cursor, sort, order))


@router.get(
    "/filings",
    summary="查询报送 Search filings",
    response_model=None,
    responses=ok(FilingsOut, "报送列表 The page", READ_ERRORS),
)
def list_filings(
    services: ServicesDep,
    principal: PrincipalDep,
    matching: Annotated[Filters, Depends(filters)],
    page: Annotated[Paging, Depends(paging)],
) -> dict[str, Any]:
    """The filings of the token's bodies that match every filter given; `total` counts
    them all, on every page."""
    found = services.catalog.search_filings(filing_query(principal, matching, page))
    return _answer(found, page, services.catalog.captures_of([f.id for f in found.filings]))


def filing_query(principal: Principal, matching: Filters, page: Paging) -> FilingQuery:
    """The catalog's query for these filters, within the token's bodies (the pages' list
    and its export ask the same)."""
    return FilingQuery(
        org_codes=principal.visible_bodies(),
        org_code=matching.org_code,
        org_name=matching.org_name,
        category=matching.category.value if matching.category else None,
        period=matching.period,
        status=matching.status,
        delivery_status=matching.delivery_status,
        review_status=matching.review_status,
        title=matching.title,
        submitted_since=matching.submitted_since,
        submitted_until=matching.submitted_until,
        sort=page.sort,
        descending=page.order == "desc",
        after=page.after,
        limit=page.limit,
        offset=page.offset,
        count_up_to=COUNT_UP_TO,
    )


def _answer(
    found: FilingPage, page: Paging, captures: Mapping[str, Sequence[CaptureRecord]]
) -> dict[str, Any]:
    shown = (acknowledged(f) for f in found.filings)
    after = found.next_after
    return {
        "filings": [filing_view(f, captures.get(f.id, ())) for f in shown if f is not None],
        "total": found.total,
        "total_exact": found.total_exact,
        "next_cursor": _cursor(after, page.sort, page.order) if after else None,
    }


def _cursor(after: ListingKey, sort: FilingSort, order: Order) -> str:
    key = [v.isoformat() if isinstance(v, datetime) else v for v in after]
    return encode_cursor({"sort": sort.value, "order": order, "key": key})


def _after(cursor: str | None, sort: FilingSort, order: Order) -> ListingKey | None:
    """The key a cursor carries, for the same sort and order only: (created_at, id), or
    (the sorted column, created_at, id)."""
    if cursor is None:
        return None
    fields = decode_cursor(cursor)
    key = fields.get("key")
    length = 2 if sort is FilingSort.CREATED_AT else 3
    if (fields.get("sort"), fields.get("order")) != (sort.value, order):
        raise invalid_cursor()
    if not isinstance(key, list) or len(key) != length or not all(map(_plain, key)):
        raise invalid_cursor()
    at = _aware(key[-2])
    return (at, key[-1]) if length == 2 else (key[0], at, key[-1])


def _plain(value: object) -> bool:
    return isinstance(value, str) and len(value) <= 300 and not _CONTROL.search(value)


def _aware(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise invalid_cursor() from None
    if at.tzinfo is None:
        raise invalid_cursor()
    return at
