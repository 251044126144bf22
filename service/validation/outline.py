"""A document's outline: its parts, their headings and levels, and their paragraphs, as
the rules of every category read them (DOMAIN.md §2, §3).

    一、2023年工作情况                 Section(rank 1) ─┬─ body: paragraphs
    （一）履行第一责任人职责           Section(rank 2)  │
    1.加强组织领导。成立了……           Section(rank 3, a run-in heading: its words up to 。)
    二、存在的不足和原因               Section(rank 1)

A heading is a numbered line, a markdown heading or a Word heading style; its rank says
how deep it sits (第一部分 0 < 一、 1 < （一） 2 < 1. 3 < （1） 4; a Word or markdown
heading without numbering sits between by its level). A heading closes every open
section of its rank or deeper. Where a document numbers nothing, its short lines that
are no sentence (thematic headings) are its parts. What comes before the first heading
is the preamble.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from service.validation.lines import NUMBERING, SENTENCE_MARKS, Line

THEMATIC_HEADING_MAX = 30
_HEADING_END = re.compile(r"[。;:!?]")
_RANKS = (
    (re.compile(r"^第[一二三四五六七八九十]+(部分|章|篇|节|方面)"), 0.0),
    (re.compile(r"^[一二三四五六七八九十]+[、.]"), 1.0),
    (re.compile(r"^\([一二三四五六七八九十]+\)"), 2.0),
    (re.compile(r"^\d{1,2}[、.]"), 3.0),
    (re.compile(r"^\(\d{1,2}\)"), 4.0),
)
_THEMATIC_RANK = 0.9  # unnumbered short lines, in a document that numbers no part


@dataclass(frozen=True)
class Heading:
    line: Line
    text: str  # the heading's own words: numbering removed, up to its first 。;:!?
    rank: float
    run_in: int = 0  # characters of the line after the heading's words (a run-in heading)


@dataclass
class Section:
    heading: Heading
    body: list[Line] = field(default_factory=list)  # its own paragraphs, not its sub-sections'
    children: list[Section] = field(default_factory=list)

    def walk(self) -> Iterator[Section]:
        """This section and every section under it, in document order."""
        yield self
        for child in self.children:
            yield from child.walk()

    @property
    def content_chars(self) -> int:
        """Characters of text under the heading: run-in text, paragraphs, sub-sections."""
        own = self.heading.run_in + sum(len(line.plain) for line in self.body)
        return own + sum(child.content_chars + len(child.heading.text) for child in self.children)


@dataclass(frozen=True)
class Outline:
    preamble: tuple[Line, ...]
    parts: tuple[Section, ...]  # the top-level sections

    def sections(self) -> Iterator[Section]:
        for part in self.parts:
            yield from part.walk()

    def headings(self) -> Iterator[Heading]:
        return (section.heading for section in self.sections())


def read_outline(lines: Sequence[Line], levels: Sequence[int | None] = ()) -> Outline:
    """`levels`: a Word outline level (1–9) per line where the document's styles give one."""
    found = [_heading(line, _level(levels, line.index)) for line in lines]
    if not any(h is not None and h.rank <= 1.0 for h in found):
        found = [h or _thematic(line) for h, line in zip(found, lines, strict=True)]
    return _build(lines, found)


def _level(levels: Sequence[int | None], index: int) -> int | None:
    return levels[index] if index < len(levels) else None


def _heading(line: Line, level: int | None) -> Heading | None:
    numbered = NUMBERING.match(line.plain)
    if numbered:
        rest = line.plain[numbered.end() :]
        words = _HEADING_END.split(rest, maxsplit=1)[0]
        return Heading(line, words, _rank(line.plain), max(0, len(rest) - len(words) - 1))
    if line.markdown_heading or level is not None:
        depth = line.markdown_level if line.markdown_heading else level or 1
        return Heading(line, line.plain, depth - 0.5)
    return None


def _rank(text: str) -> float:
    return next((rank for pattern, rank in _RANKS if pattern.match(text)), 3.0)


def _thematic(line: Line) -> Heading | None:
    if len(line.plain) <= THEMATIC_HEADING_MAX and not SENTENCE_MARKS.search(line.plain):
        return Heading(line, line.plain, _THEMATIC_RANK)
    return None


def _build(lines: Sequence[Line], found: Sequence[Heading | None]) -> Outline:
    preamble: list[Line] = []
    parts: list[Section] = []
    open_: list[Section] = []
    for line, heading in zip(lines, found, strict=True):
        if heading is None:
            (open_[-1].body if open_ else preamble).append(line)
            continue
        while open_ and open_[-1].heading.rank >= heading.rank:
            open_.pop()
        section = Section(heading)
        (open_[-1].children if open_ else parts).append(section)
        open_.append(section)
    return Outline(tuple(preamble), tuple(parts))
