"""DOCX: the main document part's paragraphs in body order (table cells included, as
paragraphs whose origin is their cell), each heading's outline level where its style
gives one (「标题 1」, Heading 2, or an outline level of its own), and its tables with
merged cells.

The main part is parsed as it decompresses (zip_parts), so memory follows the text,
not the size of the XML; paragraphs are counted as they open. The relationships part
names the main part; the styles part says which styles are headings.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import replace
from typing import BinaryIO
from xml.etree import ElementTree as ET

from service.validation.formats.extracted import Block, Extracted, Origin, Table, TableCell
from service.validation.formats.limits import DocumentLimits, ReadProblem, too_complex, unreadable
from service.validation.formats.zip_parts import ZipParts, local_name, zip_container

MAIN_PART = "word/document.xml"
_RELS = "_rels/.rels"
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_MAX_SPAN = 63  # Word allows 63 columns
_BREAKS = {"tab": "\t", "br": "\n", "cr": "\n"}
_STYLES = "word/styles.xml"
_HEADING_STYLE = re.compile(r"^(heading|标题)\s*([1-9])$", re.IGNORECASE)
_BODY_LEVEL = 9  # w:outlineLvl 9 is body text
# Bounds that refuse a flood in milliseconds, long before the element budget: a real
# paragraph holds at most a few thousand elements (runs and their properties), a real
# document a few hundred empty paragraphs and tables.
_MAX_ELEMENTS_PER_PARAGRAPH = 50_000
_MAX_TABLES = 10_000


def is_docx(names: frozenset[str]) -> bool:
    return MAIN_PART in names or (_RELS in names and "[Content_Types].xml" in names)


def docx_content(source: BinaryIO, limits: DocumentLimits) -> Extracted:
    with zip_container(source, limits, "DOCX") as parts:
        walker = _Walker(limits)
        for event, element in parts.events(_main_part_name(parts)):
            walker.handle(event, element)
        styles = _heading_styles(parts, walker.w) if walker.styled else {}
        return walker.result(styles)


def _heading_styles(parts: ZipParts, w: str) -> dict[str, int]:
    """Style id → outline level (1 for 「标题 1」), for the paragraph styles that are
    headings: by their own outline level, else by their name. Read only when the
    document styles a paragraph."""
    if _STYLES not in parts.names:
        return {}
    levels: dict[str, int] = {}
    for style in parts.parse(_STYLES).iterfind(f"{w}style"):
        ident = style.get(f"{w}styleId")
        level = _style_level(style, w)
        if ident and level is not None:
            levels[ident] = level
    return levels


def _style_level(style: ET.Element, w: str) -> int | None:
    outline = style.find(f"{w}pPr/{w}outlineLvl")
    value = outline.get(f"{w}val", "") if outline is not None else ""
    if value.isdigit():
        return int(value) + 1 if int(value) < _BODY_LEVEL else None
    name = style.find(f"{w}name")
    match = _HEADING_STYLE.match(name.get(f"{w}val", "") if name is not None else "")
    return int(match.group(2)) if match else None


def _main_part_name(parts: ZipParts) -> str:
    """The officeDocument part named by the package relationships; word/document.xml
    when there are none."""
    if _RELS not in parts.names:
        return MAIN_PART
    for rel in parts.parse(_RELS):
        if rel.get("Type", "").endswith("/officeDocument"):
            target = rel.get("Target", "").lstrip("/")
            return posixpath.normpath(target) if target else MAIN_PART
    return MAIN_PART


class _TableBuilder:
    def __init__(self, index: int) -> None:
        self.index = index
        self.width = 0
        self.rows: list[tuple[TableCell, ...]] = []
        self._row: list[TableCell] = []
        self._column = 0
        self._texts: list[str] | None = None
        self._span = 1
        self._continued = False

    @property
    def in_cell(self) -> bool:
        return self._texts is not None

    def origin(self) -> Origin:
        return Origin(cell=(self.index, len(self.rows), self._column))

    def start_row(self) -> None:
        self._row, self._column = [], 0

    def skip_columns(self, n: int) -> None:  # w:gridBefore
        self._column += max(0, min(n, _MAX_SPAN))

    def start_cell(self) -> None:
        self._texts, self._span, self._continued = [], 1, False

    def set_span(self, n: int) -> None:
        self._span = max(1, min(n, _MAX_SPAN))

    def set_continued(self, continued: bool) -> None:
        self._continued = continued

    def add_text(self, text: str) -> None:
        if self._texts is not None and text.strip():
            self._texts.append(text.strip())

    def end_cell(self) -> None:
        text = "\n".join(self._texts or ())
        self._row.append(TableCell(text, self._column, self._span, self._continued))
        self._column += self._span
        self._texts = None

    def end_row(self) -> None:
        if self._texts is not None:
            self.end_cell()
        self.rows.append(tuple(self._row))
        self.width = max(self.width, self._column)
        self._row, self._column = [], 0

    @property
    def grid_cells(self) -> int:
        """The cells of its grid so far, merged cells expanded (what grid() would build)."""
        return self.width * len(self.rows)

    def build(self) -> Table:
        return Table(self.index, tuple(self.rows))


class _Walker:
    """Turns the main part's start/end events into paragraphs and tables."""

    def __init__(self, limits: DocumentLimits) -> None:
        self._limits = limits
        self.styled: list[tuple[int, str]] = []  # (paragraph, style id), levels unknown yet
        self._paragraphs = 0
        self._empty_paragraphs = 0
        self._since_paragraph = 0  # elements since the last paragraph opened
        # every table cell holds a paragraph, so a document may have this many
        self._max_paragraphs = limits.max_paragraphs + limits.max_table_cells
        self._w: str | None = None  # the WordprocessingML namespace, as "{…}"
        self._texts: list[str] = []
        self._origins: list[Origin] = []
        self._open: list[tuple[int, list[str]]] = []  # paragraphs being read
        self._tables: list[_TableBuilder] = []  # tables being read, innermost last
        self._done: list[Table] = []
        self._table_count = 0
        self._fallback = 0  # depth inside mc:Fallback, whose text duplicates mc:Choice
        self._chars = 0
        self._cells = 0

    def handle(self, event: str, el: ET.Element) -> None:
        if self._w is None:
            self._root(el)
        if event == "start":
            self._since_paragraph += 1
            if self._since_paragraph > _MAX_ELEMENTS_PER_PARAGRAPH:
                raise _too_many(
                    "段落中的 XML 元素", "XML elements in a paragraph", _MAX_ELEMENTS_PER_PARAGRAPH
                )
        w = self._w or ""
        if el.tag == _FALLBACK:
            self._fallback += 1 if event == "start" else -1
        elif self._fallback or not el.tag.startswith(w):
            pass
        elif event == "start":
            self._start(el.tag[len(w) :])
        else:
            self._end(el.tag[len(w) :], el)

    def _root(self, el: ET.Element) -> None:
        if local_name(el.tag) != "document":
            raise unreadable("主文档部件不是 Word 文档", "the main part is not a Word document")
        self._w = el.tag[: len(el.tag) - len("document")]

    def _start(self, tag: str) -> None:
        table = self._tables[-1] if self._tables else None
        if tag == "p":
            self._count_paragraph()
            self._texts.append("")
            self._origins.append(table.origin() if table and table.in_cell else Origin())
            self._open.append((len(self._texts) - 1, []))
        elif tag == "tbl":
            self._tables.append(_TableBuilder(self._table_count))
            self._table_count += 1
            if self._table_count > _MAX_TABLES:
                raise _too_many("表格", "tables", _MAX_TABLES)
        elif tag == "tr" and table:
            table.start_row()
        elif tag == "tc" and table:
            table.start_cell()

    def _count_paragraph(self) -> None:
        self._paragraphs += 1
        self._since_paragraph = 0
        if self._paragraphs > self._max_paragraphs:
            raise _too_many("段落", "paragraphs", self._max_paragraphs)

    def _end(self, tag: str, el: ET.Element) -> None:
        if tag in ("t", "tab", "br", "cr"):
            if self._open:
                self._open[-1][1].append(_BREAKS.get(tag, el.text or ""))
        elif tag == "p" and self._open:
            self._end_paragraph()
        elif tag in ("pStyle", "outlineLvl") and self._open:
            self._set_level(tag, el.get(f"{self._w}val") or "")
        elif self._tables:
            self._end_table_part(tag, el, self._tables[-1])

    def _set_level(self, tag: str, value: str) -> None:
        """A paragraph's own w:outlineLvl now; its style's once the styles are read. A
        table cell's paragraph is no heading of the document's outline."""
        slot = self._open[-1][0]
        origin = self._origins[slot]
        if origin.cell is not None:
            return
        if tag == "pStyle":
            self.styled.append((slot, value))
        else:
            level = int(value) + 1 if value.isdigit() and int(value) < _BODY_LEVEL else None
            self._origins[slot] = replace(origin, level=level, own_level=True)

    def _end_paragraph(self) -> None:
        slot, parts = self._open.pop()
        text = "".join(parts)
        self._texts[slot] = text
        self._chars += len(text)
        if not text.strip():
            self._empty_paragraphs += 1
            if self._empty_paragraphs > self._limits.max_paragraphs:
                raise _too_many("空段落", "empty paragraphs", self._limits.max_paragraphs)
        if self._chars > self._limits.max_chars:
            raise too_complex(
                f"文字超过 {self._limits.max_chars} 字", f"over {self._limits.max_chars} characters"
            )
        if self._tables:
            self._tables[-1].add_text(text)

    def _end_table_part(self, tag: str, el: ET.Element, table: _TableBuilder) -> None:
        value = el.get(f"{self._w}val")
        if tag == "gridSpan":
            table.set_span(_int(value, 1))
        elif tag == "gridBefore":
            table.skip_columns(_int(value, 0))
        elif tag == "vMerge":
            table.set_continued(value != "restart")
        elif tag == "tc":
            table.end_cell()
            self._cells += 1
            if self._cells > self._limits.max_table_cells:
                raise too_complex(
                    f"表格单元格超过 {self._limits.max_table_cells} 个",
                    f"over {self._limits.max_table_cells} table cells",
                )
        elif tag == "tr":
            table.end_row()
            if table.grid_cells > self._limits.max_table_cells:
                raise too_complex("表格过大", "a table is too large")
        elif tag == "tbl":
            self._end_table(self._tables.pop())

    def _end_table(self, builder: _TableBuilder) -> None:
        table = builder.build()
        width = max((c.column + c.span for row in table.rows for c in row), default=0)
        if width * len(table.rows) > self._limits.max_table_cells:
            raise too_complex("表格过大", "a table is too large")
        self._done.append(table)

    @property
    def w(self) -> str:
        return self._w or ""

    def result(self, styles: dict[str, int]) -> Extracted:
        """Paragraphs and tables; `styles` gives the heading styles' outline levels."""
        if self._w is None:
            raise unreadable("主文档部件为空", "the main part is empty")
        for slot, style in self.styled:
            if not self._origins[slot].own_level and style in styles:
                self._origins[slot] = replace(self._origins[slot], level=styles[style])
        blocks = tuple(Block(t, o) for t, o in zip(self._texts, self._origins, strict=True))
        tables = tuple(sorted(self._done, key=lambda t: t.index))
        return Extracted(blocks, tables)


def _too_many(zh: str, en: str, bound: int) -> ReadProblem:
    return too_complex(f"{zh}超过 {bound} 个", f"over {bound} {en}")


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default
