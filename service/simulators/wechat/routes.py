"""The platform's API under /cgi-bin/, and the faults it speaks."""

from __future__ import annotations

import json
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile
from starlette.types import Scope

from service.simulators.faults import HTTP_FAULTS, FaultAnswer, FaultAnswers, FaultPlan, pause
from service.simulators.wechat.checks import (
    CONTENT_TYPES,
    UPLOADIMG_KINDS,
    clean_content,
    draft_articles,
    image_kind,
    json_object,
)
from service.simulators.wechat.config import (
    ADD_MATERIAL,
    BATCHGET,
    DELETE,
    DRAFT_ADD,
    ENDPOINTS,
    GET,
    MAX_CLIENTMSGID_CHARS,
    MAX_MATERIAL_BYTES,
    MAX_UPLOADIMG_BYTES,
    SENDALL,
    STABLE_TOKEN,
    SUBMIT,
    UPLOADIMG,
    WECHAT_FAULT_KINDS,
    WechatError,
    error_body,
)
from service.simulators.wechat.state import Publication, WechatState

MAX_BATCH = 20


# A call's handler: (state, request, the token's account) → the answer's JSON.
Handler = Callable[[WechatState, Request, str], Awaitable[dict[str, Any]]]


def api_router(state: WechatState) -> APIRouter:
    router = APIRouter(prefix="/cgi-bin")
    router.add_api_route(
        f"/{STABLE_TOKEN}", _answering(state, STABLE_TOKEN, _stable_token), methods=["POST"]
    )
    for endpoint, handler in _HANDLERS.items():
        route = _answering(state, endpoint, _with_token(endpoint, handler))
        router.add_api_route(f"/{endpoint}", route, methods=["POST"])
    return router


def _answering(
    state: WechatState, endpoint: str, handler: Callable[[WechatState, Request], Awaitable[Any]]
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The route: its handler's answer as JSON, counted as errcode 0 (an error is raised as
    WechatError, which the app's handler renders and counts)."""

    async def route(request: Request) -> JSONResponse:
        answer = await handler(state, request)
        state.count_answer(endpoint, 0)
        return JSONResponse(answer)

    return route


def _with_token(
    endpoint: str, handler: Handler
) -> Callable[[WechatState, Request], Awaitable[dict[str, Any]]]:
    async def checked(state: WechatState, request: Request) -> dict[str, Any]:
        appid = state.account_of(request.query_params.get("access_token"), endpoint)
        return await handler(state, request, appid)

    return checked


async def _stable_token(state: WechatState, request: Request) -> dict[str, Any]:
    body = json_object(await request.body())
    if body.get("grant_type") != "client_credential":
        raise WechatError(40002)
    appid, secret = body.get("appid"), body.get("secret")
    if not isinstance(appid, str) or not appid:
        raise WechatError(41002)
    if not isinstance(secret, str) or not secret:
        raise WechatError(41004)
    await pause(request)
    token, expires_in = state.stable_token(appid, secret, body.get("force_refresh") is True)
    return {"access_token": token, "expires_in": expires_in}


async def _uploadimg(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    data = await _media(request, MAX_UPLOADIMG_BYTES)
    kind = image_kind(data, UPLOADIMG_KINDS)
    if len(data) >= MAX_UPLOADIMG_BYTES:
        raise WechatError(40009, "uploadimg takes images under 1 MB")
    await pause(request)
    return {"url": state.add_image(appid, kind, data, _base(request)).url}


async def _add_material(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    if request.query_params.get("type") != "image":
        raise WechatError(40004, "only type=image is simulated")
    data = await _media(request, MAX_MATERIAL_BYTES)
    kind = image_kind(data, tuple(CONTENT_TYPES))
    if len(data) > MAX_MATERIAL_BYTES:
        raise WechatError(40009, "image materials are at most 10 MB")
    await pause(request)
    image = state.add_material(appid, kind, data, _base(request))
    return {"media_id": image.media_id, "url": image.url}


async def _draft_add(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    articles = draft_articles(json_object(await request.body()))
    dropped: list[str] = []
    for article in articles:
        state.check_material(appid, article["thumb_media_id"])
        article["content"], lost = clean_content(article["content"], state.issued_image)
        dropped += lost
    await pause(request)
    return {"media_id": state.add_draft(appid, articles, dropped).media_id}


async def _submit(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    draft = state.draft(appid, json_object(await request.body()).get("media_id"))
    await pause(request)
    publication = state.submit(appid, draft, _base(request))
    return {"errcode": 0, "errmsg": "ok", "publish_id": publication.publish_id,
            "msg_data_id": publication.msg_data_id}  # fmt: skip


async def _get(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    publish_id = json_object(await request.body()).get("publish_id")
    publication = state.publication(appid, publish_id)
    await pause(request)
    return publish_answer(publication, state.now())


async def _batchget(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    offset, count, no_content = _batch_args(json_object(await request.body()))
    await pause(request)
    published = state.published(appid)
    items = [_listed(p, no_content) for p in published[offset : offset + count]]
    return {"total_count": len(published), "item_count": len(items), "item": items}


async def _delete(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    body = json_object(await request.body())
    index = body.get("index", 0)
    if not isinstance(index, int) or isinstance(index, bool):
        raise WechatError(40060, "index must be a number")
    await pause(request)
    state.delete(appid, body.get("article_id"), index)
    return {"errcode": 0, "errmsg": "ok"}


async def _sendall(state: WechatState, request: Request, appid: str) -> dict[str, Any]:
    body = json_object(await request.body())
    audience = _audience(body.get("filter"))
    if body.get("msgtype") != "mpnews":
        raise WechatError(40008, "only mpnews is simulated")
    mpnews = body.get("mpnews")
    draft = state.draft(appid, mpnews.get("media_id") if isinstance(mpnews, dict) else None)
    clientmsgid = body.get("clientmsgid")
    if clientmsgid is not None and not isinstance(clientmsgid, str):
        raise WechatError(47001, "clientmsgid must be a string")
    if clientmsgid and len(clientmsgid) > MAX_CLIENTMSGID_CHARS:
        raise WechatError(45067)
    await pause(request)
    message = state.send_mass(appid, draft, clientmsgid or None, audience)
    return {"errcode": 0, "errmsg": "send job submission success",
            "msg_id": message.msg_id, "msg_data_id": message.msg_data_id}  # fmt: skip


_HANDLERS: dict[str, Handler] = {
    UPLOADIMG: _uploadimg,
    ADD_MATERIAL: _add_material,
    DRAFT_ADD: _draft_add,
    SUBMIT: _submit,
    GET: _get,
    BATCHGET: _batchget,
    DELETE: _delete,
    SENDALL: _sendall,
}


def render_error(state: WechatState, request: Request, exc: WechatError) -> JSONResponse:
    state.count_answer(endpoint_of(request.url.path) or request.url.path, exc.errcode)
    return JSONResponse(exc.body(new_rid()), 200)


def new_rid() -> str:
    """The request id the platform appends to each errmsg ("rid: 6571a0b2-1c3d5e7f-…")."""
    return "-".join(secrets.token_hex(4) for _ in range(3))


def endpoint_of(path: str) -> str | None:
    name = path.removeprefix("/cgi-bin/")
    return name if name != path and name in ENDPOINTS else None


def _base(request: Request) -> str:
    return str(request.base_url)  # "http://127.0.0.1:PORT/": where images and pages are


async def _media(request: Request, limit: int) -> bytes:
    """The multipart part "media" (a file), refused past `limit` before it is read."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise WechatError(40009, f"at most {limit} bytes")
    try:
        async with request.form() as form:
            part = form.get("media")
            if not isinstance(part, UploadFile):
                raise WechatError(41005, 'one file part named "media"')
            return await part.read()
    except WechatError:
        raise
    except Exception as exc:  # Starlette's answers to a body that is no multipart form
        raise WechatError(41005, "the body is no multipart form") from exc


def publish_answer(publication: Publication, now: float) -> dict[str, Any]:
    """freepublish/get's answer for the publication as it is at `now`."""
    status = publication.status(now)
    answer: dict[str, Any] = {"publish_id": publication.publish_id, "publish_status": status}
    if status in (0, 5, 6):
        items = [
            {"idx": idx, "article_url": publication.article_url(idx)}
            for idx in range(1, len(publication.articles) + 1)
        ]
        answer["article_id"] = publication.article_id
        answer["article_detail"] = {"count": len(items), "item": items}
    failed = status in (2, 3, 4)
    answer["fail_idx"] = list(range(1, len(publication.articles) + 1)) if failed else []
    return answer


def _batch_args(body: dict[str, Any]) -> tuple[int, int, bool]:
    offset, count = body.get("offset", 0), body.get("count")
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise WechatError(47001, "offset must be a number from 0")
    if not isinstance(count, int) or isinstance(count, bool) or not 1 <= count <= MAX_BATCH:
        raise WechatError(47001, f"count must be 1 to {MAX_BATCH}")
    return offset, count, body.get("no_content", 0) in (1, True)


def _listed(publication: Publication, no_content: bool) -> dict[str, Any]:
    news = []
    for idx, article in enumerate(publication.articles, start=1):
        item = {
            key: article[key]
            for key in ("title", "author", "digest", "content", "content_source_url",
                        "thumb_media_id", "need_open_comment", "only_fans_can_comment")
            if not (no_content and key == "content")
        }  # fmt: skip
        item["url"] = publication.article_url(idx)
        item["is_deleted"] = idx in publication.deleted_idx
        news.append(item)
    return {
        "article_id": publication.article_id,
        "content": {"news_item": news},
        "update_time": int(publication.finished_at),
    }


def _audience(selection: Any) -> tuple[bool, int | None]:
    if not isinstance(selection, dict):
        raise WechatError(47001, "filter missing")
    is_to_all, tag_id = selection.get("is_to_all", False), selection.get("tag_id")
    if is_to_all is not True and not isinstance(tag_id, int):
        raise WechatError(47001, "filter needs is_to_all true or a tag_id")
    return is_to_all is True, tag_id if isinstance(tag_id, int) else None


# -- faults -------------------------------------------------------------------------------

_TOKEN_KINDS = frozenset(WECHAT_FAULT_KINDS) - {"token_expired"}  # no token to expire yet


def fault_plan(scope: Scope) -> FaultPlan | None:
    endpoint = endpoint_of(scope["path"])
    if endpoint is None or scope["method"] != "POST":
        return None  # /_admin, the pages and the images are never faulted
    kinds = _TOKEN_KINDS if endpoint == STABLE_TOKEN else frozenset(WECHAT_FAULT_KINDS)
    return FaultPlan(endpoint, kinds)


_ERRCODE_FAULTS = {"system_busy": -1, "token_expired": 42001, "ip_not_whitelisted": 40164}
_GATEWAY = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
            504: "Gateway Time-out"}  # fmt: skip


def fault_answers(state: WechatState) -> FaultAnswers:
    def answer(kind: str, scope: Scope) -> FaultAnswer | None:
        endpoint = endpoint_of(scope["path"]) or scope["path"]
        if kind in _ERRCODE_FAULTS:
            errcode = _ERRCODE_FAULTS[kind]
            state.count_answer(endpoint, errcode)
            detail = f"invalid ip {_client_ip(scope)}" if errcode == 40164 else ""
            body = json.dumps(error_body(errcode, new_rid(), detail), ensure_ascii=False)
            return FaultAnswer(200, body.encode())
        if kind in HTTP_FAULTS or kind == "after_commit_503":
            status = HTTP_FAULTS[kind][0] if kind in HTTP_FAULTS else 503
            return FaultAnswer(status, gateway_page(status), "text/html")
        return None

    return answer


def gateway_page(status: int) -> bytes:
    """What the platform's front servers answer for a 5xx: nginx's page, not JSON."""
    title = f"{status} {_GATEWAY.get(status, 'Error')}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


def token_revoker(state: WechatState) -> Callable[[str, Scope], None]:
    """The token_expired fault also expires the request's token (42001 from then on)."""

    def on_fault(kind: str, scope: Scope) -> None:
        if kind != "token_expired":
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        for token in query.get("access_token", []):
            state.expire_token(token)

    return on_fault


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "0.0.0.0"
