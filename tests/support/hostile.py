"""Hostile uploads: files built to make a reader spend time, memory or stack, for tests
that a reader fails cleanly (a finding) instead of taking the worker down.

Every generator takes well under a second and is small on disk unless its docstring
says otherwise: large content is deflated once per megabyte block and the compressed
block repeated (the technique of `documents.zip_bomb_docx`), so building costs
O(output) and the inflated data never exists in memory while building. Checksums
(CRC-32, Adler-32) and declared sizes are the truth: a reader that inflates everything
finds a valid file. Deflate gives 250:1 to 700:1 on such repetition (a 258-byte match
costs 3 to 10 bits, more the longer the repeated unit), so 1.5 to 4.5 KB per inflated MiB.

                                       # on disk     inflated / what
    pdf_drawing_operators(50)          # ~100 KB     50 MiB content stream, 3.7M paths
    pdf_drawing_operators(50, compressed=False)   #  50 MiB on disk
    pdf_nested_objects(100_000)        # ~200 KB     [[[[…]]]] 100 000 deep
    pdf_many_pages(10_000)             # ~790 KB     10 000 empty pages
    pdf_encrypted()                    # ~3.5 KB     user password "secret", Chinese text
    pdf_truncated()                    # ~2.3 KB     a real PDF cut in half
    docx_empty_paragraphs(20)          # ~32 KB      20 MiB: 3.5M <w:p/>
    docx_unclosed_nesting(2_000_000)   # ~32 KB      12 MiB: 2M elements never closed
    docx_many_runs(50)                 # ~130 KB     50 MiB: 2.3M runs in one paragraph
    docx_nested_tables(5_000)          # ~3.4 KB     0.7 MiB: tables in cells 5 000 deep
    docx_wide_spans(100_000)           # ~210 KB     47 MiB: 100 000 rows, 50M grid slots
    png_named_like_pdf()               # ~0.5 KB     a real PNG, for a file named report.pdf
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence
from typing import Literal

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from tests.support.documents import (
    ANNUAL_REPORT_TEXT,
    PDF_FONT,
    pdf_from_text,
    raw_zip,
)

_MiB = 1024 * 1024
ENCRYPTED_PDF_PASSWORD = "secret"


class _Deflate:
    """A raw deflate stream appended to piece by piece; `add(unit, count)` costs one
    compression of at most a megabyte, however large `count`: each block ends with a
    full flush, which resets the compressor, so a block's bytes can be repeated. The
    CRC-32 (zip) and Adler-32 (zlib, PDF FlateDecode) of the inflated data are kept."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._out = bytearray()
        self.size = 0
        self.crc = 0
        self.adler = 1

    def add(self, unit: bytes, count: int = 1) -> None:
        if count <= 0 or not unit:
            return
        per_block = max(1, min(count, _MiB // len(unit)))
        full, rest = divmod(count, per_block)
        for data, repeat in ((unit * per_block, full), (unit * rest, 1 if rest else 0)):
            if not repeat:
                continue
            block = self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)
            self._out += block * repeat
            for _ in range(repeat):
                self.crc = zlib.crc32(data, self.crc)
                self.adler = zlib.adler32(data, self.adler)
        self.size += len(unit) * count

    def raw(self) -> bytes:
        """The finished raw deflate stream (what a zip member holds)."""
        return bytes(self._out + self._z.flush())

    def zlib_stream(self) -> bytes:
        """The finished zlib stream (what a PDF FlateDecode stream holds)."""
        return b"\x78\xda" + self.raw() + struct.pack(">I", self.adler)


# -- PDF -----------------------------------------------------------------------------------


def _pdf(objects: Sequence[bytes], *, info: int | None = None) -> bytes:
    """A PDF of `objects` (bodies of objects 1, 2, …; object 1 is the catalog), with a
    classic xref table whose offsets are right."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number
        out += body
        out += b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    info_entry = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\n" % (len(objects) + 1, info_entry)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def _stream(data: bytes, entries: bytes = b"") -> bytes:
    return b"<< /Length %d%s >>\nstream\n" % (len(data), entries) + data + b"\nendstream"


_CATALOG = b"<< /Type /Catalog /Pages 2 0 R >>"
_HELVETICA = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def _text(words: bytes) -> bytes:
    return b"BT /F1 12 Tf 72 720 Td (" + words + b") Tj ET\n"


def pdf_drawing_operators(
    mib: int = 50, *, compressed: bool = True, shape: Literal["line", "rect"] = "line"
) -> bytes:
    """One A4 page whose content stream is `mib` MiB of path drawing: "0 0 m 1 1 l S"
    (a stroked line, 14 bytes: 3.7 million paths at 50 MiB) or with shape="rect"
    "0 0 1 1 re f" (a filled rectangle, 13 bytes), then the text "drawing operators"
    at the very end, which only a reader that got through the stream can extract.

    compressed=True: the stream is FlateDecode, ~2 KB per MiB (~100 KB at 50 MiB),
    built in ~25 ms; compressed=False: the file is `mib` MiB, built in ~0.1-0.5 s."""
    unit = b"0 0 m 1 1 l S\n" if shape == "line" else b"0 0 1 1 re f\n"
    count = mib * _MiB // len(unit)
    tail = _text(b"drawing operators")
    if compressed:
        stream = _Deflate()
        stream.add(unit, count)
        stream.add(tail)
        contents = _stream(stream.zlib_stream(), b" /Filter /FlateDecode")
    else:
        contents = _stream(unit * count + tail)
    return _pdf(
        [
            _CATALOG,
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> >>",
            contents,
            _HELVETICA,
        ]
    )


def pdf_nested_objects(depth: int = 100_000, *, kind: Literal["array", "dict"] = "array") -> bytes:
    """A valid one-page PDF with the text "nested objects", and one indirect object
    nested `depth` deep: [[[[…]]]] (kind="array", 2 bytes a level: ~200 KB on disk at
    100 000) or << /A << /A … 0 >> >> (kind="dict", 9 bytes a level: ~900 KB). It is
    referenced from the catalog (/Nested), the page (/Nested) and the document Info
    dictionary (/Nested, which readers decoding metadata walk recursively). Nothing is
    compressed; the file is the size of the nesting."""
    nested = (
        b"[" * depth + b"]" * depth
        if kind == "array"
        else b"<< /A " * depth + b"0 " + b">> " * depth
    )
    return _pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R /Nested 6 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
            b" /Resources << /Font << /F1 5 0 R >> >> /Nested 6 0 R >>",
            _stream(_text(b"nested objects")),
            _HELVETICA,
            nested,
            b"<< /Title (nested) /Nested 6 0 R >>",
        ],
        info=7,
    )


def pdf_many_pages(pages: int = 10_000) -> bytes:
    """A valid PDF of `pages` empty A4 pages (no content stream), all kids of one page
    tree node, written directly: ~79 bytes a page (~790 KB at 10 000), ~5 ms to build."""
    first = 3
    kids = b" ".join(b"%d 0 R" % n for n in range(first, first + pages))
    page = b"<< /Type /Page /Parent 2 0 R >>"
    return _pdf(
        [
            _CATALOG,
            b"<< /Type /Pages /MediaBox [0 0 595 842] /Resources << >> /Count %d /Kids [%s] >>"
            % (pages, kids),
            *[page] * pages,
        ]
    )


def pdf_encrypted() -> bytes:
    """A two-page PDF of Chinese text (STSong-Light) encrypted by reportlab with the
    user password ENCRYPTED_PDF_PASSWORD ("secret"), 40-bit RC4 (reportlab's
    default: standard security handler /V 1 /R 2): nothing is readable without it. ~3.5 KB."""
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True, encrypt=ENCRYPTED_PDF_PASSWORD)
    for number in (1, 2):
        page.setFont(PDF_FONT, 12)
        page.drawString(56, 780, f"加密的政府信息公开工作年度报告 第{number}页")
        page.drawString(56, 760, "本报告依据《中华人民共和国政府信息公开条例》编制。")
        page.showPage()
    page.save()
    return out.getvalue()


def pdf_truncated() -> bytes:
    """The first half of a real two-page PDF of Chinese text (documents.pdf_from_text of
    the annual report, repeated; 4.5 KB): the header and the first objects survive, the
    xref table, trailer and %%EOF are gone. ~2.3 KB."""
    whole = pdf_from_text(ANNUAL_REPORT_TEXT * 3)
    return whole[: len(whole) // 2]


# -- DOCX ----------------------------------------------------------------------------------

_W = b"http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_DOCUMENT_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<w:document xmlns:w="' + _W + b'"><w:body>'
)
_DOCUMENT_TAIL = b"<w:sectPr/></w:body></w:document>"


_CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/word/document.xml" ContentType="application/'
    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)
_PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="word/document.xml"/></Relationships>'
)


def _docx(pieces: Sequence[tuple[bytes, int]]) -> bytes:
    """A minimal DOCX package (content types, package relationships, and the main part;
    no styles, settings or thumbnail: ~0.8 KB) whose word/document.xml is each (unit,
    count) piece repeated in order; the caller writes the document head and tail. Sizes
    and CRC-32s are the truth."""
    members = []
    for name, content in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _PACKAGE_RELS)):
        part = _Deflate()
        part.add(content)
        members.append((name, part.raw(), part.size, part.crc))
    xml = _Deflate()
    for unit, count in pieces:
        xml.add(unit, count)
    return raw_zip([*members, ("word/document.xml", xml.raw(), xml.size, xml.crc)])


def docx_empty_paragraphs(mib: int = 20) -> bytes:
    """A valid DOCX whose word/document.xml inflates to `mib` MiB of empty paragraphs
    <w:p/> in the body (3.5 million at 20 MiB); ~32 KB on disk (~1.6 KB per MiB)."""
    count = mib * _MiB // len(b"<w:p/>")
    return _docx([(_DOCUMENT_HEAD, 1), (b"<w:p/>", count), (_DOCUMENT_TAIL, 1)])


def docx_unclosed_nesting(
    depth: int = 2_000_000, *, tags: Sequence[str] = ("w:tbl", "w:tr", "w:tc")
) -> bytes:
    """A DOCX whose word/document.xml opens `depth` elements, cycling through `tags`
    (<w:tbl><w:tr><w:tc><w:tbl>… by default; ("w:sdt", "w:sdtContent") or ("w:p", "w:r")
    also make sense), and ends there: none is ever closed, so the XML is not well formed,
    but only at its very end, after a parser has stacked every element. At the default
    depth: 12 MiB inflated and ~32 KB on disk with the table tags, 9.5 MiB and ~21 KB
    with ("w:p", "w:r"), 20 MiB and ~53 KB with ("w:sdt", "w:sdtContent")."""
    unit = b"".join(b"<%s>" % tag.encode() for tag in tags)
    count = -(-depth // len(tags))
    return _docx([(_DOCUMENT_HEAD, 1), (unit, count)])


def docx_many_runs(mib: int = 50) -> bytes:
    """A valid DOCX whose word/document.xml is one paragraph of `mib` MiB of one-letter
    runs <w:r><w:t>x</w:t></w:r> (23 bytes each: 2.3 million runs, 2.3 million
    characters of text at 50 MiB); ~130 KB on disk."""
    unit = b"<w:r><w:t>x</w:t></w:r>"
    return _docx(
        [
            (_DOCUMENT_HEAD + b"<w:p>", 1),
            (unit, mib * _MiB // len(unit)),
            (b"</w:p>" + _DOCUMENT_TAIL, 1),
        ]
    )


def docx_nested_tables(depth: int = 5_000) -> bytes:
    """A valid DOCX of one table whose only cell holds a table, `depth` tables deep, the
    innermost cell holding the text "最深处"; every element closed, every cell ending in
    a paragraph as the schema wants. Each level nests three elements deeper (tbl, tr,
    tc), ~140 bytes a level: XML 15 000 elements deep, 0.7 MiB inflated, ~3.4 KB on disk
    at 5 000. libxml2 (lxml, python-docx) refuses XML deeper than 256 elements unless
    huge_tree is set."""
    opening = (
        b'<w:tbl><w:tblGrid><w:gridCol w:w="100"/></w:tblGrid>'
        b'<w:tr><w:tc><w:tcPr><w:tcW w:w="100" w:type="dxa"/></w:tcPr>'
    )
    innermost = "<w:p><w:r><w:t>最深处</w:t></w:r></w:p>".encode()
    closing = b"<w:p/></w:tc></w:tr></w:tbl>"
    return _docx(
        [
            (_DOCUMENT_HEAD, 1),
            (opening, depth),
            (innermost, 1),
            (closing, depth),
            (b"<w:p/>" + _DOCUMENT_TAIL, 1),
        ]
    )


def docx_wide_spans(rows: int = 100_000, *, cells: int = 8) -> bytes:
    """A valid DOCX of one table of `rows` rows, each of `cells` empty cells declaring
    <w:gridSpan w:val="63"/> (Word's maximum), over a grid that declares one column:
    a reader that expands spans into a grid makes rows × cells × 63 slots (50 million
    at the defaults). ~490 bytes a row: 47 MiB inflated, ~210 KB on disk at 100 000."""
    cell = b'<w:tc><w:tcPr><w:gridSpan w:val="63"/></w:tcPr><w:p/></w:tc>'
    return _docx(
        [
            (_DOCUMENT_HEAD + b'<w:tbl><w:tblGrid><w:gridCol w:w="100"/></w:tblGrid>', 1),
            (b"<w:tr>" + cell * cells + b"</w:tr>", rows),
            (b"</w:tbl><w:p/>" + _DOCUMENT_TAIL, 1),
        ]
    )


# -- not what the name says ----------------------------------------------------------------


def png_named_like_pdf() -> bytes:
    """A real 16×16 RGB PNG (a gradient), 463 bytes: content sniffing sees a PNG
    whatever the upload's name (report.pdf) or declared type (application/pdf)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    width = height = 16
    pixels = b"".join(
        b"\x00" + b"".join(bytes((x * 16, y * 16, 128)) for x in range(width))
        for y in range(height)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )
