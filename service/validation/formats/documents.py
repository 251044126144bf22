"""Reading an uploaded document: its type from the content (never the name alone) and
its text as paragraphs, each with where it came from, plus the tables of a DOCX. Bad
input becomes findings, never an exception.

    file_empty             0 bytes, or only whitespace
    file_type_unsupported  not DOCX, PDF, OFD or UTF-8/GB18030 text; says what it is
                           when its content tells (「PNG 图片，不是 PDF/DOCX/OFD/TXT」)
    file_type_mismatch     the extension names another type than the content
    file_unreadable        corrupt or encrypted PDF, broken zip, zip without a Word part
    file_too_complex       over a DocumentLimits bound (pages, text, zip bomb …)
    file_no_text           nothing to read: a scanned PDF, or junk instead of text
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from service.domain.findings import Finding, error
from service.validation.formats.content_types import identify
from service.validation.formats.docx_files import docx_content, is_docx
from service.validation.formats.extracted import NOWHERE, Block, Extracted, Origin, Table
from service.validation.formats.limits import (
    DocumentLimits,
    ReadProblem,
    no_text,
    too_complex,
    unreadable,
    unsupported,
)
from service.validation.formats.ofd_files import is_ofd, ofd_content
from service.validation.formats.pdf_files import pdf_content
from service.validation.formats.text_files import decode_text, plausible_text
from service.validation.formats.zip_parts import zip_names

__all__ = ["Document", "DocumentLimits", "Table", "read_document", "read_document_bytes"]

DOCX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
OFD_MEDIA_TYPE = "application/ofd"
WHERE = "文件"
DEFAULT_LIMITS = DocumentLimits()

_EXTENSION_KINDS = {
    "pdf": "pdf",
    "docx": "docx",
    "ofd": "ofd",
    "txt": "txt",
    "text": "txt",
    "md": "md",
    "markdown": "md",
}
_KIND_LABELS = {
    "pdf": "PDF",
    "docx": "DOCX",
    "ofd": "OFD",
    "txt": "文本 / text",
    "md": "文本 / text",
}
_EXTENSION = re.compile(r"\.([A-Za-z0-9]{1,8})$")
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BOM = b"\xef\xbb\xbf"
# A PDF header may follow up to 1 KiB of leading junk (as Acrobat allows).
_PDF_HEADER_WINDOW = 1024
_HEAD_BYTES = 8192  # enough for every signature the content types look for
# Extraction junk: control characters, U+FFFD, private-use glyphs and pdfminer's
# "(cid:123)" for glyphs with no Unicode mapping.
_JUNK = re.compile(r"\(cid:\d+\)|[\x00-\x08\x0e-\x1f\x7f\ufffd\ue000-\uf8ff]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_MAX_JUNK_SHARE = 0.1
# Text is decoded whole: refuse before decoding what could never fit max_chars.
_MAX_BYTES_PER_CHAR = 4
_CHUNK = 1024 * 1024

# Zip-based formats that are neither Word nor OFD: say what they are instead of "broken".
_OTHER_ZIP_FORMATS = {
    "xl/workbook.xml": ("Excel 工作簿", "an Excel workbook"),
    "ppt/presentation.xml": ("PowerPoint 演示文稿", "a PowerPoint presentation"),
    "content.xml": ("OpenDocument 文档", "an OpenDocument file"),
}


@dataclass(frozen=True)
class Document:
    kind: str  # "txt" | "md" | "docx" | "pdf" | "ofd", detected from the content
    media_type: str
    paragraphs: tuple[str, ...]  # non-empty, whitespace-stripped, in reading order
    # Where each paragraph came from (page, table cell); empty when every one is plain.
    origins: tuple[Origin, ...] = field(default=(), compare=False)
    tables: tuple[Table, ...] = field(default=(), compare=False)  # DOCX and PDF tables

    @property
    def levels(self) -> tuple[int | None, ...]:
        """Each paragraph's outline level where the document's styles give one."""
        return tuple(origin.level for origin in self.origins)

    def origin(self, index: int) -> Origin:
        return self.origins[index] if index < len(self.origins) else NOWHERE

    def where(self, index: int) -> str:
        """ "第12段", "第3页（第40段）" or "表格2第3行第4列" for paragraph `index`."""
        return self.origin(index).describe(index)


def read_document(
    path: Path, filename: str, limits: DocumentLimits = DEFAULT_LIMITS, *, tables: bool = False
) -> tuple[Document | None, list[Finding]]:
    """Detect the type from content and extract paragraphs (and, with `tables`, the
    tables of a PDF too; a DOCX's always come). (None, [errors]) when the file is
    unreadable; a readable file may still come with an error (a type mismatch)."""
    try:
        with path.open("rb") as source:
            return _read(source, filename, limits, tables)
    except OSError:
        return None, [_finding(unreadable("无法打开文件", "the file cannot be opened"))]


def read_document_bytes(
    data: bytes, filename: str, limits: DocumentLimits = DEFAULT_LIMITS, *, tables: bool = False
) -> tuple[Document | None, list[Finding]]:
    """As read_document, for bytes already in memory."""
    return _read(io.BytesIO(data), filename, limits, tables)


def _read(
    source: BinaryIO, filename: str, limits: DocumentLimits, tables: bool
) -> tuple[Document | None, list[Finding]]:
    """The file is read from the stream as each format needs it (PDF objects, zip members,
    text up to the character limit), never whole into memory."""
    if _blank(source):
        return None, [_empty()]
    try:
        detected, media_type, extracted = _extract(source, limits, tables)
        paragraphs, origins = _paragraphs(extracted, limits)
    except ReadProblem as problem:
        return None, [_finding(problem)]
    if not paragraphs:
        return None, [_empty()]
    extension = _extension(filename)
    kind = _kind(detected, extension)
    if kind == "md":
        media_type = media_type.replace("text/plain", "text/markdown")
    document = Document(kind, media_type, paragraphs, origins, extracted.tables)
    return document, _mismatch(detected, extension)


def _blank(source: BinaryIO) -> bool:
    """Empty, or nothing but whitespace (read in chunks: a huge blank file stays cheap)."""
    first = True
    while chunk := source.read(_CHUNK):
        if first:
            chunk, first = chunk.removeprefix(_BOM), False
        if chunk.strip():
            source.seek(0)
            return False
    source.seek(0)
    return True


def _extract(source: BinaryIO, limits: DocumentLimits, tables: bool) -> tuple[str, str, Extracted]:
    """(detected kind, media type, content); the kind is "txt" for any text."""
    head = source.read(_HEAD_BYTES)
    source.seek(0)
    if b"%PDF-" in head[:_PDF_HEADER_WINDOW]:
        content = pdf_content(source, limits, tables=tables)
        return "pdf", "application/pdf", _checked(content, "PDF")
    if head.startswith(b"PK\x03\x04"):
        return _extract_zip(source, limits)
    if head.startswith(_OLE_MAGIC):
        raise unsupported(
            "旧版 Word (.doc) 或加密的 Office 文件", "a legacy Word (.doc) or encrypted Office file"
        )
    other = None if plausible_text(head) else identify(head)
    if other is not None:
        raise unsupported(
            f"{other[0]}，不是 PDF/DOCX/OFD/TXT", f"{other[1]}, not a PDF/DOCX/OFD/TXT"
        )
    if source.seek(0, io.SEEK_END) > limits.max_chars * _MAX_BYTES_PER_CHAR:
        raise too_complex(f"文字超过 {limits.max_chars} 字", f"over {limits.max_chars} characters")
    source.seek(0)
    text, charset = decode_text(source.read())
    return "txt", f"text/plain; charset={charset}", Extracted((Block(text),))


def _extract_zip(source: BinaryIO, limits: DocumentLimits) -> tuple[str, str, Extracted]:
    names = zip_names(source)
    if names is not None and is_ofd(names):
        return "ofd", OFD_MEDIA_TYPE, _checked(ofd_content(source, limits), "OFD")
    if names is not None and not is_docx(names):
        other = next((label for part, label in _OTHER_ZIP_FORMATS.items() if part in names), None)
        zh, en = other or ("ZIP 压缩包", "a zip archive")
        raise unsupported(f"{zh}，不是 PDF/DOCX/OFD/TXT", f"{en}, not a PDF/DOCX/OFD/TXT")
    return "docx", DOCX_MEDIA_TYPE, _checked(docx_content(source, limits), "DOCX")


def _checked(extracted: Extracted, label: str) -> Extracted:
    """The extracted content without junk; ReadProblem when junk is all there is."""
    visible = "".join(extracted.text.split())
    if not visible:
        raise no_text(f"{label} 中没有文字层（可能是扫描件）", f"the {label} has no text layer")
    junk = sum(len(m) for m in _JUNK.findall(visible))
    if junk > len(visible) * _MAX_JUNK_SHARE:
        raise no_text(f"{label} 提取出的内容不是可读文字", f"the {label} yields junk, not text")
    blocks = tuple(Block(_JUNK.sub("", b.text), b.origin) for b in extracted.blocks)
    return Extracted(blocks, extracted.tables)


def _paragraphs(
    extracted: Extracted, limits: DocumentLimits
) -> tuple[tuple[str, ...], tuple[Origin, ...]]:
    """Non-empty paragraphs and their origins (empty when every origin is plain)."""
    if sum(len(b.text) for b in extracted.blocks) > limits.max_chars:
        raise too_complex(f"文字超过 {limits.max_chars} 字", f"over {limits.max_chars} characters")
    out: list[str] = []
    origins: list[Origin] = []
    for block in extracted.blocks:
        for line in _CONTROLS.sub("", block.text).splitlines():
            pieces = _pieces(line.strip(), limits.max_line_chars)
            out.extend(pieces)
            origins.extend([block.origin] * len(pieces))
            if len(out) > limits.max_paragraphs:
                raise too_complex(
                    f"段落超过 {limits.max_paragraphs} 个",
                    f"over {limits.max_paragraphs} paragraphs",
                )
    plain = all(o == NOWHERE for o in origins)
    return tuple(out), () if plain else tuple(origins)


def _pieces(line: str, size: int) -> list[str]:
    """A line cut into pieces of at most `size` characters, empty pieces dropped."""
    cut = (line[i : i + size].strip() for i in range(0, len(line), size))
    return [piece for piece in cut if piece]


def usable_name(filename: str, kind: str) -> str:
    """The name a file is stored and delivered under: as submitted when its extension
    names its type, else with its type's extension added ("报告" → "报告.docx"), so that
    no destination refuses for want of one what the service accepted."""
    named = _EXTENSION_KINDS.get(_extension(filename) or "")
    if named is not None and _family(named) == _family(kind):
        return filename
    return f"{filename}.{kind}"


def _extension(filename: str) -> str | None:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    match = _EXTENSION.search(name)
    if match is None or match.group(1).isdigit():
        return None
    return match.group(1).lower()


def _kind(detected: str, extension: str | None) -> str:
    if detected == "txt" and _EXTENSION_KINDS.get(extension or "") == "md":
        return "md"
    return detected


def _family(kind: str) -> str:
    return "text" if kind in ("txt", "md") else kind


def _mismatch(detected: str, extension: str | None) -> list[Finding]:
    if extension is None:
        return []
    named = _EXTENSION_KINDS.get(extension)
    if named is not None and _family(named) == _family(detected):
        return []
    label = _KIND_LABELS[detected]
    return [
        error(
            "file_type_mismatch",
            f"文件扩展名 .{extension} 与文件内容（{label}）不符",
            f"The extension .{extension} does not match the content ({label})",
            where=WHERE,
            excerpt=f".{extension}",
        )
    ]


def _empty() -> Finding:
    return error("file_empty", "文件为空", "The file is empty", where=WHERE)


def _finding(problem: ReadProblem) -> Finding:
    return error(problem.code, problem.message_zh, problem.message_en, where=WHERE)
