"""A 年报's prose against its tables: sentences that state a count the tables hold are
read and compared (DOMAIN.md §3, what KIROGOVCOMPARE checks). A mismatch is a warning
(`gia_narrative_mismatch`) that quotes the sentence and names the cells.

    「全年共收到政府信息公开申请6件」          表三 一、本年新收 (受理: with 二、上年结转 too)
    「予以公开及部分公开258件」                表三 （一）予以公开 + （二）部分公开
    「无法提供265件」 「不予处理3件」 「不予公开2件」  the sum of that group's rows
    「被申请行政复议7件」 「未发生行政诉讼」       表四 行政复议 / both 行政诉讼 groups
    「……均获维持」 「纠正1件」 「尚未审结2件」     that group's outcomes

A count is a row's 总计 where it is filled, else the sum of its applicant columns.
Table cells are not prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from service.domain.findings import Finding, warning
from service.validation.gov_info.format import (
    GROUPS,
    T4_COLUMNS,
    T4_GROUPS,
    TOTAL_COLUMN,
    group_size,
)
from service.validation.gov_info.tables import TableData
from service.validation.lines import Line

_NUMBER = r"(?P<n>\d+)(件|条|个|宗|起|次)"
_GAP = r"[^,。;:\d]{0,6}?"  # a few words between a term and its count, no clause break
_SENTENCE = re.compile(r"[^。;!?]+[。;!?]?")
_NONE = r"(未发生|没有发生|未出现|没有|未收到|无)"
_QUOTE_CHARS = 80
_EXCERPT_CHARS = 40
_APPLICANTS = TOTAL_COLUMN  # the applicant columns come before 总计


@dataclass(frozen=True)
class Count:
    """What the tables say: a value, the cells it comes from, and (for 受理) other
    values a sentence may fairly mean."""

    value: int
    cells: str
    also: tuple[int, ...] = ()


@dataclass(frozen=True)
class Claim:
    """A kind of sentence and the count in the tables it states."""

    pattern: re.Pattern[str]
    count: Callable[[TableData], Count | None]


def narrative_findings(lines: Sequence[Line], data: TableData, fmt: int) -> list[Finding]:
    findings: list[Finding] = []
    for line in lines:
        for sentence in _SENTENCE.findall(line.plain):
            findings += _check(line, sentence, data, fmt)
    return findings


def _check(line: Line, sentence: str, data: TableData, fmt: int) -> list[Finding]:
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for claim in _claims(fmt):
        for match in claim.pattern.finditer(sentence):
            if any(a < match.end() and match.start() < b for a, b in taken):
                continue  # 「予以公开及部分公开258件」 is not also 「部分公开258件」
            count = claim.count(data)
            taken.append(match.span())
            stated = int(match["n"]) if match.groupdict().get("n") else 0
            if count is not None and stated not in (count.value, *count.also):
                findings.append(_mismatch(line, sentence, stated, count))
    findings += _outcome_findings(line, sentence, data)
    return findings


def _claims(fmt: int) -> Iterator[Claim]:
    yield Claim(re.compile(rf"(收到|新收){_GAP}申请{_GAP}{_NUMBER}"), _t3("new_received"))
    yield Claim(re.compile(rf"受理{_GAP}申请{_GAP}{_NUMBER}"), _received)
    yield Claim(re.compile(rf"予以公开[和及与、]部分公开{_GAP}{_NUMBER}"), _disclosed_in_all)
    yield Claim(re.compile(rf"予以公开{_GAP}{_NUMBER}"), _t3("disclosed"))
    yield Claim(re.compile(rf"部分公开{_GAP}{_NUMBER}"), _t3("partially_disclosed"))
    for group, term in (("withheld", "不予公开"), ("unable_to_provide", "无法提供"), ("not_processed", "不予处理")):  # fmt: skip
        yield Claim(re.compile(rf"{term}{_GAP}{_NUMBER}"), _group(group, fmt))
    yield Claim(re.compile(rf"行政复议(案件)?{_GAP}{_NUMBER}"), _t4_total("reconsideration"))
    yield Claim(re.compile(rf"行政诉讼(案件)?{_GAP}{_NUMBER}"), _litigation)
    yield Claim(re.compile(rf"{_NONE}[^,。;\d]{{0,12}}?行政复议"), _t4_total("reconsideration"))
    yield Claim(re.compile(rf"{_NONE}[^,。;\d]{{0,12}}?行政诉讼"), _litigation)


# -- what the tables say --------------------------------------------------------------


def _row(data: TableData, key: str) -> int | None:
    values = data.t3.get(key)
    if not values:
        return None
    total = values[TOTAL_COLUMN]
    return total if total is not None else sum(v or 0 for v in values[:_APPLICANTS])


def _cell(data: TableData, key: str, label: str) -> str:
    return f"表三“{label}”行“总计”列{data.located('t3', key, TOTAL_COLUMN)}"


_T3_LABELS = {
    "new_received": "一、本年新收",
    "carried_over": "二、上年结转",
    "disclosed": "三、（一）予以公开",
    "partially_disclosed": "三、（二）部分公开",
}


def _t3(key: str) -> Callable[[TableData], Count | None]:
    def count(data: TableData) -> Count | None:
        value = _row(data, key)
        return None if value is None else Count(value, _cell(data, key, _T3_LABELS[key]))

    return count


def _received(data: TableData) -> Count | None:
    new, carried = _row(data, "new_received"), _row(data, "carried_over")
    if new is None:
        return None
    cells = _cell(data, "new_received", _T3_LABELS["new_received"])
    return Count(new, cells, (new + (carried or 0),))


def _disclosed_in_all(data: TableData) -> Count | None:
    disclosed, partial = _row(data, "disclosed"), _row(data, "partially_disclosed")
    if disclosed is None and partial is None:
        return None
    cells = "、".join(_cell(data, k, _T3_LABELS[k]) for k in ("disclosed", "partially_disclosed"))
    return Count(
        (disclosed or 0) + (partial or 0), f"{cells}之和（{disclosed or 0} + {partial or 0}）"
    )


def _group(group: str, fmt: int) -> Callable[[TableData], Count | None]:
    def count(data: TableData) -> Count | None:
        rows = [_row(data, f"{group}.{i}") for i in range(1, group_size(group, fmt) + 1)]
        if all(v is None for v in rows):
            return None
        return Count(sum(v or 0 for v in rows), f"表三“{GROUPS[group][0]}”各行“总计”列之和")

    return count


def _t4_value(data: TableData, group: str) -> int | None:
    values = data.t4.get(group)
    if not values:
        return None
    return values[-1] if values[-1] is not None else sum(v or 0 for v in values[:-1])


def _t4_cells(data: TableData, group: str) -> str:
    label = dict(T4_GROUPS)[group]
    return f"表四“{label}”“总计”{data.located('t4', group, len(T4_COLUMNS) - 1)}"


def _t4_total(group: str) -> Callable[[TableData], Count | None]:
    def count(data: TableData) -> Count | None:
        value = _t4_value(data, group)
        return None if value is None else Count(value, _t4_cells(data, group))

    return count


def _litigation(data: TableData) -> Count | None:
    groups = ("litigation_direct", "litigation_after_reconsideration")
    values = [_t4_value(data, g) for g in groups]
    if all(v is None for v in values):
        return None
    cells = "、".join(_t4_cells(data, g) for g in groups)
    return Count(sum(v or 0 for v in values), f"{cells}之和")


# -- outcomes: 「均获维持」, 「纠正1件」, 「尚未审结2件」 ----------------------------------------

_ALL_UPHELD = re.compile(r"(均|全部|都)(已)?(获|被|予以|得到)?(维持|驳回)")
_OUTCOMES = (
    ("upheld", re.compile(rf"(结果)?维持{_GAP}{_NUMBER}")),
    ("corrected", re.compile(rf"(结果)?纠正{_GAP}{_NUMBER}")),
    ("pending", re.compile(rf"(尚未审结|正在审理|审理中|未审结){_GAP}{_NUMBER}")),
)
_OUTCOME_COLUMN = {key: n for n, (key, _) in enumerate(T4_COLUMNS)}


def _outcome_findings(line: Line, sentence: str, data: TableData) -> list[Finding]:
    group = _subject(sentence)
    values = data.t4.get(group) if group else None
    if not values or group is None:
        return []
    label = dict(T4_GROUPS)[group]
    findings: list[Finding] = []
    if _ALL_UPHELD.search(sentence):
        others = {k: values[_OUTCOME_COLUMN[k]] or 0 for k in ("corrected", "other", "pending")}
        if any(others.values()):
            names = "、".join(f"{_column_label(k)} {v}" for k, v in others.items())
            findings.append(_outcome(line, sentence, f"表四“{label}”中{names}"))
    for key, pattern in _OUTCOMES:
        for match in pattern.finditer(sentence):
            value = values[_OUTCOME_COLUMN[key]] or 0
            if int(match["n"]) != value:
                cells = f"表四“{label}”“{_column_label(key)}”（{value}）"
                findings.append(_outcome(line, sentence, cells, int(match["n"])))
    return findings


def _subject(sentence: str) -> str | None:
    """The group of table 四 a sentence speaks of: the last one it names."""
    reconsideration, litigation = sentence.rfind("复议"), sentence.rfind("诉讼")
    if reconsideration < 0 and litigation < 0:
        return None
    if litigation > reconsideration:
        return "litigation_after_reconsideration" if "复议后" in sentence else "litigation_direct"
    return "reconsideration"


def _column_label(key: str) -> str:
    return dict(T4_COLUMNS)[key]


# -- findings ---------------------------------------------------------------------------


def _quote(sentence: str) -> str:
    sentence = sentence.rstrip("。;!?")
    return sentence if len(sentence) <= _QUOTE_CHARS else sentence[: _QUOTE_CHARS - 1] + "…"


def _mismatch(line: Line, sentence: str, stated: int, count: Count) -> Finding:
    return warning(
        "gia_narrative_mismatch",
        f"正文“{_quote(sentence)}”称 {stated}，与{count.cells}（{count.value}）不一致",
        f"The text states {stated} where the table has {count.value}",
        where=line.where,
        excerpt=_quote(sentence)[:_EXCERPT_CHARS],
    )


def _outcome(line: Line, sentence: str, cells: str, stated: int | None = None) -> Finding:
    said = f"称 {stated}" if stated is not None else "称均维持"
    return warning(
        "gia_narrative_mismatch",
        f"正文“{_quote(sentence)}”{said}，与{cells}不一致",
        "The text states an outcome the table does not show",
        where=line.where,
        excerpt=_quote(sentence)[:_EXCERPT_CHARS],
    )
