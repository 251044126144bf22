"""The portal simulator: an in-memory portal speaking the whole of `contracts/portal.md`,
with fault injection (service.simulators.faults) and an /_admin API for tests.

    POST /oauth/token                                   client credentials (RFC 6749 errors)
    POST /api/v1/attachments                            multipart "file" + X-Content-SHA256
    POST /api/v1/channels/{channel}/articles            Idempotency-Key, duplicate_source, replaces
    GET  /api/v1/channels/{channel}/articles?source_id= 0 or 1 article
    GET  /api/v1/articles/{article_id}
    POST /api/v1/articles/{article_id}/withdraw         v1.1: idempotent; 404 not_found
    GET  /{channel}/{article_id}.html                   the published page (pages.py)
    GET  /attachments/{attachment_id}/{filename}        an attachment as published

    POST /_admin/faults   GET /_admin/faults   POST /_admin/reset
    GET  /_admin/articles   GET /_admin/attachments   GET /_admin/stats
    POST /_admin/articles/{article_id}/page             change, remove, soft-404 a page

Idempotency follows Stripe's: a key's first 2xx or 4xx answer is kept `key_ttl_s` and
replayed for the same JSON body; a 5xx frees the key. While the first request with a key
runs, the key is marked in flight (under the state's lock, so concurrent requests see it).


    config.py   state.py   checks.py   routes.py   pages.py   (the app is built here)
"""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from service.simulators import RunningSimulator, run_in_thread
from service.simulators.faults import (
    FAULT_KINDS,
    FaultMiddleware,
    FaultPlan,
)
from service.simulators.portal.config import PortalError, SimulatorConfig, error_body
from service.simulators.portal.pages import admin_pages_router, pages_router
from service.simulators.portal.routes import admin_router, api_router, oauth_router
from service.simulators.portal.state import PortalState

_TOKEN_FAULTS = frozenset(FAULT_KINDS) - {"token_expired"}  # no token to expire yet


def _fault_plan(scope: Scope) -> FaultPlan | None:
    path, method = scope["path"], scope["method"]
    if path == "/oauth/token":
        return FaultPlan("token", _TOKEN_FAULTS)
    if path == "/api/v1/attachments":
        return FaultPlan("upload", frozenset(FAULT_KINDS))
    if path.startswith("/api/v1/channels/"):
        return FaultPlan("publish" if method == "POST" else "find", frozenset(FAULT_KINDS))
    if path.startswith("/api/v1/articles/") and method == "POST":
        return FaultPlan("withdraw", frozenset(FAULT_KINDS))
    if path.startswith("/api/v1/articles/"):
        return FaultPlan("read", frozenset(FAULT_KINDS))
    return None  # /_admin and the pages are never faulted


def _revoker(state: PortalState) -> Callable[[str, Scope], None]:
    def on_fault(kind: str, scope: Scope) -> None:
        if kind != "token_expired":
            return
        for name, value in scope["headers"]:
            if name == b"authorization" and value[:7].lower() == b"bearer ":
                state.revoke_token(value[7:].decode("latin-1").strip())

    return on_fault


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    state = PortalState(config or SimulatorConfig())
    app = FastAPI(title="Portal simulator (门户网站 模拟器)", openapi_url=None)
    app.state.portal = state
    for router in (
        oauth_router(state),
        api_router(state),
        admin_router(state),
        admin_pages_router(state),
        pages_router(state),
    ):
        app.include_router(router)
    app.add_exception_handler(PortalError, _render_portal_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _render_http_error)  # type: ignore[arg-type]
    app.add_middleware(
        FaultMiddleware, dice=state.dice, counters=state.counters, plan=_fault_plan,
        error_body=error_body, on_fault=_revoker(state),
    )  # fmt: skip
    return app


async def _render_portal_error(request: Request, exc: PortalError) -> JSONResponse:
    return JSONResponse(exc.body(), exc.status, headers=exc.headers)


async def _render_http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code = "not_found" if exc.status_code == 404 else f"http_{exc.status_code}"
    return JSONResponse(error_body(code, str(exc.detail)), exc.status_code)


def serve(host: str, port: int, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground (the CLI's `simulate portal`)."""
    uvicorn.run(create_app(config), host=host, port=port)


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None
) -> RunningSimulator:
    """Serve the simulator on a background thread; port 0 picks a free port (see `.url`)."""
    return run_in_thread(create_app(config), host, port)


__all__ = ["DEFAULT_CHANNEL_CODES", "SimulatorConfig", "create_app", "serve", "start_in_thread"]
