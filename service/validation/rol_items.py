"""The four required parts of a rule-of-law report (厅字〔2019〕28号), found by phrase.

Real reports number and word their headings freely, so a part counts as present when
either a *strong* phrase occurs anywhere in the text (主要举措, 存在的不足, 第一责任人,
主要安排 — phrases that hardly occur outside their part) or a *heading* phrase occurs in
a heading. Heading phrases are the short, common words (问题, 成效, 打算); in body text
they prove nothing: "解决问题" or "提升工作成效" turn up in every part.

Headings that name a year are checked too: parts 1–3 report on the period, part 4
plans the next year.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.findings import Finding, error
from service.validation.lines import Heading, Line, excerpt, headings

WHERE = "正文"
_AND = "[和及与、]?"


@dataclass(frozen=True)
class Item:
    key: str
    name_zh: str
    name_en: str
    strong: re.Pattern[str]
    heading: re.Pattern[str]

    @property
    def code(self) -> str:
        return f"rol_missing_{self.key}"


MEASURES = Item(
    "measures",
    "主要举措和成效",
    "main measures and results",
    re.compile(
        rf"主要举措|举措{_AND}成效|主要做法|做法{_AND}成效|主要成效|取得的成效|成效{_AND}经验"
    ),
    re.compile(r"举措|成效|成绩|做法|成果|进展|亮点"),
)
SHORTCOMINGS = Item(
    "shortcomings",
    "存在的不足和原因",
    "shortcomings and their causes",
    re.compile(
        rf"不足{_AND}原因|问题{_AND}(不足|原因)|(不足|问题){_AND}(短板|差距)"
        r"|存在的?(主要)?(不足|短板)|不足之处|薄弱环节"
    ),
    re.compile(
        r"不足|短板|差距|薄弱|弱项|存在的?(主要)?(问题|困难)|面临的?(问题|困难)"
        r"|问题[和及与、]|[和及与、]问题|^(主要)?问题$"
    ),
)
FIRST_RESPONSIBLE = Item(
    "first_responsible",
    "党政主要负责人履行推进法治建设第一责任人职责情况",
    "how the principal leaders fulfilled their duty as first responsible persons",
    re.compile(r"第一责任人|主要负责(人|同志)履行"),
    re.compile(r"第一责任人|主要负责(人|同志)|主要领导|一把手"),
)
NEXT_YEAR_PLAN = Item(
    "next_year_plan",
    "下一年度主要安排",
    "main plans for the next year",
    re.compile(
        r"主要安排|工作打算|下一?步(工作)?(安排|打算|计划|思路)"
        r"|(下一年度?|明年)(工作)?(安排|打算|计划|思路)"
    ),
    re.compile(r"打算|主要安排|下一?步|下一年|明年|今后|展望|努力方向"),
)
ITEMS = (MEASURES, SHORTCOMINGS, FIRST_RESPONSIBLE, NEXT_YEAR_PLAN)

# 2023年 / 2021—2025年 / 2021年至2025年 (not 2024年1月10日, a date)
_YEARS = re.compile(r"(?<!\d)(\d{4})(?:年?[-—–~至到](\d{4}))?年(?!\d{1,2}月)")
# Words that look back on the year. 举措 and 做法 do not: "2024年工作举措" is a plan.
_RESULTS = re.compile(r"成效|成绩|成果|亮点|进展|主要做法")


def content_findings(lines: Sequence[Line], period_year: int | None) -> list[Finding]:
    full = "".join(line.plain for line in lines)
    heads = headings(lines)
    findings = [_missing(item) for item in ITEMS if not _present(item, full, heads, period_year)]
    if period_year is not None:
        findings += [f for h in heads if (f := _heading_year(h, period_year)) is not None]
    return findings


def _present(item: Item, full: str, heads: Sequence[Heading], year: int | None) -> bool:
    if item.strong.search(full):
        return True
    return any(_heading_names(item, h.text, year) for h in heads)


def _heading_names(item: Item, text: str, year: int | None) -> bool:
    """Whether a heading's words name `item`. A plan heading ("2024年工作举措",
    "下一步工作举措") names future measures, not the year's results."""
    if item is NEXT_YEAR_PLAN:
        return bool(item.heading.search(text)) or (year is not None and _names_year(text, year + 1))
    if item is MEASURES and _heading_names(NEXT_YEAR_PLAN, text, year):
        return False
    return bool(item.heading.search(text))


def _names_year(text: str, year: int) -> bool:
    """`year` on its own: a span such as 2021—2025年 names a plan period, not a year."""
    return any(m[2] is None and int(m[1]) == year for m in _YEARS.finditer(text))


def _heading_items(heading: Heading) -> set[Item]:
    """The parts a heading names by its words alone, so that its year can be checked
    against them: "一、2024年主要举措" is ambiguous (plan or wrong year) and names none."""
    text = heading.text
    found = {item for item in ITEMS[1:] if item.strong.search(text) or item.heading.search(text)}
    return found | {MEASURES} if _RESULTS.search(text) else found


def _heading_year(heading: Heading, period_year: int) -> Finding | None:
    items = _heading_items(heading)
    if not items or (NEXT_YEAR_PLAN in items and len(items) > 1):
        return None  # no part, or a combined "成效及下一步打算" heading: no single year
    spans = [(int(m[1]), int(m[2] or m[1])) for m in _YEARS.finditer(heading.text)]
    expected = period_year + 1 if NEXT_YEAR_PLAN in items else period_year
    if not spans or any(lo <= expected <= hi for lo, hi in spans):
        return None
    return _year_mismatch(heading, items, expected)


def _year_mismatch(heading: Heading, items: set[Item], expected: int) -> Finding:
    named = "、".join(item.name_zh for item in ITEMS if item in items)
    if NEXT_YEAR_PLAN in items:
        code, en = "rol_plan_year_mismatch", f"The plan heading should name {expected}"
    else:
        code, en = "rol_heading_year_mismatch", f"The heading should name the period {expected}"
    return error(
        code,
        f"“{named}”部分的标题应为 {expected} 年",
        en,
        where=heading.line.where,
        excerpt=excerpt(heading.line.text),
    )


def _missing(item: Item) -> Finding:
    return error(
        item.code,
        f"缺少必备内容：{item.name_zh}（厅字〔2019〕28号）",
        f"Required part missing: {item.name_en}",
        where=WHERE,
    )
