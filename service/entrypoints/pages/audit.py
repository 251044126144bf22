"""审计日志: the audit trail, newest first, filtered, a page at a time with the API's
cursor (「下一页」). Compliance staff and admins only, as `GET /v1/audit`: the page calls
that route's function, which checks the role, so an operator gets the 403 page.

    /audit?action=filing.submitted&since=2024-01-01&until=2024-01-31

`since` and `until` are days in Beijing time, both inclusive."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from starlette.responses import Response

from service.domain.metadata import ONE_LINE
from service.entrypoints.api.audit import audit_trail
from service.entrypoints.api.params import CURSOR_PATTERN
from service.entrypoints.pages.core import PageDep, PageRoute, SignedIn, render
from service.entrypoints.pages.listing import Day, FormFilters

router = APIRouter(route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
# What the trail records, for the action field's suggestions (any action may be typed).
ACTIONS = {
    "session.signed_in": "登录",
    "session.sign_in_failed": "登录失败",
    "session.signed_out": "退出登录",
    "filing.submitted": "报送",
    "filing.corrected": "更正",
    "filing.refused": "报送被拒",
    "filing.withdrawn": "撤回",
    "package.downloaded": "下载归档包",
    "fixity.checked": "固定性校验",
    "fixity.failed": "固定性校验失败",
    "delivery.retry_requested": "重新投递",
    "release.scheduled": "定时发布",
    "release.held": "暂缓发布",
    "exemption.granted": "登记免报",
    "token.created": "创建令牌",
    "token.revoked": "吊销令牌",
}


class AuditFilters(FormFilters):
    """The trail's query string, with the API's rules; an empty field is no filter."""

    filing_id: str | None = Field(None, pattern=r"^[A-Za-z0-9_-]{1,64}$")
    org_code: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$")
    actor: str | None = Field(None, min_length=1, max_length=100, pattern=ONE_LINE)
    action: str | None = Field(None, pattern=r"^[a-z_]{1,30}(\.[a-z_]{1,30}){0,2}$")
    since: Day | None = None
    until: Day | None = None
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN)
    limit: int = Field(PAGE_SIZE, ge=1, le=500)  # the API's bounds

    def query_string(self, **changed: Any) -> str:
        given = {**self.model_dump(exclude_defaults=True, mode="json"), **changed}
        return urlencode({k: v for k, v in given.items() if v is not None})


@router.get("/audit")
async def audit_log(
    context: PageDep, principal: SignedIn, filters: Annotated[AuditFilters, Query()]
) -> Response:
    until = filters.until + timedelta(days=1) if filters.until else None
    found = await run_in_threadpool(
        audit_trail,
        context.services,
        principal,
        filters.filing_id,
        filters.org_code,
        filters.actor,
        filters.action,
        _beijing_midnight(filters.since),
        _beijing_midnight(until),
        filters.limit,
        filters.cursor,
    )
    cursor = found["next_cursor"]
    values = {
        "events": found["items"],
        "filters": filters,
        "actions": ACTIONS,
        "first": filters.query_string(cursor=None) if filters.cursor else None,
        "next": filters.query_string(cursor=cursor) if cursor else None,
    }
    return render(context, "audit.html", values)


def _beijing_midnight(day: date | None) -> str | None:
    """A day's start as the API takes it: ISO 8601 with Beijing's offset."""
    return f"{day.isoformat()}T00:00:00+08:00" if day else None
