"""登录 and 退出: a token becomes a session cookie; attempts are throttled and audited."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from service.catalog.records import AuditEvent
from service.domain import errors
from service.domain.access import Principal
from service.entrypoints.pages.core import (
    ENDED,
    PageContext,
    PageDep,
    PageRoute,
    redirect,
    render,
    require_csrf,
)
from service.entrypoints.pages.sessions import anonymous, signed_in
from service.usecases.tokens import token_digest

router = APIRouter(route_class=PageRoute, include_in_schema=False)
MAX_TOKEN_CHARS = 512
FAILED = "session.sign_in_failed"
_LOCAL_PATH = re.compile(r"/[A-Za-z0-9/_.~%?=&-]{0,500}")


@router.get("/")
def home(context: PageDep) -> Response:
    return redirect(context, "/filings" if context.principal else "/sign-in")


@router.get("/sign-in")
def sign_in_form(context: PageDep, ended: str | None = None, next: str | None = None) -> Response:
    if context.principal is not None:
        return redirect(context, _safe_next(next))
    notice = ENDED.get(context.ended or ended or "")
    return render(context, "sign_in.html", {"notice": notice, "next": _safe_next(next)})


@router.post("/sign-in")
async def sign_in(context: PageDep) -> Response:
    if await run_in_threadpool(_too_many_failures, context):
        raise errors.Throttled(
            "登录尝试过于频繁，请一分钟后再试",
            "Too many sign-in attempts from this address; try again in a minute",
            code="too_many_sign_in_attempts",
            retry_after=60,
        )
    form = await require_csrf(context)
    token = str(form.get("token") or "").strip()[:MAX_TOKEN_CHARS]
    target = _safe_next(form.get("next"))
    # Off the event loop: the token registry and the audit log may be the catalog's.
    return await run_in_threadpool(_sign_in_with, context, token, target)


def _sign_in_with(context: PageContext, token: str, target: str) -> Response:
    try:
        principal = context.services.tokens.authenticate(token)
    except errors.Unauthenticated:
        _audit(context, FAILED, None, {"reason": "unknown_token"})
        return render(context, "sign_in.html", {"failed": True, "next": target}, 401)
    session = signed_in(principal.name, token_digest(token), context.services.clock())
    _audit(context, "session.signed_in", principal)
    return redirect(context.with_session(session, principal), target)


@router.post("/sign-out")
async def sign_out(context: PageDep) -> Response:
    if context.principal is not None:  # a session already over has nothing to protect
        await require_csrf(context)
        await run_in_threadpool(_end, context, context.principal)
    fresh = anonymous(context.services.clock())
    return redirect(context.with_session(fresh, None), "/sign-in?ended=signed_out")


def _too_many_failures(context: PageContext) -> bool:
    """等保 2.0's 登录失败处理: after N failures in a minute from one address, every
    attempt from it waits out the minute, a right token's too."""
    since = context.services.clock() - timedelta(minutes=1)
    failed = context.services.catalog.count_recent(FAILED, _address(context), since)
    return failed >= context.pages.sign_in_failures_per_minute


def _end(context: PageContext, principal: Principal) -> None:
    """Signed out for good: a copy of the cookie (another tab, another machine) ends too."""
    now = context.services.clock()
    forget_before = now - timedelta(seconds=context.pages.session_idle_s)
    event = _event(context, "session.signed_out", principal)
    context.pages.signed_out.end_page_session(context.session.sid, event, forget_before)


def _address(context: PageContext) -> str:
    client = context.request.client
    return client.host if client else "unknown"


def _safe_next(target: object) -> str:
    """Only a path of this service: never an open redirect to another site (`//host`,
    `/\\host`, or a control character a browser drops to make one)."""
    if isinstance(target, str) and _LOCAL_PATH.fullmatch(target) and not target.startswith("//"):
        return target
    return "/filings"


def _audit(
    context: PageContext,
    action: str,
    principal: Principal | None,
    detail: dict[str, str] | None = None,
) -> None:
    context.services.catalog.audit(_event(context, action, principal, detail))


def _event(
    context: PageContext,
    action: str,
    principal: Principal | None,
    detail: dict[str, str] | None = None,
) -> AuditEvent:
    """Who signed in or out, from where; a failed attempt names no token (never the secret)."""
    return AuditEvent(
        actor=principal.name if principal else "anonymous",
        role=principal.role.value if principal else "",
        action=action,
        subject=f"session/{principal.name}" if principal else "session",
        source=_address(context),
        request_id=context.request.scope.get("state", {}).get("request_id"),
        detail=detail or {},
    )
