"""The portal's published pages, as a government site serves them: navigation, the
article's main text in `<div id="zoom" class="TRS_Editor">`, its attachments, a
浏览次数 counter that changes on every view, related links and a footer.

    GET /                                          the home page
    GET /{channel}/{article_id}.html               an article (ETag / Last-Modified, 304)
    GET /attachments/{attachment_id}/{filename}    an attachment's bytes

A test changes what a page shows through `POST /_admin/articles/{id}/page`
(`{"page": "shown"|"removed"|"soft_404"|"home"|"gone", "body_html": …}`): a changed text,
a 404, a soft 404 (「页面不存在」 with 200), a redirect to the home page, a 410.
A withdrawn article shows the withdrawal notice in place of its text.
"""

from __future__ import annotations

import hashlib
import html
from email.utils import format_datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.simulators.portal.config import PortalError
from service.simulators.portal.state import Article, PortalState

PAGE_STATES = frozenset({"shown", "removed", "soft_404", "home", "gone"})
SITE = "天津市滨河新区人民政府"

_HEAD = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{title}_{site}</title>
<meta name="ArticleTitle" content="{title}">
<link rel="stylesheet" href="/css/main.css"><script src="/js/stat.js"></script></head>
<body><div class="top">无障碍 | 长者模式 | 繁體</div>
<div class="header"><a href="/"><img src="/images/logo.png" alt="{site}"></a></div>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/zwgk/">政务公开</a></li>
<li><a href="/zfxxgk/">政府信息公开</a></li><li><a href="/hdjl/">互动交流</a></li>
<li><a href="https://www.gov.cn/">中国政府网</a></li></ul>
<div class="location">当前位置：<a href="/">首页</a> &gt; <a href="/zfxxgk/">政府信息公开</a></div>
"""

_FOOT = """<div class="related"><h3>相关链接</h3><ul>
<li><a href="/zfxxgk/fdzdgknr/">法定主动公开内容</a></li>
<li><a href="https://www.tj.gov.cn/">天津市人民政府</a></li>
<li><a href="http://other-host.example/lure.pdf">外部附件.pdf</a></li></ul></div>
<div class="footer"><p>主办单位：{site}办公室 &nbsp; 网站标识码：1201160001</p>
<p>津ICP备05004518号 &nbsp; 津公网安备 12011602000123号</p></div></body></html>"""


def render_article(article: Article, attachments: list[Any], views: int) -> str:
    title = html.escape(article.fields["title"])
    meta = (
        f'<div class="info"><span>发布机构：{html.escape(article.fields.get("publisher", ""))}'
        f"</span><span>发布日期：{article.publish_at:%Y-%m-%d}</span>"
        f'<span>浏览次数：<em id="views">{views}</em></span></div>'
    )
    if article.withdrawn_at:  # the text gives way to the notice and the reason
        reason = html.escape(article.withdraw_reason or "")
        main = f"<p>该信息已撤回</p><p>撤回原因：{reason}</p>"
        links = ""
    else:
        banner = "<p><strong>已更正</strong></p>" if article.corrected_by else ""
        main = banner + (article.body_override or article.fields["body_html"])
        links = "".join(
            f'<li><a href="/attachments/{a.attachment_id}/{html.escape(a.filename)}">'
            f"{html.escape(a.filename)}</a></li>"
            for a in attachments
        )
    return (
        _HEAD.format(title=title, site=SITE)
        + f'<div class="article"><h1 class="title">{title}</h1>{meta}'
        + f'<div id="zoom" class="TRS_Editor">{main}</div>'
        + (f'<div class="attachments"><h4>附件：</h4><ul>{links}</ul></div>' if links else "")
        + '<div class="tools"><a href="javascript:window.print()">打印本页</a></div></div>'
        + _FOOT.format(site=SITE)
    )


def _not_found_page() -> str:
    return (
        _HEAD.format(title="页面不存在", site=SITE)
        + '<div class="error"><h1>页面不存在</h1><p>您访问的页面不存在或已被删除。</p>'
        + '<p><a href="/">返回首页</a></p></div>'
        + _FOOT.format(site=SITE)
    )


def _home_page() -> str:
    return _HEAD.format(title="首页", site=SITE) + "<h1>欢迎访问</h1>" + _FOOT.format(site=SITE)


def _validators(article: Article) -> dict[str, str]:
    tag = hashlib.sha256(f"{article.article_id}:{article.revision}".encode()).hexdigest()[:16]
    return {"ETag": f'"{tag}"', "Last-Modified": format_datetime(article.created_at, usegmt=False)}


def pages_router(state: PortalState) -> APIRouter:
    router = APIRouter()

    @router.get("/", response_class=HTMLResponse)
    def home() -> str:
        return _home_page()

    @router.get("/{channel}/{article_id}.html")
    def page(channel: str, article_id: str, request: Request) -> Response:
        return _article_page(state, article_id, request)

    @router.get("/attachments/{attachment_id}/{filename}")
    def attachment(attachment_id: str, filename: str) -> Response:
        with state.lock:
            found = state.attachments.get(attachment_id)
        if found is None or found.filename != filename:
            return HTMLResponse(_not_found_page(), 404)
        return Response(found.data, media_type="application/octet-stream")

    return router


def _article_page(state: PortalState, article_id: str, request: Request) -> Response:
    with state.lock:
        article = state.articles.get(article_id)
        if article is not None:
            article.views += 1
            views = article.views
            attachments = [state.attachments[a] for a in article.fields["attachments"]]
    if article is None or article.page == "removed":
        return HTMLResponse(_not_found_page(), 404)
    if article.page == "gone":
        return HTMLResponse(_not_found_page(), 410)
    if article.page == "soft_404":
        return HTMLResponse(_not_found_page(), 200)
    if article.page == "home":
        return RedirectResponse("/", 302)
    headers = _validators(article)
    if request.headers.get("if-none-match") == headers["ETag"]:
        return Response(status_code=304, headers=headers)
    return HTMLResponse(render_article(article, attachments, views), headers=headers)


def admin_pages_router(state: PortalState) -> APIRouter:
    router = APIRouter(prefix="/_admin")

    @router.post("/articles/{article_id}/page")
    async def change(article_id: str, request: Request) -> dict[str, Any]:
        body = await request.json()
        shown = body.get("page", "shown") if isinstance(body, dict) else None
        if shown not in PAGE_STATES:
            raise PortalError(400, "invalid_page", f"page is one of {sorted(PAGE_STATES)}")
        article = state.article(article_id)
        with state.lock:
            article.page = shown
            if isinstance(body.get("body_html"), str):  # the content changed: a new ETag
                article.body_override = body["body_html"]
                article.revision += 1
        return {"article_id": article_id, "page": article.page, "revision": article.revision}

    return router
