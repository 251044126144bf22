"""The portal's routes: OAuth, the API, the published pages, the admin API."""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Coroutine
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from service.simulators.faults import add_fault_admin_routes, pause
from service.simulators.portal.checks import (
    article_fields,
    attachment_kind,
    bearer,
    check_channel,
    withdraw_reason,
)
from service.simulators.portal.config import (
    FAULT_ENDPOINTS,
    MAX_KEY_CHARS,
    MiB,
    PortalError,
    error_body,
)
from service.simulators.portal.state import PortalState


def oauth_router(state: PortalState) -> APIRouter:
    router = APIRouter()

    @router.post("/oauth/token")
    async def token(request: Request) -> JSONResponse:
        await pause(request)
        form = await request.form()
        if form.get("grant_type") != "client_credentials":
            return _oauth_error(400, "unsupported_grant_type")
        config = state.config
        secret = str(form.get("client_secret", "")).encode()
        if form.get("client_id") != config.client_id or not secrets.compare_digest(
            secret, config.client_secret.encode()
        ):
            return _oauth_error(401, "invalid_client")
        body = {"access_token": state.issue_token(), "token_type": "Bearer",
                "expires_in": int(config.token_ttl_s)}  # fmt: skip
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    return router


def _oauth_error(status: int, error: str) -> JSONResponse:
    return JSONResponse({"error": error}, status, headers={"Cache-Control": "no-store"})


def api_router(state: PortalState) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/attachments", status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        bearer(request, state)
        return await _receive_attachment(state, request)

    @router.post("/channels/{channel}/articles", status_code=201)
    async def publish(channel: str, request: Request) -> JSONResponse:
        return await _publish(state, channel, request)

    @router.get("/channels/{channel}/articles")
    async def find(channel: str, request: Request, source_id: str | None = None) -> dict[str, Any]:
        bearer(request, state)
        check_channel(channel, state.config)
        await pause(request)
        return {"articles": [a.public(state.now()) for a in state.find(channel, source_id)]}

    @router.post("/articles/{article_id}/withdraw")
    async def withdraw(article_id: str, request: Request) -> JSONResponse:
        return await _withdraw_article(state, article_id, request)

    @router.get("/articles/{article_id}")
    async def read(article_id: str, request: Request) -> dict[str, Any]:
        bearer(request, state)
        await pause(request)
        return state.article(article_id).public(state.now())

    return router


async def _publish(state: PortalState, channel: str, request: Request) -> JSONResponse:
    bearer(request, state)
    check_channel(channel, state.config)
    body = await _json_body(request)
    key = request.headers.get("idempotency-key")
    if key is None:
        return await _create(state, request, channel, body)
    _check_key(key)
    replay = state.claim_key(key, (channel, body))
    if replay is not None:
        return _replayed(replay.status, replay.payload)
    return await _create_with_key(state, request, channel, body, key)


async def _withdraw_article(state: PortalState, article_id: str, request: Request) -> JSONResponse:
    bearer(request, state)
    body = await _json_body(request)
    reason = withdraw_reason(body)
    key = request.headers.get("idempotency-key")
    if key is None:
        return await _withdraw(state, request, article_id, reason)
    _check_key(key)
    stored = f"withdraw:{key}"  # withdraw keys apart from publish keys
    replay = state.claim_key(stored, (f"withdraw:{article_id}", body), publishing=False)
    if replay is not None:
        return _replayed(replay.status, replay.payload)
    return await _settled(state, stored, _withdraw(state, request, article_id, reason))


def _check_key(key: str) -> None:
    if not key or len(key) > MAX_KEY_CHARS:
        raise PortalError(400, "invalid_idempotency_key", f"1 to {MAX_KEY_CHARS} characters")


def _replayed(status: int, payload: Any) -> JSONResponse:
    """The contract replays a success as 200; a stored 4xx keeps its own status."""
    return JSONResponse(
        payload, 200 if status < 300 else status, headers={"Idempotent-Replayed": "true"}
    )


async def _receive_attachment(state: PortalState, request: Request) -> dict[str, Any]:
    declared = request.headers.get("x-content-sha256", "").strip().lower()
    if not re.fullmatch(r"[0-9a-f]{64}", declared):
        raise PortalError(400, "missing_checksum", "X-Content-SHA256 must be a sha256 in hex")
    _refuse_oversized(request, state.config.max_attachment_bytes)
    await pause(request)
    async with request.form() as form:
        part = form.get("file")
        if not isinstance(part, UploadFile) or not part.filename:
            raise PortalError(400, "missing_file", 'one part named "file" with a filename')
        sha256, data = await _digest(part, state.config.max_attachment_bytes)
    if sha256 != declared:
        raise PortalError(422, "checksum_mismatch", f"received bytes hash to {sha256}")
    kind = attachment_kind(part.filename, data[:16])
    return state.add_attachment(part.filename, sha256, len(data), kind, data).public()


async def _create_with_key(
    state: PortalState, request: Request, channel: str, body: Any, key: str
) -> JSONResponse:
    return await _settled(state, key, _create(state, request, channel, body))


async def _settled(
    state: PortalState, key: str, handling: Coroutine[Any, Any, JSONResponse]
) -> JSONResponse:
    """Run a request that claimed `key`, and store its answer under the key for replays."""
    status, payload = 500, error_body("internal_error", "the request did not finish")
    try:
        response = await handling
        status, payload = response.status_code, json.loads(bytes(response.body))
        return response
    except PortalError as exc:
        status, payload = exc.status, exc.body()
        raise
    finally:
        state.settle_key(key, status, payload)


async def _create(state: PortalState, request: Request, channel: str, body: Any) -> JSONResponse:
    fields = article_fields(body)
    await pause(request)  # the key, if any, is in flight meanwhile
    article = state.create_article(channel, fields, str(request.base_url))
    public = article.public(state.now())
    answer = {k: public[k] for k in ("article_id", "url", "status", "published_at")}
    return JSONResponse(answer, 201)


async def _withdraw(
    state: PortalState, request: Request, article_id: str, reason: str
) -> JSONResponse:
    await pause(request)  # the key, if any, is in flight meanwhile
    article = state.withdraw_article(article_id, reason)
    return JSONResponse(article.public(state.now()), 200)


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except ValueError as exc:
        raise PortalError(400, "invalid_json", f"the body is not JSON: {exc}") from exc


def _refuse_oversized(request: Request, limit: int) -> None:
    # Refused from Content-Length before reading; the multipart framing adds a little.
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise PortalError(413, "too_large", f"attachments are limited to {limit} bytes")


async def _digest(part: UploadFile, limit: int) -> tuple[str, bytes]:
    """sha256 and bytes of an uploaded part (kept: the page serves it), read in chunks
    and refused past `limit`."""
    digest, kept = hashlib.sha256(), bytearray()
    while chunk := await part.read(MiB):
        digest.update(chunk)
        kept += chunk
        if len(kept) > limit:
            raise PortalError(413, "too_large", f"attachments are limited to {limit} bytes")
    return digest.hexdigest(), bytes(kept)


def admin_router(state: PortalState) -> APIRouter:
    router = APIRouter(prefix="/_admin")
    add_fault_admin_routes(
        router, state.dice, state.counters, state.reset, endpoints=FAULT_ENDPOINTS
    )

    @router.get("/articles")
    def articles() -> dict[str, Any]:
        with state.lock:
            listed = list(state.articles.values())
        return {"articles": [state.admin_article(a) for a in listed]}

    @router.get("/attachments")
    def attachments() -> dict[str, Any]:
        with state.lock:
            listed = list(state.attachments.values())
        return {"attachments": [a.admin() for a in listed]}

    return router
