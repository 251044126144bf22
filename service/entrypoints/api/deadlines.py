"""Routes for compliance staff: the deadline board (公开期限看板) as JSON, CSV or XLSX,
and exemptions (免报)."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.domain.access import Principal
from service.domain.errors import NotFound
from service.domain.filing import Category
from service.entrypoints.api.deps import KnownQuery, PrincipalDep, ServicesDep
from service.entrypoints.api.documented import (
    CREATED_ERRORS,
    FORBIDDEN,
    READ_ERRORS,
    DeadlinesOut,
    ExemptionIn,
    ExemptionOut,
    created,
    table_answer,
)
from service.entrypoints.api.params import IsoDay
from service.entrypoints.api.services import ApiServices
from service.entrypoints.exports import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, csv_bytes, xlsx_bytes
from service.usecases.deadlines import BoardRow, BoardState
from service.usecases.exemptions import ExemptionRequest, Origin, grant_exemption

router = APIRouter(prefix="/v1/compliance", tags=["compliance"], dependencies=[KnownQuery])


class TableFormat(StrEnum):
    JSON = "json"
    CSV = "csv"
    XLSX = "xlsx"


HEADERS = (
    "单位代码",
    "单位名称",
    "类别",
    "预算/决算",
    "期间",
    "公开期限",
    "状态",
    "报送编号",
    "报送日期",
    "公开日期",
    "免报原因",
)
STATE_ZH = {
    BoardState.ON_TIME: "按时",
    BoardState.LATE: "逾期",
    BoardState.MISSING: "未报送",
    BoardState.NOT_YET_DUE: "未到期",
    BoardState.EXEMPT: "免报",
}
KIND_ZH = {"budget": "部门预算", "final_accounts": "部门决算"}


@router.get(
    "/deadlines",
    summary="公开期限看板 The deadline board: each body × kind, on time, late, missing …",
    response_model=None,
    responses=table_answer(DeadlinesOut, "看板 The board", {**READ_ERRORS, **FORBIDDEN}),
)
def deadlines(
    services: ServicesDep,
    principal: PrincipalDep,
    year: Annotated[int, Query(ge=1000, le=9998, description="报告年度 The year reported on")],
    org_code: Annotated[str | None, Query(pattern=r"^[0-9A-Z]{18}$")] = None,
    as_of: Annotated[IsoDay | None, Query(description="Default: today in Asia/Shanghai")] = None,
    format: TableFormat = TableFormat.JSON,
) -> dict[str, Any] | Response:
    if org_code is not None:
        _require_listed(services, principal, org_code)
    rows = services.board.rows(
        year,
        visible=principal.visible_bodies(),
        as_of=as_of or services.board.today(),
        org_code=org_code,
    )
    if format is TableFormat.JSON:
        return {"items": [r.to_dict() for r in rows]}
    return _table(format, year, rows)


def _require_listed(services: ApiServices, principal: Principal, org_code: str) -> None:
    principal.require_body(org_code)
    if services.board.registry.get(org_code) is None:
        raise NotFound(
            f"单位名录中没有单位 {org_code}",
            f"No body {org_code} in the registry of bodies",
            code="body_not_found",
        )


def _table(format: TableFormat, year: int, rows: list[BoardRow]) -> Response:
    cells = [_cells(r) for r in rows]
    if format is TableFormat.CSV:
        content, media_type = csv_bytes(HEADERS, cells), CSV_MEDIA_TYPE
    else:
        content, media_type = xlsx_bytes(f"公开期限看板{year}", HEADERS, cells), XLSX_MEDIA_TYPE
    name = f"deadlines-{year}.{format.value}"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _cells(row: BoardRow) -> list[str | date | None]:
    category = Category(row.category).label_zh if row.category in Category else row.category
    return [
        row.org_code,
        row.org_name,
        category,
        KIND_ZH.get(row.kind or ""),
        row.period,
        row.due_on,
        STATE_ZH[row.state],
        row.filing_id,
        row.filed_on,
        row.published_on,
        row.exemption_reason,
    ]


@router.post(
    "/exemptions",
    status_code=201,
    summary="登记免报 Exempt a body from an annual kind for a period (admin)",
    response_model=None,
    responses=created(ExemptionOut, "已登记 Recorded and archived", CREATED_ERRORS),
)
def add_exemption(
    body: ExemptionIn, request: Request, services: ServicesDep, principal: PrincipalDep
) -> dict[str, Any]:
    exemption = grant_exemption(
        services.catalog,
        services.store,
        services.board.registry,
        ExemptionRequest(body.org_code, body.category, body.period, body.reason),
        principal=principal,
        now=services.clock(),
        origin=Origin(
            source=request.client.host if request.client else None,
            request_id=request.scope.get("state", {}).get("request_id"),
        ),
    )
    return {
        "org_code": exemption.org_code,
        "category": exemption.category,
        "period": exemption.period,
        "reason": exemption.reason,
        "created_at": exemption.created_at.isoformat(),
        "created_by": exemption.created_by,
    }
