"""The portal simulator: an in-memory portal speaking the whole of `contracts/portal.md`,
with fault injection (service.simulators.faults) and an /_admin API for tests.

    POST /oauth/token                                   client credentials (RFC 6749 errors)
    POST /api/v1/attachments                            multipart "file" + X-Content-SHA256
    POST /api/v1/channels/{channel}/articles            Idempotency-Key, duplicate_source, replaces
    GET  /api/v1/channels/{channel}/articles?source_id= 0 or 1 article
    GET  /api/v1/articles/{article_id}
    GET  /{channel}/{article_id}.html                   the published page (for the demo)

    POST /_admin/faults   GET /_admin/faults   POST /_admin/reset
    GET  /_admin/articles   GET /_admin/attachments   GET /_admin/stats

Idempotency follows Stripe's: a key's first 2xx or 4xx answer is kept `key_ttl_s` and
replayed for the same JSON body; a 5xx frees the key. While the first request with a key
runs, the key is marked in flight (under the state's lock, so concurrent requests see it).
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Scope

from service.domain.time import SHANGHAI
from service.simulators import RunningSimulator, run_in_thread
from service.simulators.faults import (
    FAULT_KINDS,
    Counters,
    FaultDice,
    FaultMiddleware,
    FaultPlan,
    Faults,
    add_fault_admin_routes,
    pause,
)

MiB = 1024 * 1024
DEFAULT_CHANNEL_CODES = ("fzzfjs", "zfxxgknb", "ldxx", "jgzn", "czyjs", "zdmsxx")
MAX_KEY_CHARS = 128
MAX_SUMMARY_CHARS = 500

# Allowed attachment types: the extension names the type, the first bytes must agree.
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SIGNATURES = {
    "pdf": b"%PDF",
    "ofd": _ZIP,
    "docx": _ZIP,
    "xlsx": _ZIP,
    "doc": _OLE,
    "xls": _OLE,
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG\r\n\x1a\n",
}


@dataclass(frozen=True)
class SimulatorConfig:
    client_id: str = "portal-demo"
    client_secret: str = field(default="portal-demo-secret", repr=False)
    token_ttl_s: float = 7200
    key_ttl_s: float = 86400
    channels: tuple[str, ...] = DEFAULT_CHANNEL_CODES
    forbidden_channels: frozenset[str] = frozenset()  # answered 403, to exercise that row
    max_attachment_bytes: int = 50 * MiB
    faults: Faults = field(default_factory=Faults)


class PortalError(Exception):
    """An answer in the contract's nested error shape; one handler renders every one."""

    def __init__(
        self, status: int, code: str, message: str = "", headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message or code
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, **self.extra)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


# -- state --------------------------------------------------------------------------------


@dataclass
class Attachment:
    attachment_id: str
    filename: str
    sha256: str
    size: int
    kind: str

    def public(self) -> dict[str, Any]:
        return {"attachment_id": self.attachment_id, "sha256": self.sha256, "size": self.size}

    def admin(self) -> dict[str, Any]:
        return {**self.public(), "filename": self.filename, "kind": self.kind}


@dataclass
class Article:
    article_id: str
    channel: str
    fields: dict[str, Any]
    publish_at: datetime
    created_at: datetime
    url: str
    corrected_by: str | None = None
    posts: dict[str, int] = field(
        default_factory=lambda: {"created": 1, "replayed": 0, "duplicate": 0}
    )

    def status(self, now: datetime) -> str:
        if self.corrected_by:
            return "corrected"  # 已更正: kept reachable, superseded by `corrected_by`
        return "scheduled" if self.publish_at > now else "published"

    def public(self, now: datetime) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "url": self.url,
            "status": self.status(now),
            "published_at": max(self.publish_at, self.created_at).isoformat(),
            "channel": self.channel,
            "source_id": self.fields["source_id"],
            "title": self.fields["title"],
            "replaces": self.fields.get("replaces"),
            "corrected_by": self.corrected_by,
        }


@dataclass
class _Key:
    fingerprint: tuple[str, Any]  # (channel, body): "the same request"
    status: int | None = None  # None while the first request with the key is in flight
    payload: dict[str, Any] | None = None
    stored_at: float = 0.0


@dataclass(frozen=True)
class Replay:
    status: int
    payload: dict[str, Any]


class PortalState:
    """Everything the portal holds, behind one lock."""

    def __init__(
        self, config: SimulatorConfig, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.config = config
        self.clock = clock
        self.lock = threading.Lock()
        self.counters = Counters()
        self.dice = FaultDice(config.faults)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.tokens: dict[str, float] = {}  # token → monotonic expiry
            self.attachments: dict[str, Attachment] = {}
            self.articles: dict[str, Article] = {}
            self.by_source: dict[tuple[str, str], str] = {}
            self.keys: dict[str, _Key] = {}
        self.counters.reset()
        self.dice.set(self.config.faults)

    def now(self) -> datetime:
        return datetime.now(SHANGHAI).replace(microsecond=0)

    # tokens

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = self.clock() + self.config.token_ttl_s
        return token

    def check_token(self, token: str) -> None:
        # Unknown tokens (say, from before a restart or reset) count as expired, not
        # invalid: a client's cure is the same — fetch a new one.
        with self.lock:
            expires = self.tokens.get(token)
        if expires is None or self.clock() >= expires:
            raise PortalError(401, "token_expired", "the access token has expired", _BEARER)

    def revoke_token(self, token: str) -> None:
        with self.lock:
            self.tokens.pop(token, None)

    # attachments

    def add_attachment(self, filename: str, sha256: str, size: int, kind: str) -> Attachment:
        attachment = Attachment(f"att_{secrets.token_hex(8)}", filename, sha256, size, kind)
        with self.lock:
            self.attachments[attachment.attachment_id] = attachment
        self.counters.inc("attachments_created")
        return attachment

    # idempotency keys

    def claim_key(self, key: str, fingerprint: tuple[str, Any]) -> Replay | None:
        """None: the caller owns the key now and must `settle_key` it."""
        with self.lock:
            entry = self.keys.get(key)
            if entry is not None and entry.status is not None and self._expired(entry):
                del self.keys[key]  # forgotten: a retry now meets duplicate_source instead
                entry = None
            if entry is None:
                self.keys[key] = _Key(fingerprint)
                return None
            if entry.status is None:
                raise PortalError(
                    409, "idempotency_key_in_use", "a request with this key is running"
                )
            if entry.fingerprint != fingerprint:
                raise PortalError(
                    422, "idempotency_key_reused", "the key was used with another body"
                )
            assert entry.payload is not None
            self._count_post(_article_of(entry.payload), "replayed")
            return Replay(entry.status, entry.payload)

    def settle_key(self, key: str, status: int, payload: dict[str, Any]) -> None:
        with self.lock:
            if key not in self.keys:
                return  # an /_admin/reset came while the request ran
            if status >= 500:
                del self.keys[key]  # only 2xx and 4xx are kept: the retry runs anew
            else:
                self.keys[key] = replace(
                    self.keys[key], status=status, payload=payload, stored_at=self.clock()
                )

    def _expired(self, entry: _Key) -> bool:
        return self.clock() - entry.stored_at >= self.config.key_ttl_s

    # articles

    def create_article(self, channel: str, fields: dict[str, Any], base_url: str) -> Article:
        with self.lock:
            existing = self.by_source.get((channel, fields["source_id"]))
            if existing is not None:
                self._count_post(existing, "duplicate")
                raise PortalError(
                    409, "duplicate_source", "the source is published", article_id=existing
                )
            self._check_references(fields)
            article_id = f"art_{secrets.token_hex(8)}"
            now = self.now()
            article = Article(
                article_id, channel, fields, datetime.fromisoformat(fields["publish_at"]), now,
                url=f"{base_url}{channel}/{article_id}.html",
            )  # fmt: skip
            self.articles[article_id] = article
            self.by_source[(channel, fields["source_id"])] = article_id
            if fields.get("replaces"):
                self.articles[fields["replaces"]].corrected_by = article_id
        self.counters.inc("articles_created")
        return article

    def _check_references(self, fields: dict[str, Any]) -> None:
        for attachment_id in fields["attachments"]:
            if attachment_id not in self.attachments:
                raise PortalError(422, "unknown_attachment", f"no attachment {attachment_id}")
        replaces = fields.get("replaces")
        if replaces and replaces not in self.articles:
            raise PortalError(422, "unknown_article", f"replaces names no article {replaces}")

    def _count_post(self, article_id: str | None, how: str) -> None:
        if article_id in self.articles:
            self.articles[article_id].posts[how] += 1

    def article(self, article_id: str) -> Article:
        with self.lock:
            found = self.articles.get(article_id)
        if found is None:
            raise PortalError(404, "article_not_found", f"no article {article_id}")
        return found

    def find(self, channel: str, source_id: str | None) -> list[Article]:
        with self.lock:
            articles = list(self.articles.values())
        return [
            a
            for a in articles
            if a.channel == channel and source_id in (None, a.fields["source_id"])
        ]

    def admin_article(self, article: Article) -> dict[str, Any]:
        with self.lock:
            attachments = [self.attachments[a] for a in article.fields["attachments"]]
            posts = dict(article.posts)
        return {
            **article.public(self.now()),
            **{
                k: article.fields.get(k) for k in ("publisher", "org_code", "publish_at", "summary")
            },
            "body_html": article.fields["body_html"],
            "attachments": [a.admin() for a in attachments],
            "posts": posts,
        }


def _article_of(payload: Mapping[str, Any]) -> str | None:
    """The article a stored answer names: a 201's article_id or duplicate_source's."""
    error = payload.get("error")
    found = error.get("article_id") if isinstance(error, dict) else payload.get("article_id")
    return found if isinstance(found, str) else None


_BEARER = {"WWW-Authenticate": 'Bearer error="invalid_token"'}


# -- request checks -----------------------------------------------------------------------


def _bearer(request: Request, state: PortalState) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise PortalError(401, "invalid_token", "a bearer token is required", _BEARER)
    state.check_token(token.strip())
    return token.strip()


def _channel(channel: str, config: SimulatorConfig) -> str:
    if channel not in config.channels:
        raise PortalError(404, "channel_not_found", f"no channel {channel}")
    if channel in config.forbidden_channels:
        raise PortalError(403, "channel_forbidden", f"this client may not publish to {channel}")
    return channel


def _article_fields(body: Any) -> dict[str, Any]:
    """The article's fields, checked; 400 for a body that is not an object, 422 for a field."""
    if not isinstance(body, dict):
        raise PortalError(400, "invalid_request", "the body must be a JSON object")
    for name in ("source_id", "title", "publisher", "org_code", "body_html", "publish_at"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise PortalError(422, "invalid_field", f"{name} is required")
    if len(body["org_code"]) != 18:
        raise PortalError(422, "invalid_field", "org_code must be 18 characters")
    if not _is_zoned_iso(body["publish_at"]):
        raise PortalError(422, "invalid_field", "publish_at must be ISO 8601 with an offset")
    attachments = body.get("attachments", [])
    if not isinstance(attachments, list) or not all(isinstance(a, str) for a in attachments):
        raise PortalError(422, "invalid_field", "attachments must be a list of ids")
    summary = body.get("summary")
    if summary is not None and (not isinstance(summary, str) or len(summary) > MAX_SUMMARY_CHARS):
        raise PortalError(
            422, "invalid_field", f"summary must be at most {MAX_SUMMARY_CHARS} chars"
        )
    if body.get("replaces") is not None and not isinstance(body["replaces"], str):
        raise PortalError(422, "invalid_field", "replaces must be an article id")
    return {**body, "attachments": attachments}


def _is_zoned_iso(value: str) -> bool:
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _attachment_kind(filename: str, head: bytes) -> str:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    signature = _SIGNATURES.get(extension)
    if signature is None or not head.startswith(signature):
        raise PortalError(415, "unsupported_type", f"{filename!r} is not an allowed file type")
    return "jpg" if extension == "jpeg" else extension


# -- routes -------------------------------------------------------------------------------


def _oauth_router(state: PortalState) -> APIRouter:
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


def _api_router(state: PortalState) -> APIRouter:
    router = APIRouter(prefix="/api/v1")

    @router.post("/attachments", status_code=201)
    async def upload(request: Request) -> dict[str, Any]:
        _bearer(request, state)
        declared = request.headers.get("x-content-sha256", "").strip().lower()
        if not re.fullmatch(r"[0-9a-f]{64}", declared):
            raise PortalError(400, "missing_checksum", "X-Content-SHA256 must be a sha256 in hex")
        _refuse_oversized(request, state.config.max_attachment_bytes)
        await pause(request)
        async with request.form() as form:
            part = form.get("file")
            if not isinstance(part, UploadFile) or not part.filename:
                raise PortalError(400, "missing_file", 'one part named "file" with a filename')
            sha256, size, head = await _digest(part, state.config.max_attachment_bytes)
        if sha256 != declared:
            raise PortalError(422, "checksum_mismatch", f"received bytes hash to {sha256}")
        kind = _attachment_kind(part.filename, head)
        return state.add_attachment(part.filename, sha256, size, kind).public()

    @router.post("/channels/{channel}/articles", status_code=201)
    async def publish(channel: str, request: Request) -> JSONResponse:
        _bearer(request, state)
        _channel(channel, state.config)
        body = await _json_body(request)
        key = request.headers.get("idempotency-key")
        if key is None:
            return await _create(state, request, channel, body)
        if not key or len(key) > MAX_KEY_CHARS:
            raise PortalError(400, "invalid_idempotency_key", f"1 to {MAX_KEY_CHARS} characters")
        replay = state.claim_key(key, (channel, body))
        if replay is not None:
            # The contract replays a success as 200; a stored 4xx keeps its own status.
            status = 200 if replay.status < 300 else replay.status
            return JSONResponse(replay.payload, status, headers={"Idempotent-Replayed": "true"})
        return await _create_with_key(state, request, channel, body, key)

    @router.get("/channels/{channel}/articles")
    async def find(channel: str, request: Request, source_id: str | None = None) -> dict[str, Any]:
        _bearer(request, state)
        _channel(channel, state.config)
        await pause(request)
        return {"articles": [a.public(state.now()) for a in state.find(channel, source_id)]}

    @router.get("/articles/{article_id}")
    async def read(article_id: str, request: Request) -> dict[str, Any]:
        _bearer(request, state)
        await pause(request)
        return state.article(article_id).public(state.now())

    return router


async def _create_with_key(
    state: PortalState, request: Request, channel: str, body: Any, key: str
) -> JSONResponse:
    status, payload = 500, error_body("internal_error", "the request did not finish")
    try:
        response = await _create(state, request, channel, body)
        status, payload = response.status_code, json.loads(bytes(response.body))
        return response
    except PortalError as exc:
        status, payload = exc.status, exc.body()
        raise
    finally:
        state.settle_key(key, status, payload)


async def _create(state: PortalState, request: Request, channel: str, body: Any) -> JSONResponse:
    fields = _article_fields(body)
    await pause(request)  # the key, if any, is in flight meanwhile
    article = state.create_article(channel, fields, str(request.base_url))
    public = article.public(state.now())
    answer = {k: public[k] for k in ("article_id", "url", "status", "published_at")}
    return JSONResponse(answer, 201)


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


async def _digest(part: UploadFile, limit: int) -> tuple[str, int, bytes]:
    """sha256, size and first bytes of an uploaded part, read in chunks (never whole)."""
    digest, size, head = hashlib.sha256(), 0, b""
    while chunk := await part.read(MiB):
        digest.update(chunk)
        size += len(chunk)
        head = head or chunk[:16]
        if size > limit:
            raise PortalError(413, "too_large", f"attachments are limited to {limit} bytes")
    return digest.hexdigest(), size, head


def _pages_router(state: PortalState) -> APIRouter:
    router = APIRouter()

    @router.get("/{channel}/{article_id}.html", response_class=HTMLResponse)
    def page(channel: str, article_id: str) -> str:
        article = state.article(article_id)
        banner = "<p><strong>已更正</strong></p>" if article.corrected_by else ""
        title = html.escape(article.fields["title"])
        return f"<!doctype html><title>{title}</title><h1>{title}</h1>{banner}{article.fields['body_html']}"

    return router


def _admin_router(state: PortalState) -> APIRouter:
    router = APIRouter(prefix="/_admin")
    add_fault_admin_routes(router, state.dice, state.counters, state.reset)

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


# -- the app ------------------------------------------------------------------------------

_TOKEN_FAULTS = frozenset(FAULT_KINDS) - {"token_expired"}  # no token to expire yet


def _fault_plan(scope: Scope) -> FaultPlan | None:
    path, method = scope["path"], scope["method"]
    if path == "/oauth/token":
        return FaultPlan("token", _TOKEN_FAULTS)
    if path == "/api/v1/attachments":
        return FaultPlan("upload", frozenset(FAULT_KINDS))
    if path.startswith("/api/v1/channels/"):
        return FaultPlan("publish" if method == "POST" else "find", frozenset(FAULT_KINDS))
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
        _oauth_router(state),
        _api_router(state),
        _admin_router(state),
        _pages_router(state),
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
