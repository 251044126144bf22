"""The 年报 (政府信息公开工作年度报告) as Word exports it to PDF, and variants of its text.

annual_report_pdf()                                  # tables 二 三 四 drawn at their markers
annual_report_pdf(units=True)                        # cells read 「6件」, 「/」, 「0万元」
annual_report_pdf(padding_lines=4)                   # table 三 lower down: its break 4 rows sooner
annual_report_pdf(table3_over_page_break=False)      # table 三 whole on one page
annual_report_variant_text(drop_parts=("五", "六"))  # parts 五 and 六 gone, headings and all

The tables are bordered grids whose merged cells mirror `annual_report_docx` cell for cell;
table 三 breaks between rows like Word's and repeats its three header rows on the next page.
"""

from __future__ import annotations

import io
import re
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
    Paragraph,
    Spacer,
    Table,
    TableStyle,
)

from tests.support.documents import (
    _T3_GROUPS,
    ANNUAL_REPORT_TEXT,
    PDF_FONT,
    T3_KEYS,
    _cell_text,
    annual_report_tables,
)

# Word's default A4 margins: 2.54 cm above and below, 3.17 cm either side.
_SIDE, _TOP = 90.0, 72.0
_WIDTH = A4[0] - 2 * _SIDE
_TABLE3 = "表三"
# Prose without numbers, none the same as the five before it: pdfium, missing the font
# here, gives each line a zero-height box and drops a line that repeats one just above.
PADDING_LINES = (
    "本单位依法依规办理政府信息公开申请，均在法定期限内答复申请人。",
    "办理过程中严格执行登记、审核、答复等环节的工作要求。",
    "对申请内容不明确的，及时告知申请人作出补正。",
    "答复文书载明依据和救济途径，做到规范统一。",
    "本单位持续加强申请办理工作的人员培训。",
    "申请办理台账实行专人管理，做到件件有记录。",
    "本单位注重与申请人沟通，耐心解答相关疑问。",
    "对依申请公开的信息，定期评估是否转为主动公开。",
)
OPENING_LISTS_PARTS = (
    "现将本单位2023年政府信息公开工作总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、"
    "政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项报告如下："
)
_PART_HEADING = re.compile(r"^([一二三四五六])、")

_TITLE = ParagraphStyle(
    "title", fontName=PDF_FONT, fontSize=16, leading=26, alignment=TA_CENTER, wordWrap="CJK"
)
_HEADING = ParagraphStyle("heading", fontName=PDF_FONT, fontSize=12, leading=22, wordWrap="CJK")
_BODY = ParagraphStyle(
    "body", fontName=PDF_FONT, fontSize=12, leading=22, firstLineIndent=24, wordWrap="CJK"
)
_CELL = ParagraphStyle(
    "cell", fontName=PDF_FONT, fontSize=9, leading=10.5, alignment=TA_CENTER, wordWrap="CJK"
)
_CELL_LEFT = ParagraphStyle("cell-left", parent=_CELL, alignment=TA_LEFT)
_CELL_PADDING = 3.0
# Line-breaking rules (禁则) for cell text, which `_cell_lines` breaks itself.
_NO_LINE_START = "，、。；：？！）》”’"
_NO_LINE_END = "（《“‘"
_GRID_STYLE = (
    ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PADDING),
    ("TOPPADDING", (0, 0), (-1, -1), 1.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
)


def annual_report_pdf(
    text: str = ANNUAL_REPORT_TEXT,
    tables: dict[str, Any] | None = None,
    *,
    units: bool = False,
    table3_over_page_break: bool = True,
    padding_lines: int = 0,
) -> bytes:
    """The report as an A4 PDF in STSong-Light: prose as wrapped paragraphs, tables 二, 三
    and 四 where the text says [表二], [表三], [表四].

    `units` writes numbers as 「6件」 (table 二's fees 「0万元」) and blank cells as 「/」.
    `table3_over_page_break` lets table 三 run on from where it starts over a page break,
    its header rows repeated; False starts it on a new page, whole. `padding_lines` adds
    prose lines just before table 三, moving it (and its break) down the page.
    Raises ValueError when the layout asked for does not come out.

    Where table 三's break falls (the default text; data rows before the break, of 25):
    padding 0-5: 11, 10, 9, 8, 7, 6, inside （三）不予公开; 6-7: 4; 8-9: 2; 10: 1;
    11-15: ValueError (it starts high on page 2 and fits); 16: 24; 17-30: 22 down to 12.
    A piece holding only rows whose label cells are merged across (一、 二、 四、) lacks
    the lines between label columns, so a reader of ruled lines finds fewer columns there
    (pdfplumber: 9 or 8 instead of 10 at padding 6-10 and 16); the 7 number columns stay."""
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    data = tables or annual_report_tables()
    story = _story(text, data, units, table3_over_page_break, padding_lines)
    out = io.BytesIO()
    document = _ReportTemplate(out)
    document.build(story)
    pages = set(document.table3_pages)
    if pages and table3_over_page_break != (len(pages) > 1):
        where = "runs over a page break" if len(pages) > 1 else "fits on one page"
        raise ValueError(f"table 三 {where} (pages {sorted(pages)}); change padding_lines")
    return out.getvalue()


def annual_report_variant_text(
    part4_heading: str = "四、政府信息公开行政复议、行政诉讼情况",
    *,
    drop_parts: tuple[str, ...] = (),
    opening_lists_parts: bool = False,
) -> str:
    """ANNUAL_REPORT_TEXT with part 四's heading replaced, the parts named in `drop_parts`
    (numerals: ("五", "六")) removed from heading to the next part's heading, and with
    `opening_lists_parts` an opening sentence listing all six parts, just before 一."""
    unknown = set(drop_parts) - set("一二三四五六")
    if unknown:
        raise ValueError(f"no such part: {sorted(unknown)}")
    lines: list[str] = []
    dropping = False
    for line in ANNUAL_REPORT_TEXT.splitlines():
        part = _PART_HEADING.match(line)
        if part:
            dropping = part.group(1) in drop_parts
            if part.group(1) == "一" and opening_lists_parts:
                lines.append(OPENING_LISTS_PARTS)
            if part.group(1) == "四":
                line = part4_heading
        if not dropping:
            lines.append(line)
    return "\n".join(lines) + "\n"


class _ReportTemplate(BaseDocTemplate):  # type: ignore[misc]
    """A4 with Word's margins, deterministic; notes the pages table 三's pieces land on."""

    def __init__(self, out: io.BytesIO) -> None:
        super().__init__(out, pagesize=A4, invariant=1, title="政府信息公开工作年度报告")
        frame = Frame(_SIDE, _TOP, _WIDTH, A4[1] - 2 * _TOP, 0, 0, 0, 0, id="body")
        self.addPageTemplates([PageTemplate(id="page", frames=[frame])])
        self.table3_pages: list[int] = []

    def afterFlowable(self, flowable: Flowable) -> None:
        if isinstance(flowable, Table) and str(flowable.ident or "").startswith(_TABLE3):
            self.table3_pages.append(self.page)


class _WordTable(Table):  # type: ignore[misc]
    """Breaks between any two rows, as Word does: a cell merged down over the break keeps
    its text above the break and continues, empty, below it. (reportlab's own Table never
    breaks inside a vertical merge, and table 三's 「三、本年度办理结果」 covers most rows.)
    Where the rows above the break are too low for such a cell's text, it breaks earlier:
    Word would grow the rows; reportlab would let the text spill out of its cell."""

    def _getFirstPossibleSplitRowPosition(self, availHeight: float, ignoreSpans: int = 0) -> int:
        split = int(super()._getFirstPossibleSplitRowPosition(availHeight, ignoreSpans=1))
        while split > 0 and any(self._spills(span, split) for span in self._spanRanges.values()):
            split -= 1
        return split

    def _spills(self, span: tuple[int, int, int, int] | None, split: int) -> bool:
        if span is None or not span[1] < split <= span[3]:
            return False
        col, row, last_col, _ = span
        style = self._cellStyles[row][col]
        width = sum(self._colWidths[col : last_col + 1])
        value = self._cellvalues[row][col]  # a string, or a sequence of flowables
        _, height = self._listCellGeom(
            value if isinstance(value, str | tuple | list) else [value], width, style
        )
        needed = height + style.topPadding + style.bottomPadding
        return bool(needed > sum(self._rowHeights[row:split]))


class _Grid:
    """A table's cells as Word holds them: text in the first cell of a merge, the cells it
    covers empty."""

    def __init__(self, rows: int, widths: list[float]) -> None:
        self.widths = widths
        self.cells: list[list[Any]] = [["" for _ in widths] for _ in range(rows)]
        self.spans: list[tuple[str, tuple[int, int], tuple[int, int]]] = []

    def put(
        self,
        row: int,
        col: int,
        text: str,
        *,
        to: tuple[int, int] | None = None,
        style: ParagraphStyle = _CELL,
    ) -> None:
        """`text` at (row, col), merged down and right to the cell `to` (row, col)."""
        last = to[1] if to else col
        width = sum(self.widths[col : last + 1]) - 2 * _CELL_PADDING
        lines = _cell_lines(text, width, style.fontSize)
        self.cells[row][col] = Paragraph("<br/>".join(escape(line) for line in lines), style)
        if to is not None and to != (row, col):
            self.spans.append(("SPAN", (col, row), (to[1], to[0])))

    def table(self, *, ident: str, repeat: int = 0) -> Table:
        table = _WordTable(self.cells, colWidths=self.widths, repeatRows=repeat, ident=ident)
        table.setStyle(TableStyle([*_GRID_STYLE, *self.spans]))
        return table


def _cell_lines(text: str, width: float, size: float) -> list[str]:
    """`text` broken into lines no wider than `width` as Word breaks Chinese: no line starts
    with 「，」 or 「）」 nor ends with 「（」, and none holds one character alone. (reportlab
    would hang the mark past the cell's edge, where a reader gives it to the next cell; and
    a lone character of a font pdfium cannot find is a zero-sized box that it drops.)"""
    lines: list[str] = []
    line = ""
    for char in text:
        if line and pdfmetrics.stringWidth(line + char, PDF_FONT, size) > width:
            keep = len(line)  # where the break falls; moved back over a forbidden break
            while keep > 1 and (
                (line + char)[keep] in _NO_LINE_START or line[keep - 1] in _NO_LINE_END
            ):
                keep -= 1
            lines.append(line[:keep])
            line = line[keep:]
        line += char
    lines.append(line)
    if len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) > 2:
        carried = 2 if lines[-2][-1] in _NO_LINE_START and len(lines[-2]) > 3 else 1
        lines[-2], lines[-1] = lines[-2][:-carried], lines[-2][-carried:] + lines[-1]
    return lines


def _value(value: object, unit: str, units: bool) -> str:
    """A number cell's text: as the JSON has it, or with `units` 「6件」 and blanks 「/」."""
    if not units:
        return _cell_text(value)
    if value is None or (isinstance(value, str) and value.strip() in ("", "/")):
        return "/"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value}{unit}"
    return str(value)


def _story(
    text: str, data: dict[str, Any], units: bool, table3_runs_on: bool, padding_lines: int
) -> list[Flowable]:
    """The flowables of `text`: the first line the title, part headings, paragraphs, and
    the tables at their markers. Tables 二 and 四 are kept whole, so that only 三 breaks."""
    story: list[Flowable] = []
    titled = False
    for line in text.splitlines():
        marker = line.strip()
        if marker == "[表二]":
            story.append(KeepTogether([_table2(data["table2"], units)]))
        elif marker == "[表三]":
            padding = [
                _paragraph(PADDING_LINES[i % len(PADDING_LINES)]) for i in range(padding_lines)
            ]
            table = _table3(data["table3"], units)
            if table3_runs_on:
                story += [*padding, table]
            else:  # the part's heading goes along to the new page
                last = story[-1] if story else None
                heading = [story.pop()] if getattr(last, "style", None) is _HEADING else []
                story.append(KeepTogether([*heading, *padding, table]))
        elif marker == "[表四]":
            story.append(KeepTogether([_table4(data["table4"], units)]))
        elif not marker:
            story.append(Spacer(1, _BODY.leading / 2))
        else:
            story.append(_paragraph(line, _BODY if titled else _TITLE))
            titled = True
    return story


def _paragraph(line: str, style: ParagraphStyle = _BODY) -> Paragraph:
    """A line of prose; a part heading (「三、…」) in the heading style."""
    if style is _BODY and _PART_HEADING.match(line):
        style = _HEADING
    return Paragraph(escape(line), style)


def _table3(table3: dict[str, Any], units: bool) -> Table:
    """Table 三 as `_add_table3` draws it in Word: header rows 0-2, then 25 data rows."""
    rows: list[tuple[str, str, str, dict[str, Any]]] = [
        ("一、本年新收政府信息公开申请数量", "", "", table3["new_received"]),
        ("二、上年结转政府信息公开申请数量", "", "", table3["carried_over"]),
        ("三、本年度办理结果", "（一）予以公开", "", table3["disclosed"]),
        ("三、本年度办理结果", "（二）部分公开（区分处理的，只计这一情形，不计其他情形）", "", table3["partially_disclosed"]),
    ]  # fmt: skip
    for key, name, subs in _T3_GROUPS:
        rows += [
            ("三、本年度办理结果", name, f"{i + 1}.{sub}", row)
            for i, (sub, row) in enumerate(zip(subs, table3[key], strict=True))
        ]
    rows += [
        ("三、本年度办理结果", "（七）总计", "", table3["total"]),
        ("四、结转下年度继续办理", "", "", table3["carried_forward"]),
    ]
    grid = _Grid(3 + len(rows), [40, 54, 83, *[34] * 7])
    grid.put(
        0, 0, "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", to=(2, 2)
    )
    grid.put(0, 3, "申请人情况", to=(0, 9))
    grid.put(1, 3, "自然人", to=(2, 3))
    grid.put(1, 4, "法人或其他组织", to=(1, 8))
    grid.put(1, 9, "总计", to=(2, 9))
    for c, label in enumerate(("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")):
        grid.put(2, 4 + c, label)
    first_result, last_result = 3 + 2, 3 + len(rows) - 2
    grid.put(first_result, 0, "三、本年度办理结果", to=(last_result, 0))
    group_rows = {name: len(table3[key]) for key, name, _ in _T3_GROUPS}
    for r, (top, middle, sub, values) in enumerate(rows, start=3):
        for c, key in enumerate(T3_KEYS):
            grid.put(r, 3 + c, _value(values.get(key), "件", units))
        if not middle:
            grid.put(r, 0, top, to=(r, 2))
        elif not sub:
            grid.put(r, 1, middle, to=(r, 2))
        else:
            if sub.startswith("1."):
                grid.put(r, 1, middle, to=(r + group_rows[middle] - 1, 1))
            grid.put(r, 2, sub, style=_CELL_LEFT)
    return grid.table(ident=_TABLE3, repeat=3)


def _table4(table4: dict[str, Any], units: bool) -> Table:
    """Table 四 as `_add_table4` draws it: 行政复议 and 行政诉讼's two groups, 15 columns."""
    outcomes = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    keys = ("upheld", "corrected", "other", "pending", "total")
    grid = _Grid(4, [_WIDTH / 15] * 15)
    grid.put(0, 0, "行政复议", to=(0, 4))
    grid.put(0, 5, "行政诉讼", to=(0, 14))
    grid.put(1, 5, "未经复议直接起诉", to=(1, 9))
    grid.put(1, 10, "复议后起诉", to=(1, 14))
    for c, label in enumerate(outcomes):
        grid.put(1, c, label, to=(2, c))
        grid.put(2, 5 + c, label)
        grid.put(2, 10 + c, label)
    groups = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
    for g, group in enumerate(groups):
        for c, key in enumerate(keys):
            grid.put(3, g * 5 + c, _value(table4[group].get(key), "件", units))
    return grid.table(ident="表四")


def _table2(table2: dict[str, Any], units: bool) -> Table:
    """Table 二 as `_add_table2` draws it: per 第二十条 item a heading row over all four
    columns, a 信息内容 row, then its rows; a single number spans columns 1-3."""
    sections = (
        ("第二十条第（一）项", ("本年制发件数", "本年废止件数", "现行有效件数"),
         (("规章", "rules"), ("行政规范性文件", "normative_documents")), ("issued", "repealed", "in_force"), "件"),
        ("第二十条第（五）项", ("本年处理决定数量",), (("行政许可", "licensing"),), ("decisions",), "件"),
        ("第二十条第（六）项", ("本年处理决定数量",),
         (("行政处罚", "penalties"), ("行政强制", "coercion")), ("decisions",), "件"),
        ("第二十条第（八）项", ("本年收费金额（单位：万元）",), (("行政事业性收费", "fees"),), ("amount",), "万元"),
    )  # fmt: skip
    lines: list[tuple[str, tuple[str, ...]]] = []
    for heading, columns, rows, fields, unit in sections:
        lines += [(heading, ()), ("信息内容", columns)]
        lines += [
            (label, tuple(_value(table2[key].get(f), unit, units) for f in fields))
            for label, key in rows
        ]
    grid = _Grid(len(lines), [_WIDTH - 3 * 95, 95, 95, 95])
    for r, (label, values) in enumerate(lines):
        if not values:
            grid.put(r, 0, label, to=(r, 3))
            continue
        grid.put(r, 0, label)
        if len(values) == 1:
            grid.put(r, 1, values[0], to=(r, 3))
        else:
            for c, value in enumerate(values):
                grid.put(r, 1 + c, value)
    return grid.table(ident="表二")
