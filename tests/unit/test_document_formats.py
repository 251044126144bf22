"""What issue 3 adds to reading documents: OFD, GBK text, where each paragraph came from,
DOCX tables with merged cells, and defences — a zip bomb is a finding with bounded
memory, and no input of any shape makes an extractor raise."""

from __future__ import annotations

import io
import tracemalloc
import zipfile

import docx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from service.domain.findings import Finding, Severity
from service.validation import DocumentLimits, read_document_bytes
from tests.support.documents import (
    SAMPLE_PATH,
    annual_report_docx,
    docx_from_text,
    ofd_from_text,
    pdf_from_text,
    zip_bomb_docx,
)

SAMPLE_TEXT = SAMPLE_PATH.read_text("utf-8")
SAMPLE_LINES = tuple(line.strip() for line in SAMPLE_TEXT.splitlines() if line.strip())
MiB = 1024 * 1024


def _codes(findings: list[Finding]) -> list[str]:
    return [f.code for f in findings]


def _zip(members: dict[str, bytes | str]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


# -- OFD ---------------------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True], ids=["in-order", "objects-bottom-first"])
def test_an_ofd_is_read_line_by_line_in_reading_order(reverse: bool) -> None:
    document, findings = read_document_bytes(
        ofd_from_text(SAMPLE_TEXT, reverse=reverse), "报告.ofd"
    )
    assert findings == []
    assert document is not None
    assert (document.kind, document.media_type) == ("ofd", "application/ofd")
    assert document.paragraphs == SAMPLE_LINES


def test_an_ofd_paragraph_says_its_page() -> None:
    text = "\n".join(f"第{i}行" for i in range(1, 61))
    document, _ = read_document_bytes(ofd_from_text(text, lines_per_page=40), "a.ofd")
    assert document is not None
    assert document.where(0) == "第1页（第1段）"
    assert document.where(45) == "第2页（第46段）"


def test_an_ofd_is_detected_by_content_whatever_its_name() -> None:
    document, findings = read_document_bytes(ofd_from_text(SAMPLE_TEXT), "报告.pdf")
    assert document is not None and document.kind == "ofd"
    assert _codes(findings) == ["file_type_mismatch"]


@pytest.mark.parametrize(
    ("members", "code"),
    [
        ({"OFD.xml": "<ofd/>"}, "file_unreadable"),  # no DocRoot
        (
            {
                "OFD.xml": "<ofd:OFD xmlns:ofd='x'><ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
            },
            "file_unreadable",
        ),  # no Document.xml
        (
            {
                "OFD.xml": "<OFD><DocBody><DocRoot>D.xml</DocRoot></DocBody></OFD>",
                "D.xml": "<Document><Pages/></Document>",
            },
            "file_no_text",
        ),
        (
            {
                "OFD.xml": "<OFD><DocBody><DocRoot>D.xml</DocRoot></DocBody></OFD>",
                "D.xml": "<Document><Pages><Page BaseLoc='p.xml'/></Pages></Document>",
                "p.xml": "<Page><TextObject",
            },
            "file_unreadable",
        ),
        ({"OFD.xml": "<!DOCTYPE x [<!ENTITY a 'b'>]><OFD/>"}, "file_unreadable"),
    ],
    ids=["no-docroot", "no-document", "no-text", "broken-page-xml", "doctype"],
)
def test_a_broken_ofd_is_a_finding(members: dict[str, bytes | str], code: str) -> None:
    document, findings = read_document_bytes(_zip(members), "a.ofd")
    assert document is None and _codes(findings) == [code]


def test_an_ofd_over_the_page_limit_is_too_complex() -> None:
    data = ofd_from_text("\n".join(str(i) for i in range(100)), lines_per_page=10)
    assert _codes(read_document_bytes(data, "a.ofd", DocumentLimits(max_pdf_pages=5))[1]) == [
        "file_too_complex"
    ]


# -- text encodings -----------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["gbk", "gb18030", "utf-8-sig"])
def test_chinese_text_in_gbk_gb18030_or_utf8_is_read(encoding: str) -> None:
    document, findings = read_document_bytes(SAMPLE_TEXT.encode(encoding), "报告.txt")
    assert findings == [] and document is not None
    assert document.paragraphs == SAMPLE_LINES


# -- where a paragraph came from ------------------------------------------------------------


def test_a_pdf_paragraph_says_its_page() -> None:
    text = "\n".join(f"这是第{i}行文字" for i in range(1, 91))
    document, _ = read_document_bytes(pdf_from_text(text), "a.pdf")
    assert document is not None
    assert document.where(0) == "第1页（第1段）"
    assert document.where(len(document.paragraphs) - 1).startswith("第3页")


def test_docx_tables_keep_rows_columns_and_merged_cells() -> None:
    document, findings = read_document_bytes(annual_report_docx(), "年报.docx")
    assert findings == [] and document is not None
    table3 = document.tables[1].grid()
    assert table3[1][3:] == ("自然人", "法人或其他组织", *["法人或其他组织"] * 4, "总计")
    assert table3[11][:3] == ("三、本年度办理结果", "（三）不予公开", "5.属于三类内部事务信息")
    cell_paragraph = document.paragraphs.index("申请人情况")
    assert document.where(cell_paragraph) == "表格2第1行第4列"


def test_a_docx_without_tables_reads_exactly_as_before() -> None:
    document, _ = read_document_bytes(docx_from_text(SAMPLE_TEXT), "a.docx")
    assert document is not None and document.tables == () and document.origins == ()


def test_a_nested_table_is_its_own_table() -> None:
    word = docx.Document()
    outer = word.add_table(rows=1, cols=2)
    outer.cell(0, 0).text = "外层"
    inner = outer.cell(0, 1).add_table(rows=1, cols=1)
    inner.cell(0, 0).text = "内层"
    out = io.BytesIO()
    word.save(out)
    document, _ = read_document_bytes(out.getvalue(), "a.docx")
    assert document is not None
    assert [t.grid() for t in document.tables] == [(("外层", ""),), (("内层",),)]
    assert document.where(document.paragraphs.index("内层")) == "表格2第1行第1列"


# -- scanned, encrypted, empty, garbage ---------------------------------------------------


def _pdf_page(draw: str) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4)
    if draw == "image":
        page.rect(72, 72, 400, 600, fill=1)
    page.showPage()
    page.save()
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "name", "code"),
    [
        (_pdf_page("image"), "扫描件.pdf", "file_no_text"),
        (_pdf_page("blank"), "空白.pdf", "file_no_text"),
        (b"", "a.docx", "file_empty"),
        (b"\x00" * 1000, "a.txt", "file_type_unsupported"),
        (b"PK\x03\x04" + b"\x00" * 100, "a.docx", "file_unreadable"),
    ],
    ids=["scanned-pdf", "blank-pdf", "empty", "nul-bytes", "zip-header-only"],
)
def test_a_file_without_readable_text_is_a_finding_not_a_crash(
    data: bytes, name: str, code: str
) -> None:
    document, findings = read_document_bytes(data, name)
    assert document is None and _codes(findings) == [code]
    assert findings[0].severity is Severity.ERROR


def test_an_over_long_line_is_cut_not_a_crash() -> None:
    document, findings = read_document_bytes(("公开" * 300_000).encode(), "a.txt")
    assert findings == [] and document is not None
    assert max(len(p) for p in document.paragraphs) <= DocumentLimits().max_line_chars


def test_text_too_big_to_fit_is_refused_before_it_is_decoded() -> None:
    data = b"a" * 50_000
    assert _codes(read_document_bytes(data, "a.txt", DocumentLimits(max_chars=10_000))[1]) == [
        "file_too_complex"
    ]


# -- zip bombs: a finding, in bounded memory --------------------------------------------------


@pytest.mark.parametrize(
    ("inflated_mib", "declared_mib"),
    [(1024, None), (1024, 1), (150, None)],
    ids=["1-GiB-declared", "1-GiB-declared-as-1-MiB", "150-MiB-under-the-size-limit"],
)
def test_a_zip_bomb_docx_is_refused_in_bounded_memory(
    inflated_mib: int, declared_mib: int | None
) -> None:
    bomb = zip_bomb_docx(inflated_mib, declared_mib=declared_mib)
    assert len(bomb) < 2 * MiB
    tracemalloc.start()
    try:
        document, findings = read_document_bytes(bomb, "炸弹.docx")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert document is None
    assert _codes(findings) in (["file_too_complex"], ["file_unreadable"])
    assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB while inflating {inflated_mib} MiB"


def test_a_zip_with_too_many_members_is_too_complex() -> None:
    members: dict[str, bytes | str] = {f"media/{i}.bin": b"" for i in range(50)}
    data = _zip({**members, "word/document.xml": "<w:document/>"})
    limits = DocumentLimits(max_zip_members=20)
    assert _codes(read_document_bytes(data, "a.docx", limits)[1]) == ["file_too_complex"]


# -- property-based: the extractors never raise --------------------------------------------

_OFD = ofd_from_text("南开区合作交流办\n2023年度报告\n2024年1月10日")
_DOCX_WITH_TABLES = annual_report_docx()
_REAL = [_OFD, _DOCX_WITH_TABLES, docx_from_text("短文"), "短文本".encode("gbk")]


@st.composite
def _damaged(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(_REAL)))
    for _ in range(draw(st.integers(1, 6))):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(0, len(data)))] if draw(st.booleans()) else data)


_XML = st.text(
    alphabet=st.sampled_from(list("<>/=\"' abcwpt:OFDocRotTxCdeXY0123.中文")), max_size=300
)


@st.composite
def _random_ofd(draw: st.DrawFn) -> bytes:
    return _zip({
        "OFD.xml": "<OFD><DocBody><DocRoot>D.xml</DocRoot></DocBody></OFD>",
        "D.xml": "<Document><Pages><Page BaseLoc='p.xml'/></Pages></Document>",
        "p.xml": draw(_XML),
    })  # fmt: skip


@st.composite
def _random_docx(draw: st.DrawFn) -> bytes:
    body = draw(_XML)
    return _zip({"word/document.xml": f'<w:document xmlns:w="w">{body}</w:document>'})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.one_of(st.binary(max_size=1024), _damaged(), _random_ofd(), _random_docx()),
    name=st.sampled_from(["a.ofd", "a.docx", "a.pdf", "a.txt", "a"]),
)
def test_any_bytes_give_a_document_or_findings_and_never_raise(data: bytes, name: str) -> None:
    document, findings = read_document_bytes(data, name)
    if document is None:
        assert findings and all(f.severity is Severity.ERROR for f in findings)
    else:
        assert document.kind in {"txt", "md", "docx", "pdf", "ofd"}
        assert all(p and p == p.strip() for p in document.paragraphs)
        assert all(document.where(i) for i in range(len(document.paragraphs)))
        for table in document.tables:
            assert len({len(row) for row in table.grid()}) <= 1
