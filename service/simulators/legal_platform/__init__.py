"""The legal-platform simulator: an in-memory 天津市法律顾问管理服务平台 speaking the whole of
`contracts/legal-platform.md`, with fault injection (service.simulators.faults) and an
/_admin API for tests and the demo.

    POST {prefix}/openapi/v1/reports                 file a report (multipart, signed)
    GET  {prefix}/openapi/v1/reports/{receipt_no}    its review status (signed)

    POST /_admin/faults   GET /_admin/faults   POST /_admin/reset   GET /_admin/stats
    GET  /_admin/reports  POST /_admin/reviews/{receipt_no}  {"status": "ACCEPTED"|"RETURNED",
                                                               "return_reason": "…"}

`prefix` (config `path_prefix`, e.g. "/gw") stands for a gateway's path in front of the
platform: signatures cover it. Every business answer is HTTP 200 with the envelope
`{"code", "message", "data"}`; the checks run in the contract's order — app key, timestamp,
signature, nonce; then request_id replay; then everything else. A request_id's first
success (code 0) is kept `request_id_ttl_s` per app key and replayed for the same content
(the form's fields and the file's SHA-256; not the bytes, so a sender may rebuild the body
with another boundary); other content under it is 40001.

A report is RECEIVED on upload; a reviewer ACCEPTS or RETURNS it by an admin call, or by
itself `review_after_s` after upload (the explicit `review_decision`, else RETURNED with
probability `return_rate`), decided when it is next read.

Faults (the portal's `Faults`, mapped to this platform; token_expired does not apply — there
are no tokens — and is never drawn here):

    http_500 … 504     the gateway's HTML error page: 502 (for http_500 and http_502), 503, 504
    rate_limit         HTTP 200, code 42901, data.retry_after
    platform_busy      HTTP 200, code 50001 or 50301 (in turn)
    after_commit_503   the request IS processed (the report stored), then the gateway's 503
    drop_connection    the request IS processed, then the connection is cut
    slow               the handler waits `latency_ms`
    clock_skew         the request meets a platform node whose clock is `clock_skew_s` off:
                       40102 with that node's server_time (a client that learns the offset
                       from it then meets 40102 from the right clocks, and corrects back)

`clock_offset_s` instead sets every clock of the platform off, so an unsynchronised client
meets 40102 until it corrects its offset from server_time.


    config.py   checks.py   state.py   routes.py   (the app is built here)
"""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from service.simulators import RunningSimulator, run_in_thread
from service.simulators.faults import FaultMiddleware
from service.simulators.legal_platform.checks import GatewayError, gateway_page
from service.simulators.legal_platform.config import (
    LEGAL_PLATFORM_FAULT_KINDS,
    PlatformError,
    SimulatorConfig,
    envelope,
)
from service.simulators.legal_platform.routes import (
    admin_router,
    api_router,
    fault_answers,
    fault_plan,
)
from service.simulators.legal_platform.state import PlatformState


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    state = PlatformState(config or SimulatorConfig())
    app = FastAPI(title="Legal platform simulator (法律顾问管理服务平台 模拟器)", openapi_url=None)
    app.state.legal_platform = state
    app.include_router(api_router(state))
    app.include_router(admin_router(state))

    async def platform_error(request: Request, exc: PlatformError) -> JSONResponse:
        state.counters.inc(f"answers.{exc.code}")
        return JSONResponse(envelope(exc.code, exc.message, exc.data))

    async def gateway_error(request: Request, exc: GatewayError) -> HTMLResponse:
        return HTMLResponse(gateway_page(exc.status), exc.status)

    app.add_exception_handler(PlatformError, platform_error)  # type: ignore[arg-type]
    app.add_exception_handler(GatewayError, gateway_error)  # type: ignore[arg-type]
    app.add_middleware(
        FaultMiddleware, dice=state.dice, counters=state.counters,
        plan=fault_plan(state.config.path_prefix), error_body=_gateway_error_body,
        answers=fault_answers(state),
    )  # fmt: skip
    return app


def _gateway_error_body(code: str, message: str) -> dict[str, Any]:
    # Only for kinds `fault_answers` leaves to the middleware's defaults (none it draws).
    return {"code": 50301, "message": f"{code}: {message}", "data": None}


def serve(host: str, port: int, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground (the CLI's `simulate legal-platform`)."""
    uvicorn.run(create_app(config), host=host, port=port)


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None
) -> RunningSimulator:
    """Serve the simulator on a background thread; port 0 picks a free port (see `.url`)."""
    return run_in_thread(create_app(config), host, port)


__all__ = [
    "LEGAL_PLATFORM_FAULT_KINDS",
    "SimulatorConfig",
    "create_app",
    "serve",
    "start_in_thread",
]
