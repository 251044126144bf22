"""What every page shares: who is asking (the session, re-authenticated on each request),
rendering a template with the session's cookie renewed, and one place where errors
become pages.

    PageRoute     every page route: ServiceError → the error page with the API's status
                  (service.entrypoints.api.errors.status_of), SignInRequired → 303 to 登录
    page_context  the dependency: services, session, principal (None: not signed in)
    render        a template with the context every page uses, the session re-signed
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.responses import RedirectResponse, Response

from service.domain import errors
from service.domain.access import Principal
from service.entrypoints.api.errors import status_of
from service.entrypoints.api.problems import first_zh, problems
from service.entrypoints.api.services import ApiServices
from service.entrypoints.pages import labels, nav
from service.entrypoints.pages.services import PageServices
from service.entrypoints.pages.sessions import CSRF_FIELD, PageSession, SessionCodec, anonymous

log = structlog.get_logger()
TEMPLATES = Jinja2Templates(directory=Path(__file__).with_name("templates"))
TEMPLATES.env.filters.update(labels.FILTERS)
TEMPLATES.env.filters.update(nav.FILTERS)

# Why a signed-in session ended, shown on the sign-in page.
ENDED = {
    "idle": "会话因长时间未操作已结束，请重新登录。",
    "revoked": "令牌已失效，会话已结束，请重新登录。",
    "required": "请先登录。",
    "signed_out": "已退出登录。",
}


# A page holds what one token may see: never cached, never framed (clickjacking), no
# script or style from anywhere but the service, forms posted only to it.
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


_INTERNAL = errors.ServiceError(
    "服务内部错误，请稍后重试；如仍出现，请将本页的请求编号告知管理员",
    "Internal error: try again later, or give an admin this page's request id",
    code="internal_error",
)


class SignInRequired(Exception):
    """Not an error: a signal to send the browser to 登录."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PageContext:
    request: Request
    services: ApiServices
    pages: PageServices
    session: PageSession
    principal: Principal | None
    ended: str | None = None  # a key of ENDED when this request found its session over

    @property
    def codec(self) -> SessionCodec:
        return SessionCodec(self.pages.session_secret)

    def signed_in(self) -> Principal:
        if self.principal is None:
            raise SignInRequired(self.ended or "required")
        return self.principal

    def with_session(self, session: PageSession, principal: Principal | None) -> PageContext:
        return replace(self, session=session, principal=principal, ended=None)


def page_context(request: Request) -> PageContext:
    services: ApiServices = request.app.state.services
    pages: PageServices = request.app.state.pages
    now = services.clock()
    session = SessionCodec(pages.session_secret).read(request)
    context = PageContext(request, services, pages, session or anonymous(now), None)
    if session is not None and session.signed_in:
        context = _resumed(context, session)
    request.state.page = context
    return context


def _resumed(context: PageContext, session: PageSession) -> PageContext:
    now = context.services.clock()
    fresh = anonymous(now)
    if session.idle(now, context.pages.session_idle_s):
        return replace(context, session=fresh, ended="idle")
    if context.pages.signed_out.page_session_ended(session.sid):  # a copy of a signed-out cookie
        return replace(context, session=fresh, ended="signed_out")
    principal = context.services.tokens.still_valid(session.name, session.digest)
    if principal is None:  # revoked, or gone from DISCLOSURE_TOKENS
        return replace(context, session=fresh, ended="revoked")
    context.request.scope.setdefault("state", {})["principal"] = principal.name
    return replace(context, session=session.touched(now), principal=principal)


PageDep = Annotated[PageContext, Depends(page_context)]


def signed_in(context: PageDep) -> Principal:
    return context.signed_in()


SignedIn = Annotated[Principal, Depends(signed_in)]


def render(
    context: PageContext, template: str, values: Mapping[str, Any] | None = None, status: int = 200
) -> Response:
    response = TEMPLATES.TemplateResponse(
        context.request,
        template,
        {
            "principal": context.principal,
            "csrf_field": CSRF_FIELD,
            "csrf_token": context.session.csrf,
            **(values or {}),
        },
        status_code=status,
        headers=PAGE_HEADERS,
    )
    context.codec.write(response, context.session, context.request)
    return response


def redirect(context: PageContext, url: str) -> Response:
    response = RedirectResponse(url, status_code=303)
    context.codec.write(response, context.session, context.request)
    return response


async def require_csrf(context: PageContext) -> Mapping[str, Any]:
    """The form of a POST, once its CSRF token is the session's (403 otherwise)."""
    form = await context.request.form()
    check_csrf(context, form.get(CSRF_FIELD))
    return form


def check_csrf(context: PageContext, given: object) -> None:
    if not context.session.csrf_matches(given):
        raise errors.Forbidden(
            "表单已失效或来源不明（CSRF 校验未通过），请刷新页面后重试",
            "The form's CSRF token is missing or wrong",
            code="csrf_failed",
        )


class PageRoute(APIRoute):
    """Errors on a page are pages: the same status as the API would answer, in Chinese."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as exc:
                return _to_sign_in(request, exc.reason)
            except errors.ServiceError as exc:
                return error_page(request, exc)
            except RequestValidationError as exc:
                found = problems(exc.errors())
                return error_page(
                    request,
                    errors.InvalidInput(f"请求参数有误{first_zh(found)}", code="invalid_request"),
                )
            except Exception:  # a bug: still a page in Chinese, with the request's id
                log.exception("page_failed", path=request.url.path)
                return error_page(request, _INTERNAL)

        return page_handler


def _to_sign_in(request: Request, reason: str) -> Response:
    """Back to where they were after signing in: the page asked for (a form's POST is
    not repeated: its list instead)."""
    query = f"?{request.url.query}" if request.url.query else ""
    target = request.url.path + query if request.method == "GET" else "/filings"
    context: PageContext = request.state.page
    url = f"/sign-in?ended={reason}&next={quote(target, safe='')}"
    return redirect(context, url)


def error_page(request: Request, error: errors.ServiceError) -> Response:
    context: PageContext | None = getattr(request.state, "page", None)
    if context is None:
        context = page_context(request)
    status = status_of(error)
    log.info("page_refused", status=status, code=error.code, path=request.url.path)
    request_id = request.scope.get("state", {}).get("request_id")
    values = {"error": error, "status": status, "request_id": request_id}
    response = render(context, "error.html", values, status=status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response
