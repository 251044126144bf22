"""Paragraphs as the rules see them: a comparable form of each line, and headings.

Matching uses `plain`: NFKC (full-width ，：（）１ become ,:()1), markdown marks and all
whitespace removed, so "２０２３ 年" and "2023年" read alike. Findings quote `text`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

EXCERPT_CHARS = 40
THEMATIC_HEADING_MAX = 30

_MARKDOWN_HEADING = re.compile(r"^\s*#{1,6}\s*")
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
_HEADING_END = re.compile(r"[。;:!?]")


@dataclass(frozen=True)
class Line:
    index: int  # position in Document.paragraphs
    text: str  # the paragraph without markdown marks
    plain: str  # the form rules match against
    markdown_heading: bool

    @property
    def where(self) -> str:
        return f"第{self.index + 1}段"


@dataclass(frozen=True)
class Heading:
    line: Line
    text: str  # the heading's own words, numbering removed, up to its first 。;:


def plain(text: str) -> str:
    return _WHITESPACE.sub("", unicodedata.normalize("NFKC", text))


def to_lines(paragraphs: Sequence[str]) -> list[Line]:
    return [_line(i, p) for i, p in enumerate(paragraphs)]


def excerpt(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def headings(lines: Sequence[Line]) -> list[Heading]:
    found = (_heading(line) for line in lines)
    return [h for h in found if h is not None]


def _line(index: int, paragraph: str) -> Line:
    is_heading = bool(_MARKDOWN_HEADING.match(paragraph))
    text = _MARKDOWN_HEADING.sub("", _MARKDOWN_PREFIX.sub("", paragraph))
    text = _MARKDOWN_EMPHASIS.sub("", text).strip()
    return Line(index, text, plain(text), is_heading)


def _heading(line: Line) -> Heading | None:
    """A numbered line (its words up to the first 。), a markdown heading, or a short
    line that is no sentence (a thematic heading).

    A heading wrapped over two lines of a PDF is not joined: the phrases that matter
    are also searched in the joined text of the whole document."""
    numbered = NUMBERING.match(line.plain)
    if numbered:
        rest = line.plain[numbered.end() :]
        return Heading(line, _HEADING_END.split(rest, maxsplit=1)[0])
    if line.markdown_heading or (
        len(line.plain) <= THEMATIC_HEADING_MAX and not SENTENCE_MARKS.search(line.plain)
    ):
        return Heading(line, line.plain)
    return None
