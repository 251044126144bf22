"""OFD (GB/T 33190-2016): a zip of XML. Its text is read page by page.

    OFD.xml ─ DocBody/DocRoot ─▶ Doc_0/Document.xml ─ Pages/Page@BaseLoc ─▶ Pages/Page_0/Content.xml
                                                   TextObject@Boundary ─ TextCode@X,Y: text

Text codes are placed by coordinates (millimetres), not in reading order, so a page's
codes are grouped into lines by their baseline and each line read left to right.
OFD has no table structure (tables are drawn lines), so no tables are returned.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import BinaryIO

from service.validation.extracted import Block, Extracted, Origin
from service.validation.limits import DocumentLimits, too_complex, unreadable
from service.validation.zip_parts import ZipParts, local_name, zip_container

ROOT_PART = "OFD.xml"
_LINE_TOLERANCE_MM = 1.5  # codes whose baselines differ by less are on one line


@dataclass(frozen=True)
class _Code:
    y: float
    x: float
    text: str


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
        chars = 0
        for number, page in enumerate(pages, start=1):
            text = "\n".join(_lines(_codes(parts, page)))
            chars += len(text)
            if chars > limits.max_chars:
                raise too_complex(
                    f"文字超过 {limits.max_chars} 字", f"over {limits.max_chars} characters"
                )
            blocks.append(Block(text, Origin(page=number)))
        return Extracted(tuple(blocks))


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


def _codes(parts: ZipParts, page: str) -> list[_Code]:
    codes: list[_Code] = []
    origin_x = origin_y = 0.0
    x = y = 0.0
    for event, element in parts.events(page):
        name = local_name(element.tag)
        if event == "start" and name == "TextObject":
            origin_x, origin_y = _boundary(element.get("Boundary"))
            x = y = 0.0
        elif event == "end" and name == "TextCode":
            x = _number(element.get("X"), x)
            y = _number(element.get("Y"), y)
            if element.text and element.text.strip():
                codes.append(_Code(origin_y + y, origin_x + x, element.text))
    return codes


def _lines(codes: list[_Code]) -> list[str]:
    lines: list[list[_Code]] = []
    for code in sorted(codes, key=lambda c: (c.y, c.x)):
        if lines and code.y - lines[-1][0].y < _LINE_TOLERANCE_MM:
            lines[-1].append(code)
        else:
            lines.append([code])
    return ["".join(c.text for c in sorted(line, key=lambda c: c.x)) for line in lines]


def _boundary(value: str | None) -> tuple[float, float]:
    numbers = (value or "").split()
    return (_number(numbers[0], 0.0), _number(numbers[1], 0.0)) if len(numbers) >= 2 else (0.0, 0.0)


def _number(value: str | None, default: float) -> float:
    try:
        number = float(value) if value is not None else default
    except ValueError:
        return default
    return number if number == number and abs(number) < 1e9 else default  # no NaN or inf
