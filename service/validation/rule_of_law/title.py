"""The title of a rule-of-law report, possibly split over up to three leading lines:

南开区合作交流办党组2023年度法治政府建设 / 情况报告
关于2023年法治政府建设工作情况的报告
2023年度南开区推进法治政府建设情况报告
南开区法治政府建设情况报告（2023年度）
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.findings import Finding, error
from service.validation.dates import CN_YEAR, chinese_year
from service.validation.lines import Line, excerpt

WHERE = "标题"
_SCAN_LINES = 8  # room for an addressee, a document number, a 密级/公开 line
_MAX_SPLIT = 3
_TITLE_LINE_MAX = 60

_WORDS = r"[^。,;:!?()]"  # no sentence, no bracket (after NFKC)
_YEAR = rf"(?P<year>\d{{4}}|{CN_YEAR})年度?"
_REPORT = r"法治政府建设(工作)?(进展)?(情况)?的?(工作报告|年度报告|报告)"
_TITLES = (
    # [body][关于]2023年度[body][推进]法治政府建设[工作][情况][的]报告
    re.compile(rf"^{_WORDS}{{0,40}}?{_YEAR}{_WORDS}{{0,30}}?{_REPORT}$"),
    # [body]法治政府建设情况报告（2023年度）
    re.compile(rf"^{_WORDS}{{0,40}}?{_REPORT}\({_YEAR}\)$"),
)


@dataclass(frozen=True)
class Title:
    text: str
    year: int
    lines: tuple[Line, ...]


def find_title(lines: Sequence[Line]) -> Title | None:
    """The first run of 1–3 short leading lines that reads as the title."""
    head = lines[:_SCAN_LINES]
    for start in range(len(head)):
        for size in range(1, _MAX_SPLIT + 1):
            window = head[start : start + size]
            if len(window) < size or len(window[-1].plain) > _TITLE_LINE_MAX:
                break
            match = _match("".join(line.plain for line in window))
            if match:
                text = "".join(line.text for line in window)
                return Title(text, _year(match["year"]), tuple(window))
    return None


def title_findings(title: Title | None, period_year: int | None) -> list[Finding]:
    if title is None:
        return [
            error(
                "rol_title_missing",
                "未找到标题（应含年度、“法治政府建设”并以“报告”结尾，"
                "如“2023年度法治政府建设情况报告”）",
                "No title found (it names the year and 法治政府建设 and ends in 报告)",
                where=WHERE,
            )
        ]
    if period_year is not None and title.year != period_year:
        return [
            error(
                "rol_title_year_mismatch",
                f"标题年度 {title.year} 与报送年度 {period_year} 不一致",
                f"The title's year {title.year} differs from the period {period_year}",
                where=WHERE,
                excerpt=excerpt(title.text),
            )
        ]
    return []


def _match(text: str) -> re.Match[str] | None:
    return next((m for p in _TITLES if (m := p.match(text))), None)


def _year(text: str) -> int:
    return int(text) if text.isdigit() else chinese_year(text)
