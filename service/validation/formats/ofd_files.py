"""OFD (GB/T 33190-2016): a zip of XML. Its text is read page by page.

    OFD.xml ─ DocBody/DocRoot ─▶ Doc_0/Document.xml ─ Pages/Page@BaseLoc ─▶ Pages/Page_0/Content.xml
                                                   TextObject@Boundary ─ TextCode@X,Y: text

Text codes are placed by coordinates (millimetres), not in reading order, so a page's
codes are grouped into lines by their baseline and each line read left to right.
OFD has no table structure (tables are drawn lines and placed text): a run of lines of
several cells is read as a table from where its cells stand (ofd_layout), so a 年报's
tables are checked from its text layer as a PDF's are.
"""

from __future__ import annotations

import posixpath
from typing import BinaryIO

from service.validation.formats.extracted import Block, Extracted, Origin, Table
from service.validation.formats.limits import DocumentLimits, too_complex, unreadable
from service.validation.formats.ofd_layout import Code, LaidOutTable, Line, lines, split
from service.validation.formats.zip_parts import ZipParts, local_name, zip_container

ROOT_PART = "OFD.xml"
_DEFAULT_SIZE_MM = 3.5  # 五号 (10.5 pt), when a text object does not say


def is_ofd(names: frozenset[str]) -> bool:
    return ROOT_PART in names


def ofd_content(source: BinaryIO, limits: DocumentLimits) -> Extracted:
    with zip_container(source, limits, "OFD") as parts:
        document = _document_part(parts)
        pages = _page_parts(parts, document)
        if len(pages) > limits.max_pdf_pages:
            raise too_complex(
                f"OFD 超过 {limits.max_pdf_pages} 页", f"over {limits.max_pdf_pages} pages"
            )
        blocks: list[Block] = []
        tables: list[Table] = []
        chars = 0
        for number, page in enumerate(pages, start=1):
            laid_out = lines(_codes(parts, page))
            chars += sum(len(line.text) for line in laid_out)
            if chars > limits.max_chars:
                raise too_complex(
                    f"文字超过 {limits.max_chars} 字", f"over {limits.max_chars} characters"
                )
            blocks += _page_blocks(number, laid_out, tables)
        return Extracted(tuple(blocks), tuple(tables))


def _page_blocks(number: int, page: list[Line], tables: list[Table]) -> list[Block]:
    """The page's prose as blocks, and each table's cells as blocks of their own (the
    table added to `tables`)."""
    blocks: list[Block] = []
    for piece in split(page):
        if isinstance(piece, LaidOutTable):
            table = Table(len(tables), piece.rows, (number,) * len(piece.rows))
            tables.append(table)
            blocks += [
                Block(cell.text, Origin(page=number, cell=(table.index, r, cell.column)))
                for r, row in enumerate(table.rows)
                for cell in row
            ]
        else:
            blocks.append(Block("\n".join(line.text for line in piece), Origin(page=number)))
    return blocks


def _document_part(parts: ZipParts) -> str:
    root = parts.parse(ROOT_PART)
    for element in root.iter():
        if local_name(element.tag) == "DocRoot" and (element.text or "").strip():
            return _resolve("", element.text or "")
    raise unreadable("OFD.xml 未指明文档（缺少 DocRoot）", "OFD.xml names no document (no DocRoot)")


def _page_parts(parts: ZipParts, document: str) -> list[str]:
    base = posixpath.dirname(document)
    pages: list[str] = []
    for element in parts.parse(document).iter():
        if local_name(element.tag) == "Page" and element.get("BaseLoc"):
            location = element.get("BaseLoc") or ""
            candidate = _resolve(base, location)
            pages.append(candidate if candidate in parts.names else _resolve("", location))
    return pages


def _resolve(base: str, location: str) -> str:
    location = location.strip().replace("\\", "/")
    if location.startswith("/"):
        return posixpath.normpath(location.lstrip("/"))
    return posixpath.normpath(posixpath.join(base, location))


def _codes(parts: ZipParts, page: str) -> list[Code]:
    codes: list[Code] = []
    origin_x = origin_y = 0.0
    x = y = 0.0
    size = _DEFAULT_SIZE_MM
    for event, element in parts.events(page):
        name = local_name(element.tag)
        if event == "start" and name == "TextObject":
            origin_x, origin_y = _boundary(element.get("Boundary"))
            size = _number(element.get("Size"), _DEFAULT_SIZE_MM)
            x = y = 0.0
        elif event == "end" and name == "TextCode":
            x = _number(element.get("X"), x)
            y = _number(element.get("Y"), y)
            if element.text and element.text.strip():
                codes.append(Code(origin_y + y, origin_x + x, element.text, size))
    return codes


def _boundary(value: str | None) -> tuple[float, float]:
    numbers = (value or "").split()
    return (_number(numbers[0], 0.0), _number(numbers[1], 0.0)) if len(numbers) >= 2 else (0.0, 0.0)


def _number(value: str | None, default: float) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        return default
    return number if number == number and abs(number) < 1e9 else default  # no NaN or inf
