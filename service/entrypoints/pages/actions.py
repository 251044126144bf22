"""Acting on a filing from its page: 更正, 撤回, 重新投递, 定时发布 (move, 暂缓, release).
Each calls the API's own route function (or, for a correction, the use case behind
`POST /v1/filings/{id}/versions`), so that who may do what, and when, is the API's rule.

    GET  /filings/{id}/correct         the form, filled from the latest version
    POST /filings/{id}/correct         校验 or 提交更正 (a reason is required)
    GET  /filings/{id}/withdraw        asks for the reason and a confirmation
    POST /filings/{id}/withdraw        撤回 → the filing's page
    POST /filings/{id}/deliveries/{destination}/retry
    POST /filings/{id}/schedule        action=move (publish_at, Beijing time) | hold
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.responses import Response

from service.domain import errors
from service.domain.access import Principal, Role
from service.domain.filing import Destination
from service.domain.withdrawal import filing_withdrawn
from service.entrypoints.api.deps import FilingId
from service.entrypoints.api.documented import ScheduleIn, WithdrawIn
from service.entrypoints.api.filings import get_filing, retry_delivery
from service.entrypoints.api.problems import first_zh, problems
from service.entrypoints.api.schedules import schedule
from service.entrypoints.api.withdrawals import withdraw_filing
from service.entrypoints.pages import filing_form
from service.entrypoints.pages.core import (
    PageContext,
    PageDep,
    PageRoute,
    SignedIn,
    redirect,
    render,
    require_csrf,
)
from service.entrypoints.pages.submit import Correcting, filing_page, posted_filing
from service.usecases.ingest import SUBMITTING_ROLES

router = APIRouter(route_class=PageRoute, include_in_schema=False)
WITHDRAWING_ROLES = (Role.OPERATOR, Role.COMPLIANCE, Role.ADMIN)
SCHEDULING_ROLES = (Role.OPERATOR, Role.ADMIN)


async def _filing(context: PageContext, principal: Principal, filing_id: str) -> dict[str, Any]:
    return await run_in_threadpool(get_filing, filing_id, context.services, principal)


async def _correctable(context: PageContext, principal: Principal, filing_id: str) -> Correcting:
    principal.require_role(*SUBMITTING_ROLES)
    filing = await _filing(context, principal, filing_id)
    if filing["withdrawal"] is not None:
        raise filing_withdrawn(filing_id)
    return Correcting(filing)


@router.get("/filings/{filing_id}/correct")
async def correction_form(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    correcting = await _correctable(context, principal, filing_id)
    catalog = context.services.catalog
    found = await run_in_threadpool(lambda: catalog.get_filing(filing_id, with_attempts=False))
    assert found is not None  # get_filing found it
    latest = next(v for v in reversed(found.versions) if v.version == correcting.filing["version"])
    fields = filing_form.fields_of(latest.metadata)
    return filing_page(context, principal, fields, correcting=correcting)


@router.post("/filings/{filing_id}/correct")
async def correction(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    correcting = await _correctable(context, principal, filing_id)
    return await posted_filing(context, principal, correcting)


@router.get("/filings/{filing_id}/withdraw")
async def withdrawal_form(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    principal.require_role(*WITHDRAWING_ROLES)
    filing = await _filing(context, principal, filing_id)
    return render(context, "withdraw.html", {"filing": filing, "fields": {}})


@router.post("/filings/{filing_id}/withdraw")
async def withdrawal(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    form = await require_csrf(context)
    principal.require_role(*WITHDRAWING_ROLES)
    filing = await _filing(context, principal, filing_id)
    try:
        body = _withdraw_in(form)
    except errors.InvalidInput as refused:
        values = {"filing": filing, "fields": form, "error": refused}
        return render(context, "withdraw.html", values, status=400)
    await withdraw_filing(filing_id, body, context.request, context.services, principal)
    return redirect(context, f"/filings/{filing_id}")


def _withdraw_in(form: Mapping[str, Any]) -> WithdrawIn:
    if form.get("confirm") != "yes":
        raise errors.InvalidInput(
            "请勾选确认撤回", "The withdrawal was not confirmed", code="withdraw_not_confirmed"
        )
    try:
        return WithdrawIn(reason=str(form.get("reason", "")))
    except ValidationError as exc:
        raise errors.InvalidInput(
            "撤回原因须为 1 至 200 个字符", f"The reason is invalid{first_zh(problems(exc.errors()))}",
            code="invalid_reason",
        ) from exc  # fmt: skip


@router.post("/filings/{filing_id}/deliveries/{destination}/retry")
async def retry(
    context: PageDep, principal: SignedIn, filing_id: FilingId, destination: Destination
) -> Response:
    await require_csrf(context)
    await run_in_threadpool(
        retry_delivery, filing_id, destination, context.request, context.services, principal
    )
    return redirect(context, f"/filings/{filing_id}")


@router.post("/filings/{filing_id}/schedule")
async def reschedule(context: PageDep, principal: SignedIn, filing_id: FilingId) -> Response:
    form = await require_csrf(context)
    principal.require_role(*SCHEDULING_ROLES)  # as the API's route, before the form is read
    body = _schedule_in(form)
    await schedule(filing_id, body, context.request, context.services, principal)
    return redirect(context, f"/filings/{filing_id}")


def _schedule_in(form: Mapping[str, Any]) -> ScheduleIn:
    if form.get("action") == "hold":
        return ScheduleIn(publish_at=None)
    moment = filing_form.publish_at(str(form.get("publish_at", "")))
    if moment is None:
        raise errors.InvalidInput(
            "请填写发布时间", "No release time was given", code="publish_at_missing"
        )
    try:
        return ScheduleIn.model_validate({"publish_at": moment})
    except ValidationError as exc:
        raise errors.InvalidInput(
            "发布时间格式有误", "The release time is not a valid time", code="invalid_publish_at"
        ) from exc
