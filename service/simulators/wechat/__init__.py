"""The WeChat official-account simulator (微信公众平台 模拟器): an in-memory platform speaking
the whole of `contracts/wechat.md`, with fault injection (service.simulators.faults), an
injectable clock and an /_admin API for tests and the demo.

    with start_in_thread("127.0.0.1", 0, SimulatorConfig(accounts={APPID: SECRET})) as sim:
        sim.url      # "http://127.0.0.1:PORT/cgi-bin/": the adapter's base URL, as the real
                     # "https://api.weixin.qq.com/cgi-bin/"; it appends "stable_token" etc.
        sim.origin   # "http://127.0.0.1:PORT": where /_admin, /s/… and the images are
        sim.admin    # "http://127.0.0.1:PORT/_admin"

The API, under /cgi-bin/ (every call but stable_token takes `?access_token=`):

    POST stable_token               {"grant_type": "client_credential", "appid", "secret",
                                     "force_refresh"} → {"access_token", "expires_in"}
    POST media/uploadimg            multipart "media", jpg/png < 1 MB → {"url"}
    POST material/add_material?type=image   multipart "media" → {"media_id", "url"}
    POST draft/add                  {"articles": [...]} → {"media_id"}
    POST freepublish/submit         {"media_id"} → {"errcode": 0, "publish_id", "msg_data_id"}
    POST freepublish/get            {"publish_id"} → {"publish_id", "publish_status",
                                     "article_id", "article_detail": {"count", "item":
                                     [{"idx", "article_url"}]}, "fail_idx"}
    POST freepublish/batchget       {"offset", "count" (1–20), "no_content"} → {"total_count",
                                     "item_count", "item": [{"article_id", "update_time",
                                     "content": {"news_item": [{"title", "digest", "url", …}]}}]}
    POST freepublish/delete         {"article_id", "index"} → {"errcode": 0}
    POST message/mass/sendall       {"filter": {"is_to_all": true}, "mpnews": {"media_id"},
                                     "msgtype": "mpnews", "clientmsgid"} → {"msg_id", "msg_data_id"}

    GET /s/{article_id}[?idx=n]     the published article, at its article_url (pages.py):
                                    404 once deleted; a banned one 200 with the notice
    GET /mmbiz_{kind}/{image_id}/0  an uploaded image, at the url uploadimg gave

Every error is HTTP 200 with `{"errcode": N, "errmsg": "… rid: …"}`; only injected faults
answer a 5xx (nginx's HTML page) or cut the connection. What the platform answers:

    token       41001 no token; 40001 unknown, or superseded by a force_refresh; 42001 expired
    stable_token  40002 grant_type; 41002/41004 appid/secret missing; 40013 unknown appid;
                40125 wrong secret; 45009 the 21st force_refresh of the day. Without
                force_refresh the account's current token is returned (with its remaining
                expires_in) until its last 5 minutes, when a new one is issued and the old
                one still works until it expires; a force_refresh supersedes every earlier
                token of the account at once.
    uploads     41005 no "media" file part; 40005 not a jpg/png (add_material: also gif/bmp)
                by its first bytes; 40009 too large; 40004 add_material with a type not image
    draft/add   44003 no articles or no title; 45008 more than 8; 45003 title > 32 chars;
                45110 author > 16; 45004 digest > 128; 44004 no content; 45002 content
                ≥ 20,000 chars or ≥ 1 MB; 45005 content_source_url > 1 KB; 41006 no
                thumb_media_id; 40007 thumb_media_id no image material of the account.
                Kept: the content with <script> removed and every <img> whose src is not an
                uploadimg URL removed; no digest → the first 54 characters of the text.
    submit      40007 no draft of the account. A second submit of one draft PUBLISHES AGAIN:
                a second publication (with its own publish_id and article_id), as the
                contract tells senders to assume — /_admin/publications shows both.
    get         53601 unknown publish_id; publish_status 1 until the job's delay has passed
                (by the simulator's clock), then its outcome: 0, or 2/3/4 with fail_idx;
                5 once deleted, 5/6 when set by admin.
    batchget    47001 offset/count out of range; lists the account's publications with
                status 0 (a wholly deleted one is gone; one deleted in part stays, its
                article marked is_deleted), newest first.
    delete      53600 no published article of the account; 40060 index beyond its articles.
                Idempotent: deleting a deleted article answers 0 again (the real platform's
                answer is undocumented; a withdrawal whose answer was lost is retried).
    sendall     40008 msgtype not mpnews; 40007 media_id no draft of the account; 45067
                clientmsgid > 64 chars; 45065 the account sent that clientmsgid in the last
                24 h (the answer carries that send's msg_id); 45028 ("has no masssend
                quota", the real platform's answer) past one mass send a day for a
                subscription account, four a month for a service account.
    quotas      45009 past an endpoint's daily quota per account (freepublish/get and
                freepublish/submit: 100 by default), counted per day in Asia/Shanghai by
                the simulator's clock, so it resets at Beijing midnight.
    anything    47001 a body that is not a JSON object.

Tokens, quotas, publish delays and clientmsgids go by the simulator's clock (real time
unless moved by POST /_admin/clock; `start_time` sets where it starts): moving it past a
token's two hours expires that token (42001) as real time would.

Faults (per endpoint, the endpoint named by its path under /cgi-bin/):

    system_busy         errcode -1
    token_expired       errcode 42001, and the token is expired from then on
    ip_not_whitelisted  errcode 40164 (drawn per request, like every kind)
    http_500 … 504      that status, nginx's HTML page, before the request is processed
    after_commit_503    the request IS processed (the draft made, the job submitted), then 503
    drop_connection     the request IS processed, then the connection is cut
    slow                the handler waits `latency_ms`

The admin API (never faulted), at /_admin/… and, the same, at /cgi-bin/_admin/… (so a
client whose base URL is `.url` reaches it too):

    POST /_admin/faults            Faults JSON {"failure_rate", "kinds", "latency_ms", "seed",
                                   "base_latency_ms"} [+ "endpoint": "freepublish/submit"]
    GET  /_admin/faults            the default faults, and "endpoints": each one's own
    POST /_admin/reset             everything anew (accounts, clock, faults as configured)
    POST /_admin/quota             {"endpoint", "after": N | null, "appid"?}: N more calls
                                   today, then 45009 (null: the default limit again)
    POST /_admin/publish_outcome   {"status": 0|2|3|4, "delay_s"}: for jobs submitted later
    GET|POST /_admin/clock         {"set": epoch | ISO 8601} {"advance_s": s} {"frozen": bool}
                                   → {"now", "epoch", "frozen", "shanghai_date"}
    GET  /_admin/publications      {"publications": [{appid, publish_id, msg_data_id,
                                   draft_media_id, article_id, article_url, title, author,
                                   digest, content, content_source_url, thumb_media_id,
                                   status, deleted, deleted_idx, submitted_at, finished_at,
                                   articles}]}
    GET  /_admin/mass              {"mass": [{appid, msg_id, msg_data_id, media_id,
                                   clientmsgid, is_to_all, tag_id, title, sent_at}]}
    GET  /_admin/drafts            {"drafts": [{media_id, appid, articles, created_at,
                                   dropped_images}]}
    GET  /_admin/stats             {"requests", "requests_by_endpoint", "faults", "errcodes",
                                   "errcodes_by_endpoint": {endpoint: {errcode: n}}, …}
    POST /_admin/articles/{article_id}/status   {"status": 5|6}


    config.py   clock.py   state.py   checks.py   routes.py   admin.py   pages.py   (the app: here)
"""

from __future__ import annotations

from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.simulators import RunningSimulator, run_in_thread
from service.simulators.faults import FaultMiddleware
from service.simulators.wechat.admin import admin_router
from service.simulators.wechat.config import (
    BASE_PATH,
    ENDPOINTS,
    WECHAT_FAULT_KINDS,
    SimulatorConfig,
    WechatError,
    error_body,
)
from service.simulators.wechat.pages import pages_router
from service.simulators.wechat.routes import (
    api_router,
    endpoint_of,
    fault_answers,
    fault_plan,
    new_rid,
    render_error,
    token_revoker,
)
from service.simulators.wechat.state import WechatState


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    state = WechatState(config or SimulatorConfig())
    app = FastAPI(title="WeChat platform simulator (微信公众平台 模拟器)", openapi_url=None)
    app.state.wechat = state
    for router in (
        api_router(state),
        admin_router(state),
        admin_router(state, f"{BASE_PATH}_admin"),
        pages_router(state),
    ):
        app.include_router(router)

    async def wechat_error(request: Request, exc: WechatError) -> JSONResponse:
        return render_error(state, request, exc)

    app.add_exception_handler(WechatError, wechat_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_middleware(
        FaultMiddleware, dice=state.dice, counters=state.counters, plan=fault_plan,
        error_body=lambda code, message: error_body(-1, new_rid(), f"{code}: {message}"),
        on_fault=token_revoker(state), answers=fault_answers(state),
    )  # fmt: skip
    return app


build_app = create_app


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    # A GET of a POST-only API is the platform's 43002, in its own words; the rest as usual.
    if exc.status_code == 405 and endpoint_of(request.url.path):
        return JSONResponse({"errcode": 43002, "errmsg": f"require POST method rid: {new_rid()}"})
    return JSONResponse({"detail": exc.detail}, exc.status_code)


@dataclass
class RunningWechat(RunningSimulator):
    """A running simulator whose `url` is its API's base URL (ending in /cgi-bin/)."""

    origin: str = ""

    @property
    def admin(self) -> str:
        return f"{self.origin}/_admin"

    def __enter__(self) -> RunningWechat:
        return self


def serve(host: str, port: int, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground (the CLI's `simulate wechat`)."""
    uvicorn.run(create_app(config), host=host, port=port)


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None
) -> RunningWechat:
    """Serve the simulator on a background thread; port 0 picks a free port. Its `url` is
    "http://HOST:PORT/cgi-bin/", its `origin` "http://HOST:PORT"."""
    running = run_in_thread(create_app(config), host, port)
    return RunningWechat(f"{running.url}{BASE_PATH}", running.server, running.thread, running.url)


__all__ = [
    "ENDPOINTS",
    "WECHAT_FAULT_KINDS",
    "RunningWechat",
    "SimulatorConfig",
    "build_app",
    "create_app",
    "serve",
    "start_in_thread",
]
