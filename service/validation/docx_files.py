"""DOCX: the main document part's paragraphs in body order, table cells included.

The zip is read member by member with a byte budget (a zip bomb becomes
`file_too_complex`, never memory exhaustion), and the XML is parsed by the standard
library's expat, which expands no external entities and (expat ≥ 2.4) bounds internal
entity expansion; a DOCTYPE, which Word never writes, is refused outright.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from xml.etree import ElementTree as ET

from service.validation.limits import DocumentLimits, ReadProblem, too_complex, unreadable

MAIN_PART = "word/document.xml"
_RELS = "_rels/.rels"
_CHUNK = 64 * 1024
_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError)

# Zip-based formats that are not Word documents: say what they are instead of "broken".
_OTHER_ZIP_FORMATS = {
    "OFD.xml": ("OFD 版式文件", "an OFD document"),
    "xl/workbook.xml": ("Excel 工作簿", "an Excel workbook"),
    "ppt/presentation.xml": ("PowerPoint 演示文稿", "a PowerPoint presentation"),
    "content.xml": ("OpenDocument 文档", "an OpenDocument file"),
}


class _Budget:
    """Counts decompressed bytes across all members read, aborting past the limit."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise too_complex("DOCX 解压后过大（疑似压缩炸弹）", "the DOCX decompresses too large")


def docx_text(data: bytes, limits: DocumentLimits) -> str:
    """The document's paragraphs joined by newlines."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            _check_declared_sizes(zf, limits)
            budget = _Budget(limits.max_decompressed_bytes)
            xml = _read_member(zf, _main_part_name(zf, budget), budget)
    except ReadProblem:
        raise
    except RuntimeError as exc:  # zipfile's "encrypted, password required"
        raise unreadable("DOCX 已加密", "the DOCX is encrypted") from exc
    except _ZIP_ERRORS as exc:
        raise unreadable("压缩包已损坏", "the zip container is broken") from exc
    return "\n".join(_paragraphs(_parse(xml)))


def other_zip_format(data: bytes) -> tuple[str, str] | None:
    """What a zip is (Chinese, English) when it is a known non-Word format, else None."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
    except _ZIP_ERRORS:
        return None
    if MAIN_PART in names:
        return None
    return next((label for part, label in _OTHER_ZIP_FORMATS.items() if part in names), None)


def _check_declared_sizes(zf: zipfile.ZipFile, limits: DocumentLimits) -> None:
    for info in zf.infolist():
        if info.file_size > limits.max_decompressed_bytes:
            raise too_complex(
                f"压缩包成员 {info.filename[:60]} 声明的大小超过上限",
                f"zip member {info.filename[:60]!r} declares more than the limit",
            )


def _read_member(zf: zipfile.ZipFile, name: str, budget: _Budget) -> bytes:
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise unreadable(
            f"不是 Word 文档（缺少 {name}）", f"not a Word document (no {name})"
        ) from None
    parts: list[bytes] = []
    with zf.open(info) as member:
        while chunk := member.read(_CHUNK):
            budget.spend(len(chunk))
            parts.append(chunk)
    return b"".join(parts)


def _main_part_name(zf: zipfile.ZipFile, budget: _Budget) -> str:
    """The officeDocument part named by the package relationships; word/document.xml
    when there are none."""
    if _RELS not in zf.namelist():
        return MAIN_PART
    rels = _parse(_read_member(zf, _RELS, budget))
    for rel in rels:
        if rel.get("Type", "").endswith("/officeDocument"):
            target = rel.get("Target", "").lstrip("/")
            return posixpath.normpath(target) if target else MAIN_PART
    return MAIN_PART


def _parse(xml: bytes) -> ET.Element:
    if b"<!DOCTYPE" in xml[:4096] or b"<!ENTITY" in xml:
        raise unreadable("XML 含有 DOCTYPE/ENTITY 声明", "the XML declares a DOCTYPE or entities")
    try:
        return ET.fromstring(xml)
    except ET.ParseError as exc:
        raise unreadable("XML 格式错误", "malformed XML") from exc


def _paragraphs(root: ET.Element) -> list[str]:
    ns, _, local = root.tag[1:].partition("}")
    if local != "document":
        raise unreadable("主文档部件不是 Word 文档", "the main part is not a Word document")
    out: list[str] = []
    try:
        _walk(root, f"{{{ns}}}", out, None)
    except RecursionError as exc:
        raise too_complex("文档结构嵌套过深", "the document is nested too deeply") from exc
    return out


def _walk(el: ET.Element, w: str, out: list[str], buf: list[str] | None) -> None:
    """Collect each w:p's text in document order; a paragraph nested in another (a
    text box) follows its outer paragraph. Text in mc:Fallback duplicates mc:Choice."""
    for child in el:
        tag = child.tag
        if tag == _FALLBACK:
            continue
        if tag == f"{w}p":
            slot = len(out)
            out.append("")
            inner: list[str] = []
            _walk(child, w, out, inner)
            out[slot] = "".join(inner)
        elif buf is not None and tag == f"{w}t":
            buf.append(child.text or "")
        elif buf is not None and tag == f"{w}tab":
            buf.append("\t")
        elif buf is not None and tag in (f"{w}br", f"{w}cr"):
            buf.append("\n")
        else:
            _walk(child, w, out, buf)
