"""Domain errors → HTTP status, in one table; routes never build error responses."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from service.domain import errors
from service.entrypoints.api.problems import first_en, first_zh, problems

log = structlog.get_logger()

STATUS: list[tuple[type[errors.ServiceError], int]] = [
    (errors.Rejected, 422),
    (errors.InvalidInput, 400),
    (errors.Unauthenticated, 401),
    (errors.Forbidden, 403),
    (errors.NotFound, 404),
    (errors.Conflict, 409),
    (errors.TooLarge, 413),
    (errors.Throttled, 429),
    (errors.TimedOut, 408),
    (errors.Unavailable, 503),
    (errors.DamagedArchive, 500),
]


# Starlette's own answers (no route, wrong method), in the service's envelope; 405 keeps
# its Allow header.
_HTTP_ERRORS = {
    404: ("not_found", "没有这个地址"),
    405: ("method_not_allowed", "此地址不支持该请求方法"),
}


def status_of(error: errors.ServiceError) -> int:
    return next((status for cls, status in STATUS if isinstance(error, cls)), 500)


def error_response(error: errors.ServiceError) -> JSONResponse:
    status = status_of(error)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 408:
        headers = {"Connection": "close"}
    if status == 503:
        headers = {"Retry-After": "30"}
    if error.retry_after is not None:
        headers = {"Retry-After": str(error.retry_after)}
    return JSONResponse({"error": error.to_dict()}, status_code=status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.ServiceError)
    async def _service_error(_request: Request, exc: errors.ServiceError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        found = problems(exc.errors())
        return error_response(
            errors.InvalidInput(
                f"请求参数有误{first_zh(found)}",
                f"Invalid request parameters{first_en(found)}",
                code="invalid_request",
                detail={"problems": found},
            )
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, message_zh = _HTTP_ERRORS.get(exc.status_code, ("http_error", "请求无法处理"))
        body = {"code": code, "message_zh": message_zh, "message_en": str(exc.detail)}
        return JSONResponse({"error": body}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(ClientDisconnect)
    async def _gone(_request: Request, _exc: ClientDisconnect) -> JSONResponse:
        """A client that hangs up mid-body is no server error; nobody reads the answer."""
        log.info("client_disconnected")
        return error_response(
            errors.InvalidInput(
                "客户端在请求体发送完毕前断开了连接",
                "The client went away before it had sent the whole body",
                code="client_disconnected",
            )
        )
