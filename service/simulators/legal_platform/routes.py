"""The platform's routes, its admin routes, and the faults it speaks."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from service.simulators.faults import (
    FaultAnswer,
    FaultAnswers,
    FaultPlan,
    add_fault_admin_routes,
    pause,
)
from service.simulators.legal_platform.checks import GatewayError, gateway_page, read_submission
from service.simulators.legal_platform.config import (
    GATEWAY_STATUS,
    LEGAL_PLATFORM_FAULT_KINDS,
    REPORTS_PATH,
    REVIEW_OUTCOMES,
    PlatformError,
    envelope,
)
from service.simulators.legal_platform.state import PlatformState


def api_router(state: PlatformState) -> APIRouter:
    router = APIRouter(prefix=f"{state.config.path_prefix}{REPORTS_PATH}")

    @router.post("")
    async def submit(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > state.config.gateway_max_bytes:
            raise GatewayError(413)
        body = await request.body()
        app_key = state.authenticate(request, body)
        try:
            async with request.form() as form:  # parses the body read above
                submission = await read_submission(form)
        except HTTPException as exc:  # Starlette's answer to a garbled multipart body
            raise PlatformError(
                40001, f"请求体不是有效的 multipart/form-data ({exc.detail})"
            ) from exc
        await pause(request)
        return _success(state, state.file(app_key, submission))

    @router.get("/{receipt_no}")
    async def review(receipt_no: str, request: Request) -> JSONResponse:
        app_key = state.authenticate(request, await request.body())
        await pause(request)
        return _success(state, state.review_of(app_key, receipt_no))

    return router


def _success(state: PlatformState, data: dict[str, Any]) -> JSONResponse:
    state.counters.inc("answers.0")
    return JSONResponse(envelope(0, "成功", data))


def admin_router(state: PlatformState) -> APIRouter:
    router = APIRouter(prefix="/_admin")
    add_fault_admin_routes(
        router, state.dice, state.counters, state.reset,
        default_kinds=LEGAL_PLATFORM_FAULT_KINDS, endpoints=("submit", "review"),
    )  # fmt: skip

    @router.get("/reports")
    def reports() -> dict[str, Any]:
        return {"reports": state.listed()}

    @router.post("/reports")
    async def file_by_hand(request: Request) -> dict[str, Any]:
        """Seed a report filed by hand: {org_code, org_name, report_year, file_sha256[,
        report_type, title]} (all strings) → the report as the admin list shows it."""
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from exc
        needed = ("org_code", "org_name", "report_year", "file_sha256")
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in needed):
            raise HTTPException(400, f"give {', '.join(needed)} as strings")
        return state.file_by_hand({k: v for k, v in data.items() if isinstance(v, str)})

    @router.post("/reviews/{receipt_no}")
    async def decide(receipt_no: str, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from exc
        status = data.get("status") if isinstance(data, dict) else None
        if status not in REVIEW_OUTCOMES:
            raise HTTPException(400, f"status must be one of {REVIEW_OUTCOMES}")
        reason = data.get("return_reason")
        return state.decide(receipt_no, status, reason if isinstance(reason, str) else None)

    return router


# -- faults -------------------------------------------------------------------------------


def fault_plan(prefix: str) -> Callable[[Scope], FaultPlan | None]:
    reports, kinds = f"{prefix}{REPORTS_PATH}", frozenset(LEGAL_PLATFORM_FAULT_KINDS)

    def plan(scope: Scope) -> FaultPlan | None:
        path = scope["path"]
        if path == reports and scope["method"] == "POST":
            return FaultPlan("submit", kinds)
        if path.startswith(f"{reports}/"):
            return FaultPlan("review", kinds)
        return None  # /_admin is never faulted

    return plan


def fault_answers(state: PlatformState) -> FaultAnswers:
    def answer(kind: str, scope: Scope) -> FaultAnswer | None:
        if kind in GATEWAY_STATUS or kind == "after_commit_503":
            status = GATEWAY_STATUS.get(kind, 503)
            return FaultAnswer(status, gateway_page(status), "text/html; charset=utf-8")
        if kind == "rate_limit":
            data = {"retry_after": state.config.rate_limit_retry_after_s}
            return _envelope_answer(42901, "请求过于频繁，请稍后再试 (rate limited)", data)
        if kind == "platform_busy":
            return _envelope_answer(state.next_busy_code(), "系统繁忙，请稍后再试 (busy)")
        if kind == "clock_skew":
            server_time = state.now_ms() + round(state.config.clock_skew_s * 1000)
            message = "时间戳超出允许范围 (X-Timestamp out of range)"
            return _envelope_answer(40102, message, {"server_time": server_time})
        return None

    return answer


def _envelope_answer(code: int, message: str, data: Mapping[str, Any] | None = None) -> FaultAnswer:
    return FaultAnswer(200, json.dumps(envelope(code, message, data), ensure_ascii=False).encode())
