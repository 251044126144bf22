"""What the WeChat simulator keeps of an article's HTML, as the platform does: no scripts,
no image it did not issue itself, and a digest made from the text when none is given."""

from __future__ import annotations

import pytest

from service.simulators.wechat.checks import article_fields, clean_content
from service.simulators.wechat.config import WechatError

OURS = "http://127.0.0.1:8300/mmbiz_png/0123456789abcdef0123456789abcdef/0"


def issued(src: str) -> bool:
    return src == OURS


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        ("<p>a</p><SCRIPT type='text/javascript'>x()</SCRIPT><p>b</p>", "<p>a</p><p>b</p>"),
        ('<p>a</p><script src="https://x/y.js"/><p>b</p>', "<p>a</p><p>b</p>"),
        ("<script>\nvar a = '<p>';\n</script >", ""),
        (f"<img src='{OURS}' alt=\"图\">", f"<img src='{OURS}' alt=\"图\">"),
        (f"<img src={OURS}>", f"<img src={OURS}>"),
        ('<p><img src="https://portal.example/a.png">说明</p>', "<p>说明</p>"),
        ("<p><img alt='no src'></p>", "<p></p>"),
    ],
)
def test_scripts_and_foreign_images_are_removed(content: str, kept: str) -> None:
    assert clean_content(content, issued)[0] == kept


def test_the_dropped_images_are_named() -> None:
    _, dropped = clean_content('<img src="https://a.example/x.png"><img src="a&amp;b">', issued)
    assert dropped == ["https://a.example/x.png", "a&b"]


def test_an_article_without_digest_gets_the_start_of_its_text() -> None:
    content = "<p>第一段&nbsp;文字</p>" + "<p>" + "很长的正文" * 20 + "</p>"
    fields = article_fields({"title": "标题", "content": content, "thumb_media_id": "m"})
    assert fields["digest"].startswith("第一段 文字 很长的正文")
    assert len(fields["digest"]) == 54


def test_an_article_of_another_type_is_refused() -> None:
    article = {"article_type": "newspic", "title": "t", "content": "c", "thumb_media_id": "m"}
    with pytest.raises(WechatError) as refused:
        article_fields(article)
    assert refused.value.errcode == 47001
