"""PDF: the text layer page by page through PDFium (pypdfium2), and on request the
tables of the pages that draw them (pdf_tables, through pdfplumber). A PDF without a
text layer (a scan) yields no text, which the caller reports as `file_no_text`.

PDFium returns a page's text as the lines it lays out. A line that reaches the right
margin without ending a sentence is a paragraph wrapped by the page, and is joined to
the next (a heading wrapped over two lines, or cut by a page break, reads as one). On a
page with tables, the prose is the lines outside them and each cell is a paragraph of
its own, as in a DOCX.

Reading is bounded by pages, characters and table cells here; time and memory by the
process that runs it (service.reading.pool).
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO

from service.validation.formats.extracted import Block, Extracted, Origin, Table
from service.validation.formats.limits import DocumentLimits, ReadProblem, too_complex, unreadable
from service.validation.formats.pdf_tables import PageTable, join_tables, read_tables

if TYPE_CHECKING:
    import pypdfium2

# A PDF ends with %%EOF; readers tolerate up to 1 KiB of trailing bytes. Without it the
# upload was cut short, and a reader would happily return the text of the first pages.
_EOF_WINDOW = 1024
_SENTENCE_END = re.compile(r"[。！？；：!?;:」”）)]$")
_MARGIN_CHARS = 1.5  # a line ending this many characters short of the margin is full
_TABLE_PATHS = 8  # a page drawing this many paths (cell borders) may hold a table
# PDFium is not thread-safe: two threads reading two documents at once crash the process.
_PDFIUM = threading.Lock()
_PASSWORD_ERROR = 4  # FPDF_ERR_PASSWORD


@dataclass(frozen=True)
class _Line:
    text: str
    middle: float  # from the page's top, in points
    runs_on: bool  # reaches the right margin without ending a sentence


@dataclass(frozen=True)
class _Page:
    number: int
    lines: tuple[_Line, ...]
    draws_paths: bool


def pdf_content(source: BinaryIO, limits: DocumentLimits, *, tables: bool = False) -> Extracted:
    """Each page's prose as one block (its tables' cells as blocks of their own, with
    `tables`). `source` is a seekable stream that PDFium reads as it needs."""
    if b"%%EOF" not in _tail(source):
        raise unreadable("PDF 不完整（缺少文件结尾）", "the PDF is truncated (no %%EOF)")
    with _PDFIUM:
        pages = _read_pages(source, limits, tables)
    drawn = [page.number for page in pages if page.draws_paths]
    try:
        found = read_tables(source, drawn, limits) if drawn else []
    except ReadProblem:
        raise
    except MemoryError as exc:
        raise _too_large() from exc
    except RecursionError as exc:
        raise too_complex("PDF 结构嵌套过深", "the PDF is nested too deeply") from exc
    except Exception:  # a table pdfplumber cannot read: the text stands without it
        found = []
    return _assemble(pages, found)


def _too_large() -> ReadProblem:
    return too_complex("PDF 读取所需内存超出上限", "reading the PDF needs more memory than allowed")


def _read_pages(source: BinaryIO, limits: DocumentLimits, tables: bool) -> list[_Page]:
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(source)
    except pdfium.PdfiumError as exc:
        if getattr(exc, "err_code", None) == _PASSWORD_ERROR or "password" in str(exc).lower():
            raise unreadable("PDF 已加密", "the PDF is encrypted") from exc
        raise unreadable("PDF 已损坏", "the PDF is corrupt") from exc
    try:
        return _pages(pdf, limits, tables)
    except ReadProblem:
        raise
    except MemoryError as exc:
        raise _too_large() from exc
    # PDFium raises several unrelated types on malformed input; each means the same
    # thing to the person uploading.
    except Exception as exc:
        raise unreadable("PDF 已损坏", "the PDF is corrupt") from exc
    finally:
        pdf.close()


def _tail(source: BinaryIO) -> bytes:
    size = source.seek(0, io.SEEK_END)
    source.seek(max(0, size - _EOF_WINDOW))
    tail = source.read()
    source.seek(0)
    return tail


def _pages(pdf: pypdfium2.PdfDocument, limits: DocumentLimits, tables: bool) -> list[_Page]:
    count = len(pdf)
    if count > limits.max_pdf_pages:
        raise too_complex(
            f"PDF 超过 {limits.max_pdf_pages} 页", f"over {limits.max_pdf_pages} pages"
        )
    pages: list[_Page] = []
    chars = 0
    for number in range(1, count + 1):
        page = _page(pdf, number, tables)
        chars += sum(len(line.text) for line in page.lines)
        if chars > limits.max_chars:
            raise too_complex(
                f"文字超过 {limits.max_chars} 字", f"over {limits.max_chars} characters"
            )
        pages.append(page)
    return pages


def _page(pdf: pypdfium2.PdfDocument, number: int, tables: bool) -> _Page:
    page = pdf[number - 1]
    try:
        textpage = page.get_textpage()
        try:
            lines = _lines(textpage, page.get_width(), page.get_height())
        finally:
            textpage.close()
        return _Page(number, lines, tables and _draws_paths(page))
    finally:
        page.close()


def _lines(textpage: pypdfium2.PdfTextPage, width: float, height: float) -> tuple[_Line, ...]:
    """The page's lines with where they stand. PDFium's text has one character per
    character index, its line breaks included, so each line's ends have a box."""
    text: str = textpage.get_text_range()
    spans: list[tuple[str, tuple[float, ...], tuple[float, ...]]] = []
    start = 0
    for raw in text.split("\r\n"):
        stripped = raw.rstrip()
        lead = len(raw) - len(raw.lstrip())
        if stripped.strip():
            first = textpage.get_charbox(start + lead)
            last = textpage.get_charbox(start + len(stripped) - 1)
            spans.append((stripped.strip(), first, last))
        start += len(raw) + 2
    if not spans:
        return ()
    right_margin = width - min(first[0] for _, first, _ in spans)
    return tuple(
        _Line(
            line,
            height - (last[1] + last[3]) / 2,
            last[2] >= right_margin - _MARGIN_CHARS * max(last[2] - last[0], 1.0)
            and not _SENTENCE_END.search(line),
        )
        for line, _, last in spans
    )


def _draws_paths(page: pypdfium2.PdfPage) -> bool:
    import pypdfium2.raw as raw

    paths = 0
    for index in range(raw.FPDFPage_CountObjects(page)):
        if raw.FPDFPageObj_GetType(raw.FPDFPage_GetObject(page, index)) == raw.FPDF_PAGEOBJ_PATH:
            paths += 1
            if paths >= _TABLE_PATHS:
                return True
    return False


def _assemble(pages: Sequence[_Page], found: Sequence[PageTable]) -> Extracted:
    """Blocks in reading order: on a page with tables, the prose above, between and
    below them, and each table's cells where the table stands."""
    joined = join_tables(found)
    merged = [_merge(n, parts) for n, parts in enumerate(joined)]
    located = {part.key: (merged[n], part) for n, parts in enumerate(joined) for part in parts}
    blocks: list[Block] = []
    runs_on = False  # the prose read last ended inside a paragraph
    for page in pages:
        tables = sorted((p for k, (_, p) in located.items() if k[0] == page.number), key=_top)
        for piece in _pieces(page, tables):
            if isinstance(piece, PageTable):
                blocks += _cell_blocks(*located[piece.key])
                runs_on = False
                continue
            paragraphs, ends_inside = join_wrapped(piece)
            if runs_on and paragraphs and blocks:
                # the paragraph a page break cut, joined back on the page it starts
                blocks[-1] = Block(blocks[-1].text + paragraphs.pop(0), blocks[-1].origin)
            if paragraphs:
                blocks.append(Block("\n".join(paragraphs), Origin(page=page.number)))
            runs_on = ends_inside or (runs_on and not paragraphs)
    return Extracted(tuple(blocks), tuple(merged))


def _top(table: PageTable) -> float:
    return table.bbox[1]


def _pieces(page: _Page, tables: Sequence[PageTable]) -> Iterator[list[_Line] | PageTable]:
    """The page's lines outside its tables, cut into the runs between them, and the
    tables in their places."""
    lines = list(page.lines)
    for table in tables:
        top, bottom = table.bbox[1], table.bbox[3]
        yield [line for line in lines if line.middle < top]
        yield table
        lines = [line for line in lines if line.middle > bottom]
    yield lines


def join_wrapped(lines: Sequence[_Line]) -> tuple[list[str], bool]:
    """Paragraphs from lines, each line that runs on joined to the next; and whether the
    last one runs on past the end of these lines."""
    out: list[str] = []
    joining = False
    for line in lines:
        if joining and out:
            out[-1] += line.text
        else:
            out.append(line.text)
        joining = line.runs_on
    return out, joining and bool(out)


def _merge(index: int, parts: Sequence[PageTable]) -> Table:
    rows = [row for part in parts for row in part.rows]
    pages = tuple(part.page for part in parts for _ in part.rows)
    return Table(index, tuple(rows), pages)


def _cell_blocks(table: Table, part: PageTable) -> list[Block]:
    """The cells of the rows that `part` (one page's piece of `table`) contributed."""
    if not part.rows:
        return []
    first = table.pages.index(part.page)
    blocks: list[Block] = []
    for r in range(first, first + len(part.rows)):
        for cell in table.rows[r]:
            if cell.text and not cell.continued:
                origin = Origin(page=part.page, cell=(table.index, r, cell.column))
                blocks.append(Block(cell.text, origin))
    return blocks
