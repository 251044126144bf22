"""A published page's main text and links, from its HTML — bounded: the bytes are cut
to `max_bytes` before parsing, parsing stops after `max_elements` tags or `max_seconds`,
and the text kept stops at `max_chars`.

Government sites put an article's text in a container the CMS names (TRS's
`<div id="zoom" class="TRS_Editor">`, `article-content`, `<article>` …); the navigation,
the 浏览次数 counter, related links and the footer lie outside it. With no such
container, the body's text without navigation, header, footer and scripts is used.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser

MAIN_IDS = frozenset({"zoom", "content", "article-content", "main-content", "fontzoom"})
MAIN_CLASSES = frozenset({"TRS_Editor", "article-content", "pages_content", "view", "zw"})
SKIPPED = frozenset({"script", "style", "nav", "header", "footer", "noscript", "template"})
SKIPPED_CLASSES = frozenset({"nav", "footer", "header", "related", "top", "location", "tools"})
VOID = frozenset({"br", "img", "meta", "link", "input", "hr", "area", "base", "col", "wbr"})
BLOCKS = frozenset({"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})


@dataclass
class PageText:
    main_text: str  # the container's text, or the body's
    body_text: str  # all visible text (a soft 404 may have no container)
    links: list[str] = field(default_factory=list)  # every <a href>, in order
    truncated: bool = False  # cut at a bound: what was kept is judged


def decode(body: bytes, content_type: str | None) -> str:
    declared = re.search(r"charset=([\w-]+)", content_type or "", re.I)
    meta = re.search(rb'charset=["\']?([\w-]+)', body[:2048], re.I)
    if declared is not None:
        name = declared.group(1)
    else:
        name = meta.group(1).decode("ascii") if meta else "utf-8"
    name = "gb18030" if name.lower() in {"gb2312", "gbk"} else name
    try:
        return body.decode(name, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")


class _Parser(HTMLParser):
    def __init__(self, max_elements: int, max_chars: int, deadline: float) -> None:
        super().__init__(convert_charrefs=True)
        self.max_elements, self.max_chars, self.deadline = max_elements, max_chars, deadline
        self.elements = 0
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, opens main, skipped)
        self.main_depth = 0  # open main containers
        self.skip_depth = 0
        self.main: list[str] = []
        self.body: list[str] = []
        self.body_chars = 0  # kept as it grows: summing `body` at each chunk was quadratic
        self.links: list[str] = []
        self.truncated = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements += 1
        late = self.elements % 256 == 0 and time.monotonic() > self.deadline
        if self.elements > self.max_elements or late:
            self.truncated = True
            raise _Stop
        found = dict(attrs)
        classes = set((found.get("class") or "").split())
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))
        if tag in BLOCKS:
            self._text("\n")
        if tag in VOID:
            return
        opens = found.get("id") in MAIN_IDS or bool(classes & MAIN_CLASSES) or tag == "article"
        skipped = tag in SKIPPED or bool(classes & SKIPPED_CLASSES)
        self.stack.append((tag, opens, skipped))
        self.main_depth += opens
        self.skip_depth += skipped

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID or not any(t == tag for t, _, _ in self.stack):
            return
        while self.stack:
            name, opens, skipped = self.stack.pop()
            self.main_depth -= opens
            self.skip_depth -= skipped
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self._text(data)

    def _text(self, data: str) -> None:
        if self.body_chars > self.max_chars:
            self.truncated = True
            raise _Stop
        if self.main_depth:
            self.main.append(data)
        if not self.skip_depth:
            self.body.append(data)
            self.body_chars += len(data)


class _Stop(Exception):
    pass


def page_text(
    body: bytes,
    content_type: str | None,
    *,
    max_bytes: int = 4 * 1024 * 1024,
    max_elements: int = 100_000,
    max_chars: int = 2_000_000,
    max_seconds: float = 5.0,
) -> PageText:
    parser = _Parser(max_elements, max_chars, time.monotonic() + max_seconds)
    try:
        parser.feed(decode(body[:max_bytes], content_type))
        parser.close()
    except _Stop:
        pass
    main = "".join(parser.main).strip()
    whole = "".join(parser.body).strip()
    truncated = parser.truncated or len(body) > max_bytes
    return PageText(main or whole, whole, parser.links, truncated)
