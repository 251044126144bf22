"""The checks of a request's content: its JSON, a draft's articles, an image's type, and
what the platform does to an article's HTML (scripts stripped, foreign images dropped)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from typing import Any

from service.simulators.wechat.config import (
    MAX_ARTICLES,
    MAX_AUTHOR_CHARS,
    MAX_CONTENT_BYTES,
    MAX_CONTENT_CHARS,
    MAX_DIGEST_CHARS,
    MAX_SOURCE_URL_CHARS,
    MAX_TITLE_CHARS,
    WechatError,
)

# The first bytes of the image types the platform takes; the name's extension is not trusted.
IMAGE_SIGNATURES = {
    "jpg": (b"\xff\xd8\xff",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "gif": (b"GIF87a", b"GIF89a"),
    "bmp": (b"BM",),
}
UPLOADIMG_KINDS = ("jpg", "png")
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "bmp": "image/bmp"}
AUTO_DIGEST_CHARS = 54  # an article without a digest gets the start of its text

_SCRIPT = re.compile(r"<script\b[^>]*>.*?</script\s*>|<script\b[^>]*/?>", re.I | re.S)
_IMG = re.compile(r"<img\b[^>]*>", re.I)
_SRC = re.compile(r"""\bsrc\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)
_TAG = re.compile(r"<[^>]+>")


def json_object(raw: bytes) -> dict[str, Any]:
    """The request's JSON object; the platform reads the body whatever its Content-Type."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WechatError(47001, "body is not JSON") from exc
    if not isinstance(data, dict):
        raise WechatError(47001, "body is not a JSON object")
    return data


def image_kind(data: bytes, allowed: tuple[str, ...]) -> str:
    """The image's type from its first bytes, if one of `allowed`; else 40005."""
    for kind in allowed:
        if data.startswith(IMAGE_SIGNATURES[kind]):
            return kind
    raise WechatError(40005, f"only {'/'.join(allowed)} images")


def draft_articles(body: dict[str, Any]) -> list[dict[str, Any]]:
    """A draft/add body's articles, checked in the order the platform does."""
    articles = body.get("articles")
    if not isinstance(articles, list) or not articles:
        raise WechatError(44003, "articles missing")
    if len(articles) > MAX_ARTICLES:
        raise WechatError(45008, f"at most {MAX_ARTICLES} articles")
    return [article_fields(article) for article in articles]


def article_fields(article: Any) -> dict[str, Any]:
    if not isinstance(article, dict):
        raise WechatError(47001, "an article must be an object")
    if article.get("article_type", "news") != "news":
        raise WechatError(47001, "article_type must be news")
    text = {name: _string(article, name) for name in _TEXT_FIELDS}
    _check_lengths(text)
    if not isinstance(article.get("thumb_media_id"), str) or not article["thumb_media_id"]:
        raise WechatError(41006, "thumb_media_id missing")
    flags = {name: _flag(article, name) for name in ("need_open_comment", "only_fans_can_comment")}
    digest = text["digest"] or plain_text(text["content"])[:AUTO_DIGEST_CHARS]
    return {
        **text, **flags, "digest": digest, "article_type": "news",
        "thumb_media_id": article["thumb_media_id"],
    }  # fmt: skip


_TEXT_FIELDS = ("title", "author", "digest", "content", "content_source_url")


def _string(article: dict[str, Any], name: str) -> str:
    value = article.get(name, "")
    if not isinstance(value, str):
        raise WechatError(47001, f"{name} must be a string")
    return value


def _flag(article: dict[str, Any], name: str) -> int:
    value = article.get(name, 0)
    if value not in (0, 1) or isinstance(value, bool):
        raise WechatError(47001, f"{name} must be 0 or 1")
    return int(value)


def _check_lengths(text: dict[str, str]) -> None:
    if not text["title"].strip():
        raise WechatError(44003, "title missing")
    if len(text["title"]) > MAX_TITLE_CHARS:
        raise WechatError(45003, f"title at most {MAX_TITLE_CHARS} chars")
    if len(text["author"]) > MAX_AUTHOR_CHARS:
        raise WechatError(45110, f"author at most {MAX_AUTHOR_CHARS} chars")
    if len(text["digest"]) > MAX_DIGEST_CHARS:
        raise WechatError(45004, f"digest at most {MAX_DIGEST_CHARS} chars")
    content = text["content"]
    if not content.strip():
        raise WechatError(44004, "content missing")
    if len(content) >= MAX_CONTENT_CHARS or len(content.encode()) >= MAX_CONTENT_BYTES:
        raise WechatError(45002, f"content under {MAX_CONTENT_CHARS} chars and 1 MB")
    if len(text["content_source_url"]) > MAX_SOURCE_URL_CHARS:
        raise WechatError(45005, "content_source_url at most 1 KB")


def clean_content(content: str, image_allowed: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The HTML as the platform keeps it: `<script>` removed, `<img>` whose src it did not
    issue (media/uploadimg) removed. Returns it and the dropped images' src."""
    dropped: list[str] = []

    def keep_or_drop(match: re.Match[str]) -> str:
        found = _SRC.search(match.group(0))
        src = html.unescape(next((g for g in found.groups() if g), "")) if found else ""
        if src and image_allowed(src):
            return match.group(0)
        dropped.append(src)
        return ""

    return _IMG.sub(keep_or_drop, _SCRIPT.sub("", content)), dropped


def plain_text(content: str) -> str:
    return " ".join(html.unescape(_TAG.sub(" ", content)).split())
