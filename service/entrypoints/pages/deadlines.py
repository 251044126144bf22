"""公开期限看板: for a year reported on, each body the token sees × each kind it must
publish, with its state (按时, 逾期, 未报送, 未到期, 免报), due day and filing, a count
per state, and the board as CSV or XLSX. Every role may read it, for its bodies, as
`GET /v1/compliance/deadlines` answers the same token: the page calls that route's
function, so the rows, the exports and the refusals are the API's.

    /deadlines?year=2023&org_code=…&as_of=2024-02-10
    /deadlines/export?year=2023&format=xlsx

The year defaults to last year in Asia/Shanghai (2023's reports fall due in 2024)."""

from __future__ import annotations

from collections import Counter
from typing import Annotated, Any, Literal, cast
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from starlette.responses import Response

from service.domain.access import Principal
from service.entrypoints.api.deadlines import KIND_ZH, STATE_ZH, TableFormat, deadlines
from service.entrypoints.api.params import IsoDay
from service.entrypoints.pages.core import PageContext, PageDep, PageRoute, SignedIn, render
from service.entrypoints.pages.export import downloaded
from service.entrypoints.pages.listing import FormFilters
from service.usecases.deadlines import BoardState

router = APIRouter(route_class=PageRoute, include_in_schema=False)
YEARS_SHOWN = 6  # the year select: this year and the five before


class BoardFilters(FormFilters):
    """The board's query string; an empty field is its default."""

    year: int | None = Field(None, ge=1000, le=9998)  # the API's bounds
    org_code: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$")
    as_of: IsoDay | None = None


class BoardExport(BoardFilters):
    format: Literal["csv", "xlsx"]


@router.get("/deadlines")
async def deadline_board(
    context: PageDep, principal: SignedIn, filters: Annotated[BoardFilters, Query()]
) -> Response:
    today = context.services.board.today()
    year = filters.year or today.year - 1
    found = await _board(context, principal, filters, year, TableFormat.JSON)
    rows = cast(dict[str, Any], found)["items"]
    counts = Counter(r["state"] for r in rows)
    values = {
        "rows": rows,
        "year": year,
        "years": range(today.year, today.year - YEARS_SHOWN, -1),
        "filters": filters,
        "as_of": filters.as_of or today,
        "counts": [(s.value, STATE_ZH[s], counts[s.value]) for s in BoardState],
        "states": {s.value: STATE_ZH[s] for s in BoardState},
        "kinds": KIND_ZH,
        "bodies": _bodies(context, principal),
        "exported": _query(filters, year),
    }
    return render(context, "deadlines.html", values)


@router.get("/deadlines/export")
async def deadline_export(
    context: PageDep, principal: SignedIn, filters: Annotated[BoardExport, Query()]
) -> Response:
    today = context.services.board.today()
    year = filters.year or today.year - 1
    exported = await _board(context, principal, filters, year, TableFormat(filters.format))
    return downloaded(context, cast(Response, exported))


async def _board(
    context: PageContext,
    principal: Principal,
    filters: BoardFilters,
    year: int,
    format: TableFormat,
) -> dict[str, Any] | Response:
    return await run_in_threadpool(
        deadlines, context.services, principal, year, filters.org_code, filters.as_of, format
    )


def _bodies(context: PageContext, principal: Principal) -> list[Any]:
    return [b for b in context.pages.bodies.bodies.values() if principal.may_act_for(b.org_code)]


def _query(filters: BoardFilters, year: int) -> str:
    given = {"year": year, "org_code": filters.org_code, "as_of": filters.as_of}
    return urlencode({k: v for k, v in given.items() if v is not None})
