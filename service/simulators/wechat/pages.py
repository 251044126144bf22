"""What readers see: a published article's page and the images the platform serves.

    GET /s/{article_id}[?idx=n]          the article (idx 1 by default), as mp.weixin.qq.com
                                         shows it: title, account, time, text, 阅读原文
    GET /mmbiz_{kind}/{image_id}/0       an image of media/uploadimg or a material

A deleted article (freepublish/delete, or status 5 by admin) answers 404 with the
platform's notice; a banned one (status 6) answers 200 with its notice in place of the text,
as the real pages do; an article not (yet) published answers 404.
"""

from __future__ import annotations

import html
from datetime import datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, Response

from service.domain.time import SHANGHAI
from service.simulators.wechat.checks import CONTENT_TYPES
from service.simulators.wechat.state import Publication, WechatState

_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{title}</title>
<meta property="og:title" content="{title}"><meta property="og:url" content="{url}">
</head><body id="activity-detail" class="zh_CN">
<div class="rich_media_area_primary"><h1 class="rich_media_title" id="activity-name">{title}</h1>
<div id="meta_content" class="rich_media_meta_list">{author}
<a id="js_name" href="javascript:void(0);">{account}</a>
<em id="publish_time" class="rich_media_meta rich_media_meta_text">{time}</em></div>
<div class="rich_media_content" id="js_content">{content}</div>{source}
</div></body></html>"""

_NOTICE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{notice}</title></head>
<body><div class="weui-msg"><div class="weui-msg__text-area">
<h2 class="weui-msg__title">{notice}</h2></div></div></body></html>"""

DELETED_NOTICE = "该内容已被发布者删除"
BANNED_NOTICE = "此内容因违规无法查看"


def pages_router(state: WechatState) -> APIRouter:
    router = APIRouter()

    @router.get("/s/{article_id}")
    def article(article_id: str, idx: int = 1) -> HTMLResponse:
        publication = state.by_article_id(article_id)
        now = state.now()
        if publication is None or not 1 <= idx <= len(publication.articles):
            return _notice("该页面不存在", 404)
        status = publication.status(now)
        if status == 6:
            return _notice(BANNED_NOTICE, 200)
        if status == 5 or idx in publication.deleted_idx:
            return _notice(DELETED_NOTICE, 404)
        if status != 0:
            return _notice("该页面不存在", 404)
        return HTMLResponse(render_article(publication, idx, state.config.account_name))

    @router.get("/mmbiz_{kind}/{image_id}/0")
    def image(kind: str, image_id: str) -> Response:
        found = state.image(image_id)
        if found is None or found.kind != kind:
            return Response(status_code=404)
        return Response(found.data, media_type=CONTENT_TYPES[found.kind])

    return router


def render_article(publication: Publication, idx: int, account: str) -> str:
    article = publication.articles[idx - 1]
    source_url = article["content_source_url"]
    source = (
        f'<div id="js_view_source"><a href="{html.escape(source_url)}">阅读原文</a></div>'
        if source_url
        else ""
    )
    author = article["author"]
    moment = datetime.fromtimestamp(publication.finished_at, SHANGHAI)
    return _PAGE.format(
        title=html.escape(article["title"]),
        url=html.escape(publication.article_url(idx)),
        author=f'<span id="js_author_name">{html.escape(author)}</span>' if author else "",
        account=html.escape(account),
        time=f"{moment:%Y-%m-%d %H:%M}",
        content=article["content"],  # HTML, as the platform kept it
        source=source,
    )


def _notice(notice: str, status: int) -> HTMLResponse:
    return HTMLResponse(_NOTICE.format(notice=notice), status)
