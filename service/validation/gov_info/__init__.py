"""The rules for the 政府信息公开工作年度报告 (DOMAIN.md §3): title, the six parts of the
national format, the tables (gia_tables, gia_checks) and the deadline by the body's level.

    gia_title_missing / gia_title_year_mismatch
    gia_missing_<part>       one code per part, found by a part's heading (never by the
                             opening sentence that lists the parts); part 一 (from the
                             format, not the statute) is a warning, parts 二–六 (条例
                             第五十条) are errors
    gia_tables_not_checked   neither table JSON in the metadata nor Word tables to read
    gia_late                 received after 1月31日 (department) / 3月31日 (district government)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from service.domain.findings import Finding, error, warning
from service.validation.context import FilingContext, ValidationResult
from service.validation.deadlines import gov_info_due
from service.validation.formats.documents import Document
from service.validation.gov_info.checks import (
    carry_over_findings,
    cross_check,
    t3_findings,
    t4_findings,
)
from service.validation.gov_info.format import FORMAT_2021, report_format
from service.validation.gov_info.narrative import narrative_findings
from service.validation.gov_info.tables import TableData, from_json, from_tables, t2_format_findings
from service.validation.lines import Line, excerpt, to_lines
from service.validation.metadata_checks import period_year
from service.validation.outline import read_outline
from service.validation.titles import find_year_title, title_patterns

WHERE_TITLE = "标题"
WHERE_BODY = "正文"
WHERE_RECEIVED = "报送日期"
_TITLES = title_patterns(r"政府信息公开(工作)?(年度)?(工作)?报告")


@dataclass(frozen=True)
class Part:
    """A part of the national format, named in a heading by its core terms: every
    pattern must match (「四、因政府信息公开工作被申请行政复议、提起行政诉讼情况」 has 复议
    and 诉讼)."""

    key: str
    heading: str
    terms: tuple[re.Pattern[str], ...]
    make: Callable[..., Finding]

    @property
    def code(self) -> str:
        return f"gia_missing_{self.key}"

    def named_by(self, heading: str) -> bool:
        return all(term.search(heading) for term in self.terms)


def _part(key: str, heading: str, make: Callable[..., Finding], *terms: str) -> Part:
    return Part(key, heading, tuple(re.compile(t) for t in terms), make)


PARTS = (
    _part("overview", "一、总体情况", warning, r"总体|基本情况|概述|概况"),
    _part("proactive", "二、主动公开政府信息情况", error, r"主动公开"),
    _part(
        "requests",
        "三、收到和处理政府信息公开申请情况",
        error,
        r"申请",
        r"依申请|收到|受理|办理|处理|答复",
    ),
    _part("review_litigation", "四、政府信息公开行政复议、行政诉讼情况", error, r"复议", r"诉讼"),
    _part(
        "problems",
        "五、存在的主要问题及改进情况",
        error,
        r"问题|不足|差距|短板",
        r"存在|改进|整改|措施|方向",
    ),
    _part("other", "六、其他需要报告的事项", error, r"其他", r"事项|需要报告|情况"),
)


def gov_info_content(document: Document, filing: FilingContext) -> ValidationResult:
    lines = to_lines(document.paragraphs)
    in_table = [document.origin(i).cell is not None for i in range(len(lines))]
    prose = [line for line, cell in zip(lines, in_table, strict=True) if not cell]
    year = period_year(filing.metadata)
    title = find_year_title(prose, _TITLES)
    findings = _title_findings(title.text if title else None, title.year if title else None, year)
    body = prose[prose.index(title.lines[-1]) + 1 :] if title else prose
    headings = [part.heading.text for part in read_outline(body, document.levels).parts]
    findings += [_missing(part) for part in PARTS if not any(map(part.named_by, headings))]
    fmt = report_format(year) if year is not None else FORMAT_2021
    findings += _table_findings(document, filing, fmt, year, lines, in_table)
    findings += _late(filing)
    return ValidationResult(findings, title.text if title else None)


def _table_findings(
    document: Document,
    filing: FilingContext,
    fmt: int,
    year: int | None,
    lines: Sequence[Line],
    in_table: Sequence[bool],
) -> list[Finding]:
    given = filing.metadata.annual_report
    declared = from_json(given, fmt) if given is not None else None
    read = from_tables(document.tables, fmt) if document.tables else None
    if read is not None and not (read.has_t3 or read.has_t4 or read.t2):
        read = None
    primary = declared if declared is not None and _has_tables(declared) else read
    if primary is None:
        return [_not_checked(document.kind)]
    findings = list(declared.findings if declared else []) + list(read.findings if read else [])
    findings += t3_findings(primary, fmt) + t4_findings(primary) + t2_format_findings(primary, fmt)
    if read is not None and declared is not None and primary is declared:
        findings += cross_check(read, declared, fmt)
    previous = filing.previous.annual_report if filing.previous else None
    if previous is not None and year is not None:
        findings += carry_over_findings(primary, from_json(previous, report_format(year - 1)), year)
    prose = [line for line, cell in zip(lines, in_table, strict=True) if not cell]
    findings += narrative_findings(prose, primary, fmt)
    return findings


def _has_tables(data: TableData) -> bool:
    return data.has_t3 or data.has_t4 or bool(data.t2)


def _title_findings(text: str | None, found: int | None, year: int | None) -> list[Finding]:
    if text is None:
        return [
            warning(
                "gia_title_missing",
                "未找到标题（应含年度并以“政府信息公开工作年度报告”结尾）",
                "No title found (it names the year and ends in 政府信息公开工作年度报告)",
                where=WHERE_TITLE,
            )
        ]
    if year is not None and found != year:
        return [
            error(
                "gia_title_year_mismatch",
                f"标题年度 {found} 与报送年度 {year} 不一致",
                f"The title's year {found} differs from the period {year}",
                where=WHERE_TITLE,
                excerpt=excerpt(text),
            )
        ]
    return []


def _missing(part: Part) -> Finding:
    statute = "条例第五十条" if part.make is error else "国办公开办函〔2021〕30号格式"
    return part.make(
        part.code,
        f"缺少“{part.heading}”部分（{statute}）",
        f"Part missing: {part.heading}",
        where=WHERE_BODY,
    )


def _not_checked(kind: str) -> Finding:
    how = "文本文件中没有表格" if kind in ("txt", "md") else f"{kind.upper()} 中未识别出表三、表四"
    return warning(
        "gia_tables_not_checked",
        f"未核对表格勾稽关系：{how}，且元数据未提供 annual_report 表格数据",
        "Table identities not checked: no tables could be read and the metadata has no annual_report",
        where="metadata.annual_report",
    )


def _late(filing: FilingContext) -> list[Finding]:
    deadline = gov_info_due(filing)
    if deadline is None or filing.received_on <= (due := deadline.due):
        return []
    level = "区人民政府" if filing.level.value == "district_government" else "部门"
    return [
        warning(
            "gia_late",
            f"报送日期 {filing.received_on} 晚于{level}年报的公开期限 {due}（逾期，条例第四十九条）",
            f"Late: received on {filing.received_on}, after the deadline {due}",
            where=WHERE_RECEIVED,
        )
    ]
