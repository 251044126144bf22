"""Finding a document's title among its first lines, possibly split over up to three,
for the kinds whose title names a year (年报, 部门预算/决算)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.validation.dates import CN_YEAR, chinese_year
from service.validation.lines import Line

SCAN_LINES = 8  # room for an addressee, a document number, a 密级/公开 line
MAX_SPLIT = 3
TITLE_LINE_MAX = 60

WORDS = r"[^。,;:!?()]"  # no sentence, no bracket (after NFKC)
YEAR = rf"(?P<year>\d{{4}}|{CN_YEAR})年度?"


@dataclass(frozen=True)
class YearTitle:
    text: str
    year: int
    lines: tuple[Line, ...]


def title_patterns(ending: str) -> tuple[re.Pattern[str], ...]:
    """[body][关于]2023年度[body]{ending} and [body]{ending}（2023年度）."""
    return (
        re.compile(rf"^{WORDS}{{0,40}}?{YEAR}{WORDS}{{0,30}}?{ending}$"),
        re.compile(rf"^{WORDS}{{0,40}}?{ending}\({YEAR}\)$"),
    )


def find_year_title(lines: Sequence[Line], patterns: Sequence[re.Pattern[str]]) -> YearTitle | None:
    """The first run of 1–3 short leading lines that one of `patterns` matches."""
    head = lines[:SCAN_LINES]
    for start in range(len(head)):
        for size in range(1, MAX_SPLIT + 1):
            window = head[start : start + size]
            if len(window) < size or len(window[-1].plain) > TITLE_LINE_MAX:
                break
            joined = "".join(line.plain for line in window)
            match = next((m for p in patterns if (m := p.match(joined))), None)
            if match:
                text = "".join(line.text for line in window)
                year = match["year"]
                return YearTitle(
                    text, int(year) if year.isdigit() else chinese_year(year), tuple(window)
                )
    return None
