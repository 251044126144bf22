"""A 年报 as an OFD, the way a converter lays out its tables: no table structure, only
text placed in cells (numbers centred, labels left, long labels wrapped over lines, a
merged label written once), each table on a page of its own.

    annual_report_ofd()                       the sample report; every identity holds
    annual_report_ofd(tables=..., units=True) cells written 「6件」, blanks 「/」
"""

from __future__ import annotations

from typing import Any

from tests.support.documents import (
    _T3_GROUPS,
    ANNUAL_REPORT_TEXT,
    T3_KEYS,
    Placed,
    _cell_text,
    annual_report_tables,
    ofd_from_pages,
)

_LEFT = 20.0
_LINE = 5.0  # mm between baselines
_SIZE = 3.0  # mm, the tables' font
_LABEL_CHARS = 13  # a label column's width in characters
_T3_NUMBERS = 118.0  # where table 三's number columns start
_T3_COLUMN = 12.0
_T4_COLUMN = 11.0


def annual_report_ofd(
    text: str = ANNUAL_REPORT_TEXT, tables: dict[str, Any] | None = None, *, units: bool = False
) -> bytes:
    data = tables or annual_report_tables()
    pages: list[list[Placed]] = [[]]
    top = _LEFT
    for line in text.splitlines():
        marker = line.strip()
        if marker in ("[表二]", "[表三]", "[表四]"):
            draw = {"[表二]": _table2, "[表三]": _table3, "[表四]": _table4}[marker]
            pages.append(draw(data[{"[表二]": "table2", "[表三]": "table3", "[表四]": "table4"}[marker]], units))  # fmt: skip
            pages.append([])
            top = _LEFT
        elif marker:
            pages[-1].append(Placed(_LEFT, top, marker, 4))
            top += 8
    return ofd_from_pages([page for page in pages if page])


def _value(value: object, units: bool, unit: str = "件") -> str:
    text = _cell_text(value)
    if not units:
        return text
    return f"{text}{unit}" if text not in ("", "/") else "/"


def _centred(left: float, width: float, top: float, text: str) -> Placed:
    advance = sum(_SIZE * (0.55 if ord(c) < 0x2E80 else 1.0) for c in text)
    return Placed(left + (width - advance) / 2, top, text, _SIZE)


def _wrapped(left: float, top: float, text: str) -> list[Placed]:
    pieces = [text[i : i + _LABEL_CHARS] for i in range(0, len(text), _LABEL_CHARS)]
    return [Placed(left, top + _LINE * n, piece, _SIZE) for n, piece in enumerate(pieces)]


def _table3(table3: dict[str, Any], units: bool) -> list[Placed]:
    placed = [
        Placed(
            _LEFT, 20, "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 2.5
        ),
        _centred(_T3_NUMBERS, 7 * _T3_COLUMN, 25, "申请人情况"),
        _centred(_T3_NUMBERS, _T3_COLUMN, 30, "自然人"),
        _centred(_T3_NUMBERS + _T3_COLUMN, 5 * _T3_COLUMN, 30, "法人或其他组织"),
        _centred(_T3_NUMBERS + 6 * _T3_COLUMN, _T3_COLUMN, 30, "总计"),
    ]
    for c, label in enumerate(("商业", "科研", "社会", "法律", "其他"), start=1):
        placed.append(_centred(_T3_NUMBERS + c * _T3_COLUMN, _T3_COLUMN, 35, label))
    for c, label in ((1, "企业"), (2, "机构"), (3, "公益"), (4, "服务")):
        placed.append(_centred(_T3_NUMBERS + c * _T3_COLUMN, _T3_COLUMN, 40, label))
    for c, label in ((3, "组织"), (4, "机构")):
        placed.append(_centred(_T3_NUMBERS + c * _T3_COLUMN, _T3_COLUMN, 45, label))
    top = 52.0
    for labels, values in _t3_rows(table3):
        lines = [p for n, label in enumerate(labels) for p in _wrapped(_LEFT + 32 * n, top, label)]
        placed += lines
        placed += [
            _centred(_T3_NUMBERS + c * _T3_COLUMN, _T3_COLUMN, top, _value(values.get(k), units))
            for c, k in enumerate(T3_KEYS)
            if _value(values.get(k), units)
        ]
        top = max(p.top for p in lines) + _LINE
    return placed


def _t3_rows(table3: dict[str, Any]) -> list[tuple[list[str], dict[str, Any]]]:
    """Each row's labels as drawn (a merged label only on its first row) and values."""
    rows: list[tuple[list[str], dict[str, Any]]] = [
        (["一、本年新收政府信息公开申请数量"], table3["new_received"]),
        (["二、上年结转政府信息公开申请数量"], table3["carried_over"]),
        (["三、本年度办理结果", "（一）予以公开"], table3["disclosed"]),
        (["", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）"], table3["partially_disclosed"]),
    ]  # fmt: skip
    for key, name, subs in _T3_GROUPS:
        for i, (sub, values) in enumerate(zip(subs, table3[key], strict=True)):
            rows.append((["", name if i == 0 else "", f"{i + 1}.{sub}"], values))
    rows += [
        (["", "（七）总计"], table3["total"]),
        (["四、结转下年度继续办理"], table3["carried_forward"]),
    ]
    return [([label for label in labels if label] or [""], values) for labels, values in rows]


def _table4(table4: dict[str, Any], units: bool) -> list[Placed]:
    outcomes = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    keys = ("upheld", "corrected", "other", "pending", "total")
    groups = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
    placed = [
        _centred(_LEFT, 5 * _T4_COLUMN, 20, "行政复议"),
        _centred(_LEFT + 5 * _T4_COLUMN, 10 * _T4_COLUMN, 20, "行政诉讼"),
        _centred(_LEFT + 5 * _T4_COLUMN, 5 * _T4_COLUMN, 25, "未经复议直接起诉"),
        _centred(_LEFT + 10 * _T4_COLUMN, 5 * _T4_COLUMN, 25, "复议后起诉"),
    ]
    for g in range(3):
        for c, label in enumerate(outcomes):
            left = _LEFT + (g * 5 + c) * _T4_COLUMN
            placed += [
                _centred(left, _T4_COLUMN, 30, label[:2]),
                _centred(left, _T4_COLUMN, 35, label[2:]),
            ]
    for g, group in enumerate(groups):
        for c, key in enumerate(keys):
            value = _value(table4[group].get(key), units)
            if value:
                placed.append(_centred(_LEFT + (g * 5 + c) * _T4_COLUMN, _T4_COLUMN, 42, value))
    return placed


def _table2(table2: dict[str, Any], units: bool) -> list[Placed]:
    sections = (
        ("第二十条第（一）项", ("本年制发件数", "本年废止件数", "现行有效件数"),
         (("规章", "rules"), ("行政规范性文件", "normative_documents")), ("issued", "repealed", "in_force")),
        ("第二十条第（五）项", ("本年处理决定数量",), (("行政许可", "licensing"),), ("decisions",)),
        ("第二十条第（六）项", ("本年处理决定数量",),
         (("行政处罚", "penalties"), ("行政强制", "coercion")), ("decisions",)),
        ("第二十条第（八）项", ("本年收费金额（单位：万元）",), (("行政事业性收费", "fees"),), ("amount",)),
    )  # fmt: skip
    placed: list[Placed] = []
    top = 20.0
    for heading, columns, rows, fields in sections:
        placed.append(_centred(_LEFT, 170, top, heading))
        cells = [("信息内容", columns), *((label, tuple(_value(table2[key].get(f), units, "万元" if f == "amount" else "件") for f in fields)) for label, key in rows)]  # fmt: skip
        for label, values in cells:
            top += _LINE
            placed.append(Placed(_LEFT, top, label, _SIZE))
            width = 120 / len(values)
            placed += [
                _centred(60 + n * width, width, top, value)
                for n, value in enumerate(values)
                if value
            ]
        top += _LINE * 1.5
    return placed
