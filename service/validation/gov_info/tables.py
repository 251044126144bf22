"""The tables of a 政府信息公开工作年度报告 (DOMAIN.md §3) as the checks see them, read
from the metadata's JSON or from the document's own tables — Word tables, or those a
PDF draws (the formats: gia_format).

    TableData.t3["withheld.3"]   → (自然人, 商业企业, 科研机构, 社会公益组织, 法律服务机构, 其他, 总计)
    None is a blank cell (or "/", "—"), which counts as 0 in a sum but is "not filled";
    a cell's number is the number in it: 「6件」 is 6, 「251000元」 is 251000.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from service.domain.findings import Finding, error, warning
from service.domain.metadata import AnnualReportData, CaseTable, ProactiveTable, RequestTable
from service.validation.formats.extracted import Table
from service.validation.gov_info.format import (
    FORMAT_2021,
    GROUPS,
    SINGLE_ROWS,
    T2_FIELD_LABELS,
    T2_ROWS,
    T3_COLUMNS,
    T4_COLUMNS,
    T4_GROUPS,
    group_size,
    row_label,
    t2_fields,
    t3_rows,
)

__all__ = ["FORMAT_2021", "TableData", "from_json", "from_tables", "t2_format_findings"]

Value = int | None
Number = float | None


# -- the tables as data ---------------------------------------------------------------


@dataclass
class TableData:
    """One source's tables: values by row, and (for a DOCX) each cell's location."""

    source: str  # "元数据" or "文档"
    t3: dict[str, tuple[Value, ...]] = field(default_factory=dict)
    t4: dict[str, tuple[Value, ...]] = field(default_factory=dict)
    t2: dict[str, dict[str, Number]] = field(default_factory=dict)
    cells: dict[tuple[str, str, int], str] = field(
        default_factory=dict
    )  # (table, row, col) → where
    findings: list[Finding] = field(default_factory=list)

    def located(self, table: str, row: str, column: int) -> str:
        where = self.cells.get((table, row, column))
        return f"（{where}）" if where else ""

    def value3(self, row: str, column: int) -> Value:
        return self.t3.get(row, (None,) * len(T3_COLUMNS))[column]

    @property
    def has_t3(self) -> bool:
        return bool(self.t3)

    @property
    def has_t4(self) -> bool:
        return bool(self.t4)


def blank(value: Any) -> bool:
    return value is None or value in ("", "/")


def from_json(data: AnnualReportData, fmt: int) -> TableData:
    tables = TableData("元数据")
    if data.table3 is not None:
        tables.t3 = _json_t3(data.table3, fmt, tables.findings)
    if data.table4 is not None:
        tables.t4 = _json_t4(data.table4)
    if data.table2 is not None:
        tables.t2 = _json_t2(data.table2)
    return tables


def _row_values(row: BaseModel | None, names: Sequence[str]) -> tuple[Value, ...]:
    if row is None:
        return (None,) * len(names)
    return tuple(None if blank(v := getattr(row, n)) else int(v) for n in names)


def _json_t3(
    table: RequestTable, fmt: int, findings: list[Finding]
) -> dict[str, tuple[Value, ...]]:
    names = [c for c, _ in T3_COLUMNS]
    rows = {key: _row_values(getattr(table, key), names) for key in SINGLE_ROWS}
    for group in GROUPS:
        given = getattr(table, group)
        size = group_size(group, fmt)
        if given is not None and len(given) != size:
            findings.append(_shape(group, fmt, size, len(given)))
        for i in range(size):
            row = given[i] if given is not None and i < len(given) else None
            rows[f"{group}.{i + 1}"] = _row_values(row, names)
    return rows


def _json_t4(table: CaseTable) -> dict[str, tuple[Value, ...]]:
    names = [c for c, _ in T4_COLUMNS]
    return {key: _row_values(getattr(table, key), names) for key, _ in T4_GROUPS}


def _json_t2(table: ProactiveTable) -> dict[str, dict[str, Number]]:
    out: dict[str, dict[str, Number]] = {}
    for key in T2_ROWS:
        row = getattr(table, key)
        if row is not None:
            given = row.model_dump(exclude_none=True)
            out[key] = {k: None if blank(v) else float(v) for k, v in given.items()}
    return out


def _shape(group: str, fmt: int, expected: int, given: int) -> Finding:
    name = GROUPS[group][0]
    return error(
        "gia_table_shape",
        f"表三“{name}”在{fmt}年格式中应有 {expected} 行，元数据中为 {given} 行",
        f"Table 3 group {group} has {expected} rows in the {fmt} format, not {given}",
        where=f"metadata.annual_report.table3.{group}",
    )


# -- reading the document's tables ------------------------------------------------------

_BLANKS = frozenset({"", "/", "-", "—", "——", "–", "－", "无", "\\"})
# a number, then at most a unit or counter: 6件, 251000元, 1.5万元, 3人次
_NUMBER = re.compile(r"^(?P<number>[+-]?\d+(\.\d+)?)(万元|元|件|个|条|宗|起|项|人次|人|次|家|%)?$")


def plain_cell(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).replace(",", "")


def parse_count(text: str) -> tuple[bool, Value]:
    """(readable, value): blank, "/" and "—" are None; a whole number, with or without
    its unit, is its value; anything else is unreadable."""
    readable, number = parse_number(text)
    if number is None or number.is_integer():
        return readable, None if number is None else int(number)
    return False, None


def parse_number(text: str) -> tuple[bool, Number]:
    cell = plain_cell(text)
    if cell in _BLANKS:
        return True, None
    match = _NUMBER.match(cell)
    return (True, float(match["number"])) if match else (False, None)


def from_tables(tables: Sequence[Table], fmt: int) -> TableData:
    data = TableData("文档")
    for table in tables:
        text = plain_cell(" ".join(" ".join(row) for row in table.grid()))
        if not data.t3 and "自然人" in text and ("法人或其他组织" in text or "商业企业" in text):
            _read_t3(table, fmt, data)
        elif not data.t4 and "行政复议" in text and "行政诉讼" in text and "维持" in text:
            _read_t4(table, data)
        elif not data.t2 and "规章" in text and ("行政许可" in text or "第二十条" in text):
            _read_t2(table, fmt, data)
    return data


def _read_t3(table: Table, fmt: int, data: TableData) -> None:
    """Rows by their labels. A numbered sub-row (「2.其他法律行政法规禁止公开」) whose
    group's label the table does not repeat beside it belongs to the group above."""
    width = len(T3_COLUMNS)
    found: dict[str, tuple[Value, ...]] = {}
    group: str | None = None
    for r, row in enumerate(table.grid()):
        if len(row) < width + 1:
            continue
        key, group = _t3_key(
            "".join(dict.fromkeys(plain_cell(c) for c in row[:-width] if c)), group
        )
        if key is None or key in found:
            continue
        values: list[Value] = []
        for c, cell in enumerate(row[-width:]):
            column = len(row) - width + c
            data.cells[("t3", key, c)] = table.where(r, column)
            values.append(_count(cell, table.where(r, column), data))
        found[key] = tuple(values)
    if not found:
        return
    data.t3 = {key: found.get(key, (None,) * width) for key in t3_rows(fmt)}
    for key in t3_rows(fmt):
        if key not in found:
            data.findings.append(_missing_row(key, fmt))


def _t3_key(label: str, group: str | None) -> tuple[str | None, str | None]:
    """(the row's key, the group it is in) for a row's label."""
    for key, text in (
        ("carried_forward", "结转下年度"),
        ("carried_over", "上年结转"),
        ("new_received", "本年新收"),
        ("total", "(七)总计"),
        ("disclosed", "(一)予以公开"),
        ("partially_disclosed", "(二)部分公开"),
    ):
        if text in label:
            return key, None
    for name, (title, _) in GROUPS.items():
        head = plain_cell(title)
        if head in label:
            number = re.match(r"(\d)", label[label.index(head) + len(head) :])
            return f"{name}.{number.group(1) if number else 1}", name
    sub = re.match(r"^(\d)[.、]", label)
    if group is not None and sub:
        return f"{group}.{sub.group(1)}", group
    return None, group


def _read_t4(table: Table, data: TableData) -> None:
    width = len(T4_GROUPS) * len(T4_COLUMNS)
    grid = table.grid()
    for r in range(len(grid) - 1, -1, -1):
        row = grid[r]
        if len(row) < width:
            continue
        cells = row[-width:]
        if not all(parse_count(c)[0] for c in cells):
            continue
        for g, (group, _) in enumerate(T4_GROUPS):
            values = []
            for c in range(len(T4_COLUMNS)):
                column = len(row) - width + g * len(T4_COLUMNS) + c
                data.cells[("t4", group, c)] = table.where(r, column)
                values.append(parse_count(row[column])[1])
            data.t4[group] = tuple(values)
        return


def _read_t2(table: Table, fmt: int, data: TableData) -> None:
    """Each labelled row's numbers, named by the format's columns in order ("#n" past them).
    Raw cells, not the grid: a number spanning three columns is one number."""
    fields = t2_fields(fmt)
    for r, row in enumerate(table.rows):
        texts = [(c.column, plain_cell(c.text)) for c in row if not c.continued]
        for i, (_, text) in enumerate(texts):
            key = _t2_key(text)
            if key is None or key in data.t2:
                continue
            names = fields.get(key, ())
            values: dict[str, Number] = {}
            for n, (column, cell) in enumerate(texts[i + 1 :]):
                readable, value = parse_number(cell)
                if not readable:
                    break
                name = names[n] if n < len(names) else f"#{n}"
                values[name] = value
                data.cells[("t2", key, n)] = table.where(r, column)
            data.t2[key] = values
            break


def _t2_key(text: str) -> str | None:
    return next((key for key, label in T2_ROWS.items() if text.endswith(label)), None)


def _count(cell: str, where: str, data: TableData) -> Value:
    readable, value = parse_count(cell)
    if not readable:
        data.findings.append(
            error(
                "gia_value_invalid",
                f"表格单元格内容“{cell[:20]}”不是整数（空白或“/”按 0 计）",
                f"The table cell {cell[:20]!r} is not a whole number",
                where=where,
                excerpt=cell[:40],
            )
        )
    return value


def _missing_row(key: str, fmt: int) -> Finding:
    return error(
        "gia_table_shape",
        f"文档中的表三缺少“{row_label(key, fmt)}”行（{fmt}年格式）",
        f"Table 3 in the document has no row {key} ({fmt} format)",
        where="表三",
    )


def t2_format_findings(data: TableData, fmt: int) -> list[Finding]:
    """Table 二 fields that belong to the other format (warnings)."""
    expected = t2_fields(fmt)
    findings: list[Finding] = []
    for key, values in data.t2.items():
        allowed = expected.get(key)
        if data.source == "文档":
            size = len(allowed or ())
            if allowed is None or len(values) != size:
                findings.append(
                    _t2_format(key, fmt, f"应有 {size} 个数值，文档中为 {len(values)} 个")
                )
            continue
        extra = [f for f in values if allowed is None or f not in allowed]
        if extra:
            labels = "、".join(T2_FIELD_LABELS.get(f, f) for f in extra)
            findings.append(_t2_format(key, fmt, f"不应有“{labels}”"))
    return findings


def _t2_format(key: str, fmt: int, detail: str) -> Finding:
    return warning(
        "gia_t2_format",
        f"表二“{T2_ROWS[key]}”行与{fmt}年格式不符：{detail}",
        f"Table 2 row {key} does not follow the {fmt} format",
        where=f"表二“{T2_ROWS[key]}”行",
    )
