"""The table identities (勾稽关系) of a 年报, its tables against each other (DOCX against
the metadata's JSON), against last year's report, and against its own narrative.

    gia_t3_balance         per column: 一 + 二 = 三（七）总计 + 四
    gia_t3_results_total   per column: 三（七）总计 = the sum of the detail rows of 三
    gia_t3_row_total       per row: 总计 = 自然人 + the five 法人或其他组织 columns
    gia_t4_total           per group of table 四: 总计 = 维持 + 纠正 + 其他 + 尚未审结
    gia_total_not_filled   a blank 总计 beside non-zero cells (warning, never an error)
    gia_table_mismatch     a DOCX cell differs from the metadata's JSON
    gia_carry_over_mismatch  this year's 上年结转 ≠ last year's 结转下年度 (warning)
    (gia_narrative_mismatch, the text against the tables: gia_narrative)

A blank cell counts as 0 in a sum; the 总计 column's own vertical sums are checked only
when the cells involved are all filled, because many reports fill 总计 only for the
rows 一, 二, （七） and 四.
"""

from __future__ import annotations

from collections.abc import Sequence

from service.domain.findings import Finding, error, warning
from service.validation.gov_info.format import (
    T2_FIELD_LABELS,
    T2_ROWS,
    T3_COLUMNS,
    T4_COLUMNS,
    T4_GROUPS,
    TOTAL_COLUMN,
    detail_rows,
    row_label,
    t2_fields,
    t3_rows,
)
from service.validation.gov_info.tables import TableData, Value

_PARTS = TOTAL_COLUMN  # the six applicant columns before 总计


def _sum(values: Sequence[Value]) -> int:
    return sum(v or 0 for v in values)


def _filled(values: Sequence[Value]) -> bool:
    return all(v is not None for v in values)


# -- table 三 ---------------------------------------------------------------------------


def t3_findings(data: TableData, fmt: int) -> list[Finding]:
    if not data.has_t3:
        return []
    findings: list[Finding] = []
    for column in range(len(T3_COLUMNS)):
        findings += _balance(data, column)
        findings += _results_total(data, fmt, column)
    for row in t3_rows(fmt):
        findings += _row_total(data, fmt, row)
    return findings


def _col(column: int) -> str:
    return T3_COLUMNS[column][1]


def _balance(data: TableData, column: int) -> list[Finding]:
    new, carried, total, forward = (
        data.value3(row, column)
        for row in ("new_received", "carried_over", "total", "carried_forward")
    )
    if column == TOTAL_COLUMN and not _filled((new, carried, total, forward)):
        return []
    left, right = _sum((new, carried)), _sum((total, forward))
    if left == right:
        return []
    return [
        error(
            "gia_t3_balance",
            f"表三“{_col(column)}”列：一、本年新收（{new or 0}）+ 二、上年结转（{carried or 0}）= {left}，"
            f"应等于 三（七）总计（{total or 0}）+ 四、结转下年度继续办理（{forward or 0}）= {right}",
            f"Table 3, column {T3_COLUMNS[column][0]}: new + carried over = {left}, "
            f"but total + carried forward = {right}",
            where=f"表三“{_col(column)}”列 第一、二、三（七）、四行{data.located('t3', 'total', column)}",
        )
    ]


def _results_total(data: TableData, fmt: int, column: int) -> list[Finding]:
    details = [data.value3(row, column) for row in detail_rows(fmt)]
    total = data.value3("total", column)
    if column == TOTAL_COLUMN and not _filled((*details, total)):
        return []
    if (total or 0) == _sum(details):
        return []
    return [
        error(
            "gia_t3_results_total",
            f"表三“三、（七）总计”行“{_col(column)}”列为 {total or 0}，"
            f"但（一）至（六）各项之和为 {_sum(details)}",
            f"Table 3, row total, column {T3_COLUMNS[column][0]}: {total or 0}, "
            f"but the results sum to {_sum(details)}",
            where=f"表三“三、（七）总计”行“{_col(column)}”列{data.located('t3', 'total', column)}",
        )
    ]


def _row_total(data: TableData, fmt: int, row: str) -> list[Finding]:
    values = data.t3.get(row)
    if values is None:
        return []
    parts, total = _sum(values[:_PARTS]), values[TOTAL_COLUMN]
    where = f"表三“{row_label(row, fmt)}”行“总计”列{data.located('t3', row, TOTAL_COLUMN)}"
    if total is None:
        if parts == 0:
            return []
        return [
            warning(
                "gia_total_not_filled",
                f"表三“{row_label(row, fmt)}”行的“总计”未填写（各列合计 {parts}）",
                f"Table 3, row {row}: 总计 is blank beside cells summing to {parts}",
                where=where,
            )
        ]
    if total == parts:
        return []
    return [
        error(
            "gia_t3_row_total",
            f"表三“{row_label(row, fmt)}”行：“总计”为 {total}，"
            f"但自然人与法人或其他组织各列之和为 {parts}",
            f"Table 3, row {row}: 总计 is {total}, but the applicant columns sum to {parts}",
            where=where,
        )
    ]


# -- table 四 ---------------------------------------------------------------------------


def t4_findings(data: TableData) -> list[Finding]:
    findings: list[Finding] = []
    for group, label in T4_GROUPS:
        values = data.t4.get(group)
        if values is None:
            continue
        parts, total = _sum(values[:-1]), values[-1]
        where = f"表四“{label}”“总计”{data.located('t4', group, len(T4_COLUMNS) - 1)}"
        if total is None and parts:
            findings.append(
                warning(
                    "gia_total_not_filled",
                    f"表四“{label}”的“总计”未填写（各项合计 {parts}）",
                    f"Table 4, {group}: 总计 is blank beside cells summing to {parts}",
                    where=where,
                )
            )
        elif total is not None and total != parts:
            findings.append(
                error(
                    "gia_t4_total",
                    f"表四“{label}”：“总计”为 {total}，"
                    f"但结果维持、结果纠正、其他结果、尚未审结之和为 {parts}",
                    f"Table 4, {group}: 总计 is {total}, but the outcomes sum to {parts}",
                    where=where,
                )
            )
    return findings


def group_total(data: TableData, group: str) -> int:
    values = data.t4.get(group, ())
    if not values:
        return 0
    return values[-1] if values[-1] is not None else _sum(values[:-1])


# -- the document's tables against the metadata's ----------------------------------------


def cross_check(document: TableData, metadata: TableData, fmt: int) -> list[Finding]:
    findings: list[Finding] = []
    if document.has_t3 and metadata.has_t3:
        for row in t3_rows(fmt):
            for column in range(len(T3_COLUMNS)):
                seen, given = document.value3(row, column), metadata.value3(row, column)
                if (seen or 0) != (given or 0):
                    findings.append(
                        _mismatch(
                            f"表三“{row_label(row, fmt)}”行“{_col(column)}”列",
                            seen,
                            given,
                            document.cells.get(("t3", row, column)),
                        )
                    )
    if document.has_t4 and metadata.has_t4:
        for group, label in T4_GROUPS:
            for column, (_, name) in enumerate(T4_COLUMNS):
                seen = document.t4[group][column]
                given = metadata.t4.get(group, (None,) * len(T4_COLUMNS))[column]
                if (seen or 0) != (given or 0):
                    findings.append(
                        _mismatch(
                            f"表四“{label}”“{name}”",
                            seen,
                            given,
                            document.cells.get(("t4", group, column)),
                        )
                    )
    findings += _cross_check_t2(document, metadata, fmt)
    return findings


def _cross_check_t2(document: TableData, metadata: TableData, fmt: int) -> list[Finding]:
    findings: list[Finding] = []
    for key, fields in t2_fields(fmt).items():
        if key not in document.t2 or key not in metadata.t2:
            continue
        for n, name in enumerate(fields):
            seen, given = document.t2[key].get(name), metadata.t2[key].get(name)
            if (seen or 0) != (given or 0):
                label = f"表二“{T2_ROWS[key]}”行“{T2_FIELD_LABELS[name]}”"
                findings.append(_mismatch(label, seen, given, document.cells.get(("t2", key, n))))
    return findings


def _number(value: float | int | None) -> str:
    if value is None:
        return "空白"
    return str(int(value)) if float(value).is_integer() else str(value)


def _mismatch(
    label: str, seen: float | int | None, given: float | int | None, where: str | None
) -> Finding:
    return error(
        "gia_table_mismatch",
        f"{label}：文档中为 {_number(seen)}，元数据中为 {_number(given)}",
        f"{label}: the document says {_number(seen)}, the metadata {_number(given)}",
        where=f"{label}" + (f"（{where}）" if where else ""),
    )


# -- last year's report ------------------------------------------------------------------


def carry_over_findings(current: TableData, previous: TableData, period_year: int) -> list[Finding]:
    if not (current.has_t3 and previous.has_t3):
        return []
    findings: list[Finding] = []
    for column in range(len(T3_COLUMNS)):
        now, then = (
            current.value3("carried_over", column),
            previous.value3("carried_forward", column),
        )
        if column == TOTAL_COLUMN and (now is None or then is None):
            continue
        if (now or 0) != (then or 0):
            findings.append(
                warning(
                    "gia_carry_over_mismatch",
                    f"表三“二、上年结转”行“{_col(column)}”列为 {now or 0}，而 {period_year - 1} 年度年报"
                    f"“四、结转下年度继续办理”为 {then or 0}",
                    f"Carried over ({now or 0}) differs from last year's carried forward ({then or 0})"
                    f" in column {T3_COLUMNS[column][0]}",
                    where=f"表三“二、上年结转”行“{_col(column)}”列"
                    f"{current.located('t3', 'carried_over', column)}",
                )
            )
    return findings
