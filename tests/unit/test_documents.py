import io
import random
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from service.domain.findings import Finding, Severity
from service.validation import Document, DocumentLimits, read_document, read_document_bytes
from tests.support.documents import SAMPLE_PATH, docx_from_text, pdf_from_text

SAMPLE_TEXT = SAMPLE_PATH.read_text("utf-8")
SAMPLE_LINES = tuple(line.strip() for line in SAMPLE_TEXT.splitlines() if line.strip())
SHORT_TEXT = "南开区合作交流办党组2023年度法治政府建设\n情况报告\n\n2024年1月10日\n"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def _read(data: bytes, filename: str, **limits: int) -> tuple[Document | None, list[Finding]]:
    return read_document_bytes(data, filename, DocumentLimits(**limits))


def _failure(data: bytes, filename: str, **limits: int) -> str:
    """The single error code of a file that cannot be read."""
    document, findings = _read(data, filename, **limits)
    assert document is None
    assert len(findings) == 1 and findings[0].severity is Severity.ERROR
    assert findings[0].where and findings[0].message_zh and findings[0].message_en
    return findings[0].code


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def _docx_members(text: str = SHORT_TEXT) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx_from_text(text))) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _pdf(draw: Callable[[canvas.Canvas], None], pages: int = 1, **options: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, **options)
    for _ in range(pages):
        draw(page)
        page.showPage()
    page.save()
    return out.getvalue()


# -- reading each kind ---------------------------------------------------------------


def test_the_sample_text_file_reads_as_utf8_text_with_one_paragraph_per_line() -> None:
    document, findings = read_document(SAMPLE_PATH, SAMPLE_PATH.name)
    assert findings == []
    assert document == Document("txt", "text/plain; charset=utf-8", SAMPLE_LINES)


def test_a_text_file_named_md_is_markdown_and_one_without_extension_is_text() -> None:
    data = SAMPLE_TEXT.encode()
    md, md_findings = _read(data, "报告.md")
    plain, plain_findings = _read(data, "报告")
    assert md_findings == plain_findings == []
    assert md is not None and (md.kind, md.media_type) == ("md", "text/markdown; charset=utf-8")
    assert plain is not None and plain.kind == "txt"


def test_a_utf8_bom_is_not_part_of_the_first_paragraph() -> None:
    document, _ = _read(b"\xef\xbb\xbf" + SAMPLE_TEXT.encode(), "a.txt")
    assert document is not None and document.paragraphs == SAMPLE_LINES


def test_gb18030_text_is_read() -> None:
    document, findings = _read(SAMPLE_TEXT.encode("gb18030"), "报告.txt")
    assert findings == []
    assert document is not None
    assert document.media_type == "text/plain; charset=gb18030"
    assert document.paragraphs == SAMPLE_LINES


def test_a_docx_reads_its_paragraphs_in_order() -> None:
    document, findings = _read(docx_from_text(SAMPLE_TEXT), "报告.docx")
    assert findings == []
    assert document == Document("docx", DOCX_TYPE, SAMPLE_LINES)


def test_a_docx_table_is_read_in_body_order_cell_by_cell() -> None:
    word = docx.Document()
    word.add_paragraph("表格之前")
    table = word.add_table(rows=2, cols=2)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"第{r + 1}行第{c + 1}列"
    word.add_paragraph("表格之后\n换行之后")
    out = io.BytesIO()
    word.save(out)
    document, _ = _read(out.getvalue(), "t.docx")
    assert document is not None
    assert document.paragraphs == (
        "表格之前",
        "第1行第1列",
        "第1行第2列",
        "第2行第1列",
        "第2行第2列",
        "表格之后",
        "换行之后",
    )


def test_a_pdf_of_the_sample_extracts_the_same_chinese_text() -> None:
    document, findings = _read(pdf_from_text(SAMPLE_TEXT), "报告.pdf")
    assert findings == []
    assert document is not None and (document.kind, document.media_type) == (
        "pdf",
        "application/pdf",
    )
    assert "".join(document.paragraphs) == "".join(SAMPLE_LINES).replace(" ", "")


# -- unreadable, unsupported, mismatched ---------------------------------------------


@pytest.mark.parametrize("data", [b"", b" \r\n\t ", b"\xef\xbb\xbf", "\u3000\n".encode()])
def test_an_empty_file_is_file_empty(data: bytes) -> None:
    assert _failure(data, "a.txt") == "file_empty"


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (pdf_from_text(SHORT_TEXT), "报告.docx"),
        (docx_from_text(SHORT_TEXT), "报告.pdf"),
        (SHORT_TEXT.encode(), "报告.pdf"),
        (SHORT_TEXT.encode(), "报告.doc"),
    ],
    ids=["pdf-named-docx", "docx-named-pdf", "text-named-pdf", "text-named-doc"],
)
def test_an_extension_naming_another_type_is_a_mismatch(data: bytes, filename: str) -> None:
    document, findings = _read(data, filename)
    assert _codes(findings) == ["file_type_mismatch"]
    assert findings[0].severity is Severity.ERROR
    assert document is not None and document.paragraphs  # still read: the error says why not


@pytest.mark.parametrize(
    "filename", ["a.txt", "a.md", "a.TXT", "C:\\上传\\a.markdown", "a", "报告v1.2"]
)
def test_text_under_any_text_extension_or_none_is_no_mismatch(filename: str) -> None:
    assert _read(SHORT_TEXT.encode(), filename)[1] == []


@pytest.mark.parametrize(
    "data",
    [
        random.Random(0).randbytes(4096),
        b"\x89PNG\r\n\x1a\n" + bytes(200),
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),  # a legacy .doc / encrypted Office
        "文本\x00中间有空字符".encode(),
        "报告".encode("utf-16"),
        _zip({"xl/workbook.xml": b"<workbook/>"}),
        _zip({"hello.txt": b"hello"}),
    ],
    ids=["random", "png", "ole", "nul", "utf16", "xlsx", "zip"],
)
def test_content_that_is_no_docx_pdf_or_text_is_unsupported(data: bytes) -> None:
    assert _failure(data, "a.docx") == "file_type_unsupported"


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(200), "PNG 图片，不是 PDF/DOCX/OFD/TXT"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(200), "图片，不是 PDF/DOCX/OFD/TXT"),
        (b"Rar!\x1a\x07\x00" + bytes(200), "RAR 压缩包"),
        (b"MZ\x90\x00" + bytes(200), "可执行程序"),
        (b"{\\rtf1\\ansi\\deff0 {\\fonttbl}" + bytes(200), "RTF 文档"),
        (_zip({"hello.txt": b"hello"}), "ZIP 压缩包，不是 PDF/DOCX/OFD/TXT"),
    ],
    ids=["png", "jpeg", "rar", "exe", "rtf", "zip"],
)
def test_a_file_that_is_no_document_is_named_by_its_content_not_its_name(
    data: bytes, says: str
) -> None:
    document, findings = _read(data, "report.pdf")
    assert document is None
    (finding,) = findings
    assert finding.code == "file_type_unsupported"
    assert says in finding.message_zh
    assert "UTF-8" not in finding.message_zh.split("。")[0]


@pytest.mark.parametrize("text", ["MZ 开头的一份报告", "BM公司的报告", "II 号文件"])
def test_text_that_happens_to_start_like_a_binary_signature_is_still_text(text: str) -> None:
    assert _read((text + "\n第二段").encode(), "a.txt")[1] == []
    assert _read((text + "\n第二段").encode("gb18030"), "a.txt")[1] == []


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (pdf_from_text(SAMPLE_TEXT)[:3000], "a.pdf"),
        (b"%PDF-1.4\n" + bytes(300) + b"\n%%EOF\n", "a.pdf"),
        (_pdf(lambda c: c.drawString(72, 720, "secret"), encrypt="password"), "a.pdf"),
        (b"PK\x03\x04" + random.Random(1).randbytes(300), "a.docx"),
        (docx_from_text(SHORT_TEXT)[:2000], "a.docx"),
        (_zip({k: v for k, v in _docx_members().items() if k != "word/document.xml"}), "a.docx"),
        (_zip({**_docx_members(), "word/document.xml": b"<w:document"}), "a.docx"),
    ],
    ids=[
        "truncated-pdf",
        "garbage-pdf",
        "encrypted-pdf",
        "broken-zip",
        "truncated-docx",
        "docx-without-document-xml",
        "docx-with-broken-xml",
    ],
)
def test_a_corrupt_or_encrypted_file_is_unreadable(data: bytes, filename: str) -> None:
    assert _failure(data, filename) == "file_unreadable"


def test_a_docx_with_a_doctype_is_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><d>&b;</d>'
    )
    data = _zip({**_docx_members(), "word/document.xml": bomb})
    assert _failure(data, "a.docx") == "file_unreadable"


def test_a_pdf_without_a_text_layer_is_file_no_text() -> None:
    scanned = _pdf(lambda c: c.rect(72, 72, 400, 600, fill=1))
    assert _failure(scanned, "scan.pdf") == "file_no_text"


def test_a_docx_without_any_text_is_file_no_text() -> None:
    assert _failure(docx_from_text("\n\n"), "a.docx") == "file_no_text"


# -- limits ----------------------------------------------------------------------------


def test_a_docx_member_declaring_more_than_the_limit_is_too_complex() -> None:
    bomb = _zip({**_docx_members(), "word/media/zeros.bin": bytes(2_000_000)})
    assert len(bomb) < 50_000
    assert _failure(bomb, "a.docx", max_decompressed_bytes=1_000_000) == "file_too_complex"


def test_decompressed_bytes_are_counted_across_members_read() -> None:
    needed = ("[Content_Types].xml", "_rels/.rels", "word/document.xml")
    members = {k: v for k, v in _docx_members().items() if k in needed}
    document_xml = members["word/document.xml"]
    padded = document_xml.replace(b"</w:body>", b"</w:body>" + b" " * 50_000)
    data = _zip({**members, "word/document.xml": padded})
    # each member is under the limit; the relationships and the document together are not
    limit = len(padded) + 10
    assert _failure(data, "a.docx", max_decompressed_bytes=limit) == "file_too_complex"
    assert _read(data, "a.docx", max_decompressed_bytes=limit + 10_000)[0] is not None


def test_a_docx_member_lying_about_its_size_is_an_error_not_a_crash() -> None:
    data = bytearray(_zip({**_docx_members(), "word/document.xml": bytes(3_000_000)}))
    # rewrite the declared uncompressed size of every entry to 100 bytes
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        at = data.find(signature)
        while at != -1:
            data[at + offset : at + offset + 4] = (100).to_bytes(4, "little")
            at = data.find(signature, at + 4)
    assert _failure(bytes(data), "a.docx") in {"file_unreadable", "file_too_complex"}


def test_a_pdf_over_the_page_limit_is_too_complex() -> None:
    data = _pdf(lambda c: c.drawString(72, 720, "page"), pages=3)
    assert _failure(data, "a.pdf", max_pdf_pages=2) == "file_too_complex"
    assert _read(data, "a.pdf", max_pdf_pages=3)[0] is not None


@pytest.mark.parametrize(
    ("limits", "data"),
    [
        ({"max_chars": 100}, SAMPLE_TEXT.encode()),
        ({"max_paragraphs": 5}, SAMPLE_TEXT.encode()),
        ({"max_chars": 100}, docx_from_text(SAMPLE_TEXT)),
    ],
    ids=["chars", "paragraphs", "docx-chars"],
)
def test_text_over_a_limit_is_too_complex(limits: dict[str, int], data: bytes) -> None:
    assert _failure(data, "a", **limits) == "file_too_complex"


def test_a_one_line_one_megabyte_text_file_is_cut_into_pieces_not_a_crash() -> None:
    data = ("法治" * 200_000).encode()[:1_000_000]  # cut inside the last character
    document, findings = _read(data, "a.txt", max_line_chars=100_000)
    assert findings == []
    assert document is not None and document.media_type == "text/plain; charset=utf-8"
    assert all(len(p) <= 100_000 for p in document.paragraphs)
    assert "".join(document.paragraphs) == data.decode(errors="ignore")


# -- paths and arbitrary input ---------------------------------------------------------


def test_a_missing_path_is_unreadable(tmp_path: Path) -> None:
    document, findings = read_document(tmp_path / "nowhere.pdf", "nowhere.pdf")
    assert document is None and _codes(findings) == ["file_unreadable"]


_REAL_FILES = [pdf_from_text(SHORT_TEXT), docx_from_text(SHORT_TEXT), SHORT_TEXT.encode()]


@st.composite
def _damaged_real_file(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_REAL_FILES)))
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)


_ANY_BYTES = st.one_of(
    st.binary(max_size=2048),
    st.binary(max_size=512).map(lambda b: b"%PDF-1.7\n" + b + b"\n%%EOF"),
    st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),
    _damaged_real_file(),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_ANY_BYTES, filename=st.sampled_from(["a.pdf", "a.docx", "a.txt", "a.md", "a"]))
def test_any_bytes_give_a_document_or_findings_and_never_raise(
    tmp_path_factory: pytest.TempPathFactory, data: bytes, filename: str
) -> None:
    path = tmp_path_factory.mktemp("upload") / "file"
    path.write_bytes(data)
    document, findings = read_document(path, filename)
    if document is None:
        assert findings and all(f.severity is Severity.ERROR for f in findings)
    else:
        assert document.kind in {"txt", "md", "docx", "pdf"}
        assert document.paragraphs
        assert all(p and p == p.strip() and "\x00" not in p for p in document.paragraphs)


def test_a_large_document_is_read_from_disk_with_bounded_memory(tmp_path: Path) -> None:
    big = tmp_path / "large.docx"
    source = io.BytesIO(docx_from_text("滨河区重大民生信息公告\n正文"))
    with zipfile.ZipFile(source) as small, zipfile.ZipFile(big, "w", zipfile.ZIP_STORED) as out:
        for info in small.infolist():
            out.writestr(info, small.read(info))
        with out.open(zipfile.ZipInfo("word/media/padding.bin"), "w") as part:
            for _ in range(96):
                part.write(b"\0" * (1024 * 1024))
    tracemalloc.start()
    document, findings = read_document(big, "large.docx")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert document is not None and findings == []
    assert peak < 16 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a 96 MiB file"
