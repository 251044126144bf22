"""The /_admin API for tests and the demo (never faulted); see the package docstring."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request

from service.domain.time import SHANGHAI
from service.simulators.faults import add_fault_admin_routes
from service.simulators.wechat.config import ENDPOINTS, OUTCOME_STATUSES, WECHAT_FAULT_KINDS
from service.simulators.wechat.state import Draft, MassMessage, Publication, WechatState

# A POST's handler: (state, the body's JSON, the path's parameters) → the answer.
Posted = Callable[[WechatState, dict[str, Any], Mapping[str, str]], dict[str, Any]]


def admin_router(state: WechatState, prefix: str = "/_admin") -> APIRouter:
    router = APIRouter(prefix=prefix)
    add_fault_admin_routes(
        router, state.dice, state.counters, state.reset,
        default_kinds=WECHAT_FAULT_KINDS, stats=state.stats, endpoints=ENDPOINTS,
    )  # fmt: skip
    for path, fields, handler in _POSTS:
        router.add_api_route(path, _posting(state, fields, handler), methods=["POST"])
    for path, listing in _GETS:
        router.add_api_route(path, _getting(state, listing), methods=["GET"])
    return router


def _posting(
    state: WechatState, fields: tuple[str, ...], handler: Posted
) -> Callable[[Request], Awaitable[dict[str, Any]]]:
    async def route(request: Request) -> dict[str, Any]:
        return handler(state, await _json(request, *fields), request.path_params)

    return route


def _getting(
    state: WechatState, listing: Callable[[WechatState], dict[str, Any]]
) -> Callable[[], dict[str, Any]]:
    def route() -> dict[str, Any]:
        return listing(state)

    return route


def _quota(state: WechatState, data: dict[str, Any], _: Mapping[str, str]) -> dict[str, Any]:
    endpoint, after, appid = data.get("endpoint"), data.get("after"), data.get("appid")
    if endpoint not in ENDPOINTS:
        raise HTTPException(400, f"endpoint must be one of {ENDPOINTS}")
    if after is not None and (not isinstance(after, int) or after < 0):
        raise HTTPException(400, "after must be a number of calls (or null: the default)")
    if appid is not None and appid not in state.config.accounts:
        raise HTTPException(400, f"no account {appid}")
    return state.set_quota(endpoint, after, appid)


def _publish_outcome(
    state: WechatState, data: dict[str, Any], _: Mapping[str, str]
) -> dict[str, Any]:
    status, delay_s = data.get("status", 0), data.get("delay_s", 0.0)
    if status not in OUTCOME_STATUSES or isinstance(status, bool):
        raise HTTPException(400, f"status must be one of {OUTCOME_STATUSES}")
    if not isinstance(delay_s, int | float) or delay_s < 0:
        raise HTTPException(400, "delay_s must be a number of seconds")
    state.set_outcome(status, float(delay_s))
    return {"status": status, "delay_s": float(delay_s)}


def _set_clock(state: WechatState, data: dict[str, Any], _: Mapping[str, str]) -> dict[str, Any]:
    moment = _epoch(data["set"]) if "set" in data else None
    advance = data.get("advance_s", 0)
    if not isinstance(advance, int | float) or isinstance(advance, bool):
        raise HTTPException(400, "advance_s must be a number of seconds")
    if "frozen" in data:  # first: a frozen clock then reads exactly what is set
        state.clock.freeze(data["frozen"] is True)
    if moment is not None:
        state.clock.set(moment)
    if advance:
        state.clock.advance(float(advance))
    return state.clock.snapshot()


def _article_status(
    state: WechatState, data: dict[str, Any], path: Mapping[str, str]
) -> dict[str, Any]:
    status = data.get("status")
    if status not in (5, 6) or isinstance(status, bool):
        raise HTTPException(400, "status must be 5 (deleted) or 6 (banned)")
    found = state.set_article_status(path["article_id"], status)
    if found is None:
        raise HTTPException(404, f"no article {path['article_id']}")
    return publication_record(found, state.now())


def _clock(state: WechatState) -> dict[str, Any]:
    return state.clock.snapshot()


def _publications(state: WechatState) -> dict[str, Any]:
    now = state.now()
    with state.lock:
        listed = list(state.publications.values())
    return {"publications": [publication_record(p, now) for p in listed]}


def _mass(state: WechatState) -> dict[str, Any]:
    with state.lock:
        listed = list(state.mass)
    return {"mass": [mass_record(m) for m in listed]}


def _drafts(state: WechatState) -> dict[str, Any]:
    with state.lock:
        listed = list(state.drafts.values())
    return {"drafts": [draft_record(d) for d in listed]}


_POSTS: tuple[tuple[str, tuple[str, ...], Posted], ...] = (
    ("/quota", ("endpoint", "after", "appid"), _quota),
    ("/publish_outcome", ("status", "delay_s"), _publish_outcome),
    ("/clock", ("set", "advance_s", "frozen"), _set_clock),
    ("/articles/{article_id}/status", ("status",), _article_status),
)
_GETS: tuple[tuple[str, Callable[[WechatState], dict[str, Any]]], ...] = (
    ("/clock", _clock),
    ("/publications", _publications),
    ("/mass", _mass),
    ("/drafts", _drafts),
)


def draft_record(draft: Draft) -> dict[str, Any]:
    return {"media_id": draft.media_id, "appid": draft.appid, "articles": draft.articles,
            "created_at": _iso(draft.created_at), "dropped_images": draft.dropped_images}  # fmt: skip


_FIRST_FIELDS = (
    "title", "author", "digest", "content", "content_source_url", "thumb_media_id",
)  # fmt: skip


def publication_record(publication: Publication, now: float) -> dict[str, Any]:
    """A publication as /_admin/publications lists it: its first article's fields at the
    top (the sender's drafts have one), every article under "articles"."""
    status = publication.status(now)
    first = publication.articles[0]
    published = status in (0, 5, 6)
    return {
        "appid": publication.appid,
        "publish_id": publication.publish_id,
        "msg_data_id": publication.msg_data_id,
        "draft_media_id": publication.draft_media_id,
        "article_id": publication.article_id if published else None,
        "article_url": publication.article_url(1) if published else None,
        **{key: first[key] for key in _FIRST_FIELDS},
        "status": status,
        "deleted": status == 5,
        "deleted_idx": sorted(publication.deleted_idx),
        "submitted_at": _iso(publication.submitted_at),
        "finished_at": _iso(publication.finished_at),
        "articles": publication.articles,
    }


def mass_record(message: MassMessage) -> dict[str, Any]:
    return {
        "appid": message.appid,
        "msg_id": message.msg_id,
        "msg_data_id": message.msg_data_id,
        "media_id": message.media_id,
        "clientmsgid": message.clientmsgid,
        "is_to_all": message.is_to_all,
        "tag_id": message.tag_id,
        "title": message.title,
        "sent_at": _iso(message.sent_at),
    }


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, SHANGHAI).isoformat()


def _epoch(value: Any) -> float:
    """An instant given as epoch seconds or ISO 8601 with an offset."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise HTTPException(400, "set takes epoch seconds or ISO 8601 with an offset")
    return moment.timestamp()


async def _json(request: Request, *fields: str) -> dict[str, Any]:
    """The body's JSON object, with no field but `fields` (a misspelt one fails loudly)."""
    try:
        data = json.loads(await request.body() or b"{}")
    except ValueError as exc:
        raise HTTPException(400, f"the body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise HTTPException(400, "a JSON object is expected")
    unknown = set(data) - set(fields)
    if unknown:
        raise HTTPException(400, f"unknown fields {sorted(unknown)}; known: {list(fields)}")
    return data
