"""The audit trail: who did what, when and from where, newest first (compliance, admin)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from service.catalog.records import AuditKey, AuditPage, AuditQuery
from service.domain.access import Role
from service.entrypoints.api.deps import KnownQuery, PrincipalDep, ServicesDep
from service.entrypoints.api.documented import COMPLIANCE_ERRORS, AuditOut, ok
from service.entrypoints.api.params import (
    Cursor,
    decode_cursor,
    encode_cursor,
    invalid_cursor,
    parse_zoned,
    search_text,
    zoned_time,
)
from service.entrypoints.api.views import audit_view

router = APIRouter(prefix="/v1", tags=["audit"], dependencies=[KnownQuery])
AUDIT_ROLES = (Role.COMPLIANCE, Role.ADMIN)  # who may read the trail

FilingIdParam = Annotated[
    str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="报送编号 A filing's id")
]
OrgCodeParam = Annotated[
    str | None, Query(pattern=r"^[0-9A-Z]{18}$", description="统一社会信用代码 A body's USCC")
]
ActionParam = Annotated[
    str | None,
    Query(
        pattern=r"^[a-z_]{1,30}(\.[a-z_]{1,30}){0,2}$",
        description="动作 An action, e.g. filing.submitted, package.downloaded, filing.refused",
    ),
]


@router.get(
    "/audit",
    summary="审计日志 The audit trail, newest first",
    response_model=None,
    responses=ok(AuditOut, "审计事件 The events", COMPLIANCE_ERRORS),
)
def audit_trail(
    services: ServicesDep,
    principal: PrincipalDep,
    filing_id: FilingIdParam = None,
    org_code: OrgCodeParam = None,
    actor: Annotated[str | None, search_text("操作者（令牌名）The actor: a token's name")] = None,
    action: ActionParam = None,
    since: Annotated[str | None, zoned_time("起（含）From, inclusive")] = None,
    until: Annotated[str | None, zoned_time("止（不含）Until, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Cursor = None,
) -> dict[str, Any]:
    """Events of the bodies the token names; those of no body (a catalog rebuild, an
    audit export) only for a token of every body (`*`)."""
    principal.require_role(*AUDIT_ROLES)
    query = AuditQuery(
        org_codes=principal.visible_bodies(),
        filing_id=filing_id,
        org_code=org_code,
        actor=actor,
        action=action,
        since=parse_zoned(since, "since"),
        until=parse_zoned(until, "until"),
        after=_after(cursor),
        limit=limit,
    )
    return _answer(services.catalog.audit_trail(query))


def _answer(page: AuditPage) -> dict[str, Any]:
    after = page.next_after
    return {
        "items": [audit_view(e) for e in page.entries],
        "next_cursor": encode_cursor({"at": after[0].isoformat(), "id": after[1]})
        if after
        else None,
    }


def _after(cursor: str | None) -> AuditKey | None:
    if cursor is None:
        return None
    fields = decode_cursor(cursor)
    at, number = fields.get("at"), fields.get("id")
    if not isinstance(at, str) or not isinstance(number, int) or isinstance(number, bool):
        raise invalid_cursor()
    try:
        when = datetime.fromisoformat(at)
    except ValueError:
        raise invalid_cursor() from None
    if when.tzinfo is None:
        raise invalid_cursor()
    return when, number
