"""Paragraphs as the rules see them: a comparable form of each line (headings and parts:
outline).

Matching uses `plain`: NFKC (full-width ，：（）１ become ,:()1), markdown marks and all
whitespace removed, so "２０２３ 年" and "2023年" read alike. Findings quote `text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

EXCERPT_CHARS = 40

_MARKDOWN_HEADING = re.compile(r"^\s*(#{1,6})\s*")
_MARKDOWN_PREFIX = re.compile(r"^\s*(>\s*|[-*+]\s+)")
_MARKDOWN_EMPHASIS = re.compile(r"\*\*|__")
_WHITESPACE = re.compile(r"\s+")

# 第一部分 / 一、 / 一. / (一) / 1、 / 1. (not 1.5) / (1)   — after NFKC
NUMBERING = re.compile(
    r"^(第[一二三四五六七八九十]+(部分|章|节|篇|方面)[,:、.]?"
    r"|[一二三四五六七八九十]+[、.]"
    r"|\([一二三四五六七八九十]+\)[、.]?"
    r"|\d{1,2}[、.](?!\d)"
    r"|\(\d{1,2}\)[、.]?)"
)
SENTENCE_MARKS = re.compile(r"[。,;:!?]")


@dataclass(frozen=True)
class Line:
    index: int  # position in Document.paragraphs
    text: str  # the paragraph without markdown marks
    plain: str  # the form rules match against
    markdown_level: int = 0  # 2 for "## heading", 0 when the line is no markdown heading

    @property
    def markdown_heading(self) -> bool:
        return self.markdown_level > 0

    @property
    def where(self) -> str:
        return f"第{self.index + 1}段"


def plain(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def to_lines(paragraphs: Sequence[str]) -> list[Line]:
    return [_line(i, p) for i, p in enumerate(paragraphs)]


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _line(index: int, paragraph: str) -> Line:
    marks = _MARKDOWN_HEADING.match(paragraph)
    text = _MARKDOWN_HEADING.sub("", _MARKDOWN_PREFIX.sub("", paragraph))
    text = _MARKDOWN_EMPHASIS.sub("", text).strip()
    return Line(index, text, plain(text), len(marks.group(1)) if marks else 0)
