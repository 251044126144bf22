"""The four required items of a rule-of-law report (厅字〔2019〕28号), read from the
report's outline (DOMAIN.md §2).

Item 1 — the year's measures and results — is found by structure, not by its words: a
part that reports the year's work under whatever heading the body chose (「一、坚持党的
领导，……」, 「一、2022年工作情况」, 「一、工作开展情况」) is item 1, unless its heading
names only the shortcomings, the first-responsible-person duties, the next year's plan
or 其他需要报告的情况. Items 2–4 are found by their words, in a heading at any level or
in a paragraph: a *heading* phrase (问题, 打算, 主要负责人 …) only in a heading, where
it names the part; a *strong* phrase (存在的不足, 第一责任人, 下一步工作安排 …) anywhere.
A report without headings is read by the first sentence of each paragraph.

Headings that name a year are checked too: parts 1–3 report on the period, part 4
plans the next year.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.domain.findings import Finding, error
from service.validation.lines import Line, excerpt
from service.validation.outline import Heading, Outline, Section, read_outline

WHERE = "正文"
MIN_WORK_CHARS = 60  # less than this under a heading is no account of a year's work
_AND = "[和及与、]?"
_INTRO = re.compile(r"如下[:。]?$")
_LEAD = re.compile(r"^[^,。;:!?]{1,30}")  # a paragraph's first clause


@dataclass(frozen=True)
class Item:
    key: str
    name_zh: str
    name_en: str
    strong: re.Pattern[str]  # proves the item wherever it occurs
    heading: re.Pattern[str]  # names the item in a heading

    @property
    def code(self) -> str:
        return f"rol_missing_{self.key}"


MEASURES = Item(
    "measures",
    "主要举措和成效",
    "main measures and results",
    re.compile(
        r"主要举措|举措{_AND}成效|主要做法|做法{_AND}成效|主要成效|取得的成效|成效{_AND}经验"
    ),
    re.compile(r"举措|成效|成绩|做法|成果|进展|亮点|主要措施|工作(开展)?情况|开展情况"),
)
SHORTCOMINGS = Item(
    "shortcomings",
    "存在的不足和原因",
    "shortcomings and their causes",
    re.compile(
        rf"不足{_AND}原因|问题{_AND}(不足|原因)|(不足|问题){_AND}(短板|差距)"
        rf"|(短板|差距){_AND}(不足|问题)|存在的?(主要)?(不足|短板|差距)|不足之处|薄弱环节"
        r"|(仍然|依然|仍|还|也)存在(一些|不少|着)?(问题|不足|短板|差距|薄弱)"
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
    re.compile(
        r"第一责任人|主要负责(人|同志)(切实|认真|带头|严格)?履行|履行推进法治(政府)?建设(第一)?(责任|职责)"
    ),
    re.compile(r"第一责任人|主要负责(人|同志)|主要领导|一把手|党政(主要)?负责人"),
)
NEXT_YEAR_PLAN = Item(
    "next_year_plan",
    "下一年度主要安排",
    "main plans for the next year",
    re.compile(
        r"主要安排|工作打算|下一?步(工作)?(安排|打算|计划|思路|重点)|下一步,?[^。]{0,8}将"
        r"|(下一?年度?|明年)的?(工作)?(安排|打算|计划|思路|重点)"
    ),
    re.compile(r"打算|主要安排|工作安排|计划|思路|下一?步|下一年|明年|今后|展望|努力方向|工作重点"),
)
OTHER = re.compile(r"其他(需要|需)?(报告|说明)的?(情况|事项)|^其他(情况|事项)$")
ITEMS = (MEASURES, SHORTCOMINGS, FIRST_RESPONSIBLE, NEXT_YEAR_PLAN)

# 2023年 / 2021—2025年 / 2021年至2025年 (not 2024年1月10日, a date)
_YEARS = re.compile(r"(?<!\d)(\d{4})(?:年?[-—–~至到](\d{4}))?年(?!\d{1,2}月)")
# Words that look back on the year. 举措 and 做法 do not: "2024年工作举措" is a plan.
_RESULTS = re.compile(r"成效|成绩|成果|亮点|进展|主要做法|工作(开展)?情况")


def content_findings(
    body: Sequence[Line], period_year: int | None, levels: Sequence[int | None] = ()
) -> list[Finding]:
    """`body`: the report between its title and its closing lines; `levels`: the outline
    level of each paragraph of the document where its styles give one."""
    outline = read_outline(body, levels)
    found = _found(outline, body, period_year)
    findings = [_missing(item) for item in ITEMS if item not in found]
    if period_year is not None:
        findings += [f for h in outline.headings() if (f := _heading_year(h, period_year))]
    return findings


def _found(outline: Outline, body: Sequence[Line], year: int | None) -> set[Item]:
    full = "".join(line.plain for line in body)
    found = {item for item in ITEMS[1:] if item.strong.search(full)}
    if not outline.parts:
        found |= _lead_items(outline.preamble, year)
        return found | ({MEASURES} if _work_paragraphs(outline.preamble, year) else set())
    parts = {id(part) for part in outline.parts}
    for section in outline.sections():
        top = id(section) in parts
        found |= names(section.heading.text, year, top=top) - {MEASURES}
    if _substantive(outline.preamble) or any(_reports_work(p, year) for p in outline.parts):
        found.add(MEASURES)
    return found


def names(text: str, year: int | None, *, top: bool = True) -> set[Item]:
    """The items a heading's words name. A part's heading names the plan by any plan word
    or the next year; a sub-heading (「（二）制定年度普法计划」) only by a strong phrase.
    A plan heading ("2024年工作举措", "下一步工作举措") names future measures, not the
    year's results; any other heading that names nothing else reports the year's work."""
    found = {item for item in (SHORTCOMINGS, FIRST_RESPONSIBLE) if item.heading.search(text)}
    if _names_plan(text, year, top=top):
        found.add(NEXT_YEAR_PLAN)
    if (_RESULTS.search(text) if NEXT_YEAR_PLAN in found else MEASURES.heading.search(text)) or (
        not found and not OTHER.search(text)
    ):
        found.add(MEASURES)
    return found


def _names_plan(text: str, year: int | None, *, top: bool) -> bool:
    pattern = NEXT_YEAR_PLAN.heading if top else NEXT_YEAR_PLAN.strong
    return bool(pattern.search(text)) or (year is not None and _names_year(text, year + 1))


def _reports_work(part: Section, year: int | None) -> bool:
    return MEASURES in names(part.heading.text, year) and part.content_chars >= MIN_WORK_CHARS


def _substantive(preamble: Sequence[Line]) -> bool:
    """A preamble that is more than an opening: an account of the year before any part."""
    return sum(len(line.plain) for line in preamble if not _INTRO.search(line.plain)) >= (
        MIN_WORK_CHARS * 4
    )


def _work_paragraphs(paragraphs: Sequence[Line], year: int | None) -> bool:
    """In a report without headings: paragraphs on the year's work before the first one
    that opens on the shortcomings, the duties or the plan."""
    chars = 0
    for line in paragraphs:
        lead = _lead(line)
        if names(lead, year) - {MEASURES}:
            break
        if not _INTRO.search(line.plain):
            chars += len(line.plain)
    return chars >= MIN_WORK_CHARS


def _lead_items(paragraphs: Iterable[Line], year: int | None) -> set[Item]:
    return {item for line in paragraphs for item in names(_lead(line), year)} - {MEASURES}


def _lead(line: Line) -> str:
    match = _LEAD.match(line.plain)
    return match.group() if match else ""


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
