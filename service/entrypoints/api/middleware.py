"""ASGI middleware: a request id on every log line, and a hard cap on request bodies."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import metrics
from service.domain.errors import ServiceError, TimedOut, TooLarge
from service.entrypoints.api.errors import error_response

log = structlog.get_logger()
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContext:
    """Binds a request id (the client's X-Request-ID when sane, else a new one) for the
    whole request, echoes it in the response, and logs one line per request.

    It is also where an error no handler answered ends: logged with the request id, and
    answered 500 with the error envelope and the id, the connection kept — Starlette's
    own last handler sits outside this middleware, where neither the id nor the status
    reaches the log."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status: dict[str, Any] = {}
        started = time.monotonic()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("unhandled_error")
            if "code" in status:  # the answer had begun: nothing sound can follow it
                raise
            await error_response(ServiceError())(scope, receive, send_with_id)
        finally:
            seconds = time.monotonic() - started
            _measure(scope, status.get("code"), seconds)
            if scope["path"] not in ("/healthz", "/readyz", "/metrics"):
                log.info(
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status.get("code"),
                    duration_ms=int(seconds * 1000),
                )
            structlog.contextvars.clear_contextvars()


def _measure(scope: Scope, status: int | None, seconds: float) -> None:
    """By the route's template (/v1/filings/{filing_id}), never the path itself: one
    series per route, however many filings."""
    route = scope.get("route")
    template = getattr(route, "path", None) or "unmatched"
    metrics.REQUESTS.labels(scope["method"], template, str(status or 0)).inc()
    metrics.REQUEST_SECONDS.labels(scope["method"], template).observe(seconds)


class BodyLimit:
    """Refuses a body larger than `max_bytes` with 413 — at once when Content-Length says so,
    otherwise as soon as the streamed bytes pass the limit — and one whose next bytes take
    longer than `idle_timeout_s` to come with 408 (a slow or stalled client must not hold
    a connection, a spool file and a reading slot for ever)."""

    def __init__(self, app: ASGIApp, max_bytes: int, idle_timeout_s: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.idle_timeout_s = idle_timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        seen, whole = 0, False

        async def counting_receive() -> Message:
            nonlocal seen, whole
            if whole:  # after the body only a disconnect comes, whenever it does
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_timeout_s)
            except TimeoutError:
                raise _timed_out(self.idle_timeout_s) from None
            seen += len(message.get("body", b""))
            whole = message["type"] != "http.request" or not message.get("more_body", False)
            if seen > self.max_bytes:
                raise _too_large(self.max_bytes)
            return message

        await self.app(scope, counting_receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_response(_too_large(self.max_bytes))
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


def _timed_out(seconds: float) -> TimedOut:
    return TimedOut(
        f"请求体在 {seconds:g} 秒内没有新的数据，连接已断开",
        f"No more of the request body came within {seconds:g} s",
        detail={"idle_timeout_s": seconds},
    )


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"请求体超过上限 {limit} 字节",
        f"The request body exceeds {limit} bytes",
        detail={"limit_bytes": limit},
    )
