"""Build DOCX and PDF files from text, for tests at every level.

docx_from_text(SAMPLE_PATH.read_text("utf-8"))   # one Word paragraph per line
small_docx(text)                                 # the same with no styles: ~3 KB, ~1 ms
sample_report(2021)                              # the sample as the report on 2021
write_padded_docx(path, text, size)              # the same, padded to about `size` bytes
pdf_from_text(text)                              # A4, STSong-Light, long lines wrapped
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import docx
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

SAMPLES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "samples"
SAMPLE_PATH = SAMPLES_DIR / "nankai-hezuojiaoliuban-2023-fazhi-report.txt"

PAD_PART = 100 * 1000 * 1000  # under the validator's zip-bomb bound per member
PDF_FONT = "STSong-Light"
_FONT_SIZE = 12
_LEADING = 18
_MARGIN = 56


def sample_report(year: int = 2023, mark: str = "") -> str:
    """The sample rule-of-law report (on 2023) as the same body's report on `year`, every
    year in it moved alike; `mark` makes the text differ without changing its years.
    One body files one report a year: tests that need several distinct filings take
    several years (`sample_metadata(period=str(year))`)."""
    text = SAMPLE_PATH.read_text("utf-8").replace("夯实理论根基", f"夯实理论根基{mark}")
    shift = year - 2023
    order = (2024, 2023, 2022) if shift > 0 else (2022, 2023, 2024)
    for found in order:
        text = text.replace(str(found), str(found + shift))
    return text


def livelihood_notice(day: date, lines: int = 3) -> str:
    """A 重大民生信息 item as a district office publishes it: one a day, each its own
    filing (an event kind: a body files many in a period)."""
    return "\n".join(
        [f"关于{day.month}月{day.day}日春季学期义务教育阶段招生工作的公告"]
        + ["按照就近入学原则，报名时间为3月1日至3月10日，请适龄儿童家长按时办理。"] * lines
    )


def docx_from_text(text: str) -> bytes:
    """The same bytes for the same text (python-docx stamps the zip's entries with the
    time of writing: two files written a second apart would differ)."""
    document = docx.Document()
    for line in text.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return _timeless(out.getvalue())


def _timeless(archive: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(archive)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, source.read(info))
    return out.getvalue()


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_SMALL_DOCX_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        "</Relationships>"
    ),
}


def small_docx(text: str) -> bytes:
    """A DOCX of only the parts a package needs (content types, its relationships, the
    main document), one paragraph per line: what `docx_from_text` makes without
    python-docx's 800 KB of styles, built in a millisecond, for tests that need many."""
    paragraphs = "".join(
        f'<w:p><w:r><w:t xml:space="preserve">{_xml_escape(line)}</w:t></w:r></w:p>'
        for line in text.splitlines()
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{_W}"><w:body>{paragraphs}</w:body></w:document>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name, content in {**_SMALL_DOCX_PARTS, "word/document.xml": document}.items():
            entry = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(entry, content)
    return out.getvalue()


def write_padded_docx(path: Path, text: str, size: int) -> Path:
    """A valid DOCX of `text` at `path`, about `size` bytes: padded with unreferenced,
    stored (uncompressed) parts of random bytes, written a megabyte at a time, so that
    validation reads only the text however large the file."""
    base = docx_from_text(text)
    padding = max(0, size - len(base) - 200)
    block = os.urandom(1024 * 1024)
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(path, "w") as out:
        for item in source.infolist():
            out.writestr(item, source.read(item.filename))
        for number, start in enumerate(range(0, padding, PAD_PART)):
            length = min(PAD_PART, padding - start)
            with out.open(zipfile.ZipInfo(f"word/media/padding{number}.bin"), "w") as part:
                for offset in range(0, length, len(block)):
                    part.write(block[: min(len(block), length - offset)])
    return path


def pdf_from_text(text: str) -> bytes:
    """Each line drawn left-aligned, wrapped to the page width; new pages as needed."""
    pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, invariant=True)
    width, height = A4
    y = height - _MARGIN
    page.setFont(PDF_FONT, _FONT_SIZE)
    for line in text.splitlines():
        for piece in wrap(line, width - 2 * _MARGIN) or [""]:
            if y < _MARGIN:
                page.showPage()
                page.setFont(PDF_FONT, _FONT_SIZE)
                y = height - _MARGIN
            page.drawString(_MARGIN, y, piece)
            y -= _LEADING
    page.save()
    return out.getvalue()


def wrap(line: str, max_width: float) -> list[str]:
    """`line` cut into pieces no wider than `max_width` points in the PDF font, as a word
    processor sets Chinese: no piece starts with closing punctuation (。，、 …) and none
    is a single character (each takes a character from the piece before). Without an
    embedded font PDFium drops a one-character text line, which real PDFs never lose."""
    pieces: list[str] = []
    current = ""
    for char in line:
        if current and pdfmetrics.stringWidth(current + char, PDF_FONT, _FONT_SIZE) > max_width:
            pieces.append(current)
            current = ""
        current += char
    pieces = [*pieces, current] if current else pieces
    for i in range(1, len(pieces)):
        while len(pieces[i - 1]) > 2 and (pieces[i][0] in _NO_LINE_START or len(pieces[i]) < 2):
            pieces[i - 1], pieces[i] = pieces[i - 1][:-1], pieces[i - 1][-1] + pieces[i]
    return pieces


_NO_LINE_START = "，。、；：？！）》」”’"


# -- OFD (GB/T 33190): a zip of XML ------------------------------------------------------

OFD_NS = "http://www.ofdspec.org/2016"


def ofd_from_text(text: str, lines_per_page: int = 40, *, reverse: bool = False) -> bytes:
    """One TextObject per line, 8 mm apart; `reverse` writes each page's objects bottom
    first, as some generators do, so a reader must order them by position."""
    lines = text.splitlines()
    pages = [lines[i : i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    placed = [
        [Placed(20, 20 + 8 * i, line, 4) for i, line in enumerate(page) if line.strip()]
        for page in pages
    ]
    return ofd_from_pages([list(reversed(page)) if reverse else page for page in placed])


@dataclass(frozen=True)
class Placed:
    """Text placed on an OFD page: its left edge and top in mm, its font size in mm."""

    x: float
    top: float
    text: str
    size: float = 3.5


def ofd_from_pages(pages: list[list[Placed]]) -> bytes:
    """An OFD of A4 pages, each text a TextObject of its own, in the order given."""
    members = {
        "OFD.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{OFD_NS}" Version="1.0" '
            'DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>test</ofd:DocID></ofd:DocInfo>'
            "<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"
        ),
        "Doc_0/Document.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document xmlns:ofd="{OFD_NS}">'
            "<ofd:CommonData><ofd:MaxUnitID>9999</ofd:MaxUnitID><ofd:PageArea>"
            "<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>"
            "<ofd:Pages>"
            + "".join(
                f'<ofd:Page ID="{n + 1}" BaseLoc="Pages/Page_{n}/Content.xml"/>'
                for n in range(len(pages) or 1)
            )
            + "</ofd:Pages></ofd:Document>"
        ),
    }
    for n, page in enumerate(pages or [[]]):
        objects = [
            f'<ofd:TextObject ID="{100 + i}" Boundary="{t.x} {t.top} {210 - t.x} {t.size * 2}" '
            f'Font="1" Size="{t.size}"><ofd:TextCode X="0" Y="{t.size * 1.5}">'
            f"{_xml_escape(t.text)}</ofd:TextCode></ofd:TextObject>"
            for i, t in enumerate(page)
        ]
        members[f"Doc_0/Pages/Page_{n}/Content.xml"] = (
            f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page xmlns:ofd="{OFD_NS}"><ofd:Content>'
            f'<ofd:Layer ID="2">{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
        )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            zf.writestr(name, content)
    return out.getvalue()


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# -- zip bombs -----------------------------------------------------------------------------

_MiB = 1024 * 1024


def raw_zip(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of (name, raw deflate data, declared uncompressed size, CRC-32)."""
    out = bytearray()
    central = bytearray()
    for name, data, size, crc in members:
        encoded = name.encode()
        offset = len(out)
        header = struct.pack(
            "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), min(size, 0xFFFFFFFF),
            len(encoded), 0,
        )  # fmt: skip
        out += header + encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data),
            min(size, 0xFFFFFFFF), len(encoded), 0, 0, 0, 0, 0, offset,
        ) + encoded  # fmt: skip
    end = struct.pack(
        "<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), len(out), 0
    )
    return bytes(out + central + end)


def _deflated(data: bytes, repeat: int = 1, tail: bytes = b"") -> tuple[bytes, int]:
    """Raw deflate of `data` repeated `repeat` times, then `tail`; built in O(len(data)):
    a full flush makes each repetition's compressed bytes identical."""
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = z.compress(data) + z.flush(zlib.Z_FULL_FLUSH)
    end = z.compress(tail) + z.flush()
    return block * repeat + end, len(data) * repeat + len(tail)


def zip_bomb_docx(inflated_mib: int, *, declared_mib: int | None = None) -> bytes:
    """A DOCX whose word/document.xml inflates to `inflated_mib` MiB: a paragraph whose
    text is that many spaces. Its declared size is the truth unless `declared_mib` lies."""
    members = []
    with zipfile.ZipFile(io.BytesIO(docx_from_text("表面上是一份正常的报告"))) as zf:
        for name in zf.namelist():
            if name != "word/document.xml":
                content = zf.read(name)
                data, size = _deflated(content)
                members.append((name, data, size, zlib.crc32(content)))
    head = (
        b'<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.'
        b'openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>'
    )
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    prefix = z.compress(head) + z.flush(zlib.Z_FULL_FLUSH)
    tail = b"</w:t></w:r></w:p></w:body></w:document>"
    spaces, size = _deflated(b" " * _MiB, repeat=inflated_mib, tail=tail)
    declared = len(head) + size if declared_mib is None else declared_mib * _MiB
    # The CRC is left 0: a reader that inflates the whole member finds it corrupt.
    members.append(("word/document.xml", prefix + spaces, declared, 0))
    return raw_zip(members)


# -- a 政府信息公开工作年度报告 (2023, the 2021 format) ------------------------------------------

ANNUAL_REPORT_TEXT = """南开区合作交流办2023年政府信息公开工作年度报告

本报告依据《中华人民共和国政府信息公开条例》编制。本报告中所列数据的统计期限自2023年1月1日起至2023年12月31日止。

一、总体情况
2023年，本单位认真贯彻落实政府信息公开工作要求，全年共收到政府信息公开申请6件，办理行政复议1件，未发生行政诉讼。
二、主动公开政府信息情况
[表二]
三、收到和处理政府信息公开申请情况
[表三]
四、政府信息公开行政复议、行政诉讼情况
[表四]
五、存在的主要问题及改进情况
一是信息公开的及时性有待提高；二是解读形式较为单一。下一步将健全工作机制，丰富解读形式。
六、其他需要报告的事项
本年度未收取信息处理费。索引号及联系方式见门户网站，办公电话022-23456789。
"""

T3_KEYS = (
    "natural_person", "commercial_enterprise", "research_institution",
    "social_welfare_organization", "legal_service_agency", "other_organization", "total",
)  # fmt: skip


def _t3_row(*values: object) -> dict[str, object]:
    return dict(zip(T3_KEYS, values, strict=True))


def annual_report_tables() -> dict[str, object]:
    """Tables 二, 三, 四 of the sample as metadata JSON; every identity holds."""
    blank = _t3_row(None, "", "/", None, None, "", None)
    return {
        "table2": {
            "rules": {"issued": 0, "repealed": 0, "in_force": 0},
            "normative_documents": {"issued": 1, "repealed": 0, "in_force": 3},
            "licensing": {"decisions": "/"},
            "penalties": {"decisions": 0},
            "coercion": {"decisions": 0},
            "fees": {"amount": 0},
        },
        "table3": {
            "new_received": _t3_row(4, 1, 0, 0, 1, 0, 6),
            "carried_over": _t3_row(1, 0, 0, 0, 0, 0, 1),
            "disclosed": _t3_row(2, 1, 0, 0, 0, 0, 3),
            "partially_disclosed": _t3_row(1, 0, 0, 0, 0, 0, 1),
            "withheld": [blank, blank, blank, _t3_row(1, 0, 0, 0, 0, 0, 1), *[blank] * 4],
            "unable_to_provide": [_t3_row(0, 0, 0, 0, 1, 0, 1), blank, blank],
            "not_processed": [blank] * 5,
            "other_handling": [blank] * 3,
            "total": _t3_row(4, 1, 0, 0, 1, 0, 6),
            "carried_forward": _t3_row(1, 0, 0, 0, 0, 0, 1),
        },
        "table4": {
            "reconsideration": {"upheld": 1, "corrected": 0, "other": 0, "pending": 0, "total": 1},
            "litigation_direct": {"upheld": 0, "corrected": 0, "other": 0, "pending": 0, "total": 0},
            "litigation_after_reconsideration": {
                "upheld": 0, "corrected": 0, "other": 0, "pending": 0, "total": 0,
            },
        },
    }  # fmt: skip


_T3_GROUPS = (
    ("withheld", "（三）不予公开", (
        "属于国家秘密", "其他法律行政法规禁止公开", "危及“三安全一稳定”", "保护第三方合法权益",
        "属于三类内部事务信息", "属于四类过程性信息", "属于行政执法案卷", "属于行政查询事项",
    )),
    ("unable_to_provide", "（四）无法提供", (
        "本机关不掌握相关政府信息", "没有现成信息需要另行制作", "补正后申请内容仍不明确",
    )),
    ("not_processed", "（五）不予处理", (
        "信访举报投诉类申请", "重复申请", "要求提供公开出版物", "无正当理由大量反复申请",
        "要求行政机关确认或重新出具已获取信息",
    )),
    ("other_handling", "（六）其他处理", (
        "申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "其他",
    )),
)  # fmt: skip


def _cell_text(value: object) -> str:
    return "" if value is None else str(value)


def _add_table3(word: Any, table3: dict[str, Any]) -> None:
    """Table 三 as Word draws it: three header rows, merged label cells."""
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
    table = word.add_table(rows=3 + len(rows), cols=10)
    table.style = "Table Grid"
    table.cell(0, 0).merge(
        table.cell(2, 2)
    ).text = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
    table.cell(0, 3).merge(table.cell(0, 9)).text = "申请人情况"
    table.cell(1, 3).merge(table.cell(2, 3)).text = "自然人"
    table.cell(1, 4).merge(table.cell(1, 8)).text = "法人或其他组织"
    table.cell(1, 9).merge(table.cell(2, 9)).text = "总计"
    # merges first (python-docx finds a cell in O(table size)), then texts row by row
    for r, (_, middle, sub, _) in enumerate(rows, start=3):
        if not middle:
            table.cell(r, 0).merge(table.cell(r, 2))
        elif not sub:
            table.cell(r, 1).merge(table.cell(r, 2))
    # the vertical merges: 三、本年度办理结果 over its rows, each group's name over its sub-rows
    first_result, last_result = 3 + 2, 3 + len(rows) - 2
    table.cell(first_result, 0).merge(table.cell(last_result, 0))
    r = first_result + 2
    for key, _, _ in _T3_GROUPS:
        table.cell(r, 1).merge(table.cell(r + len(table3[key]) - 1, 1))
        r += len(table3[key])
    grid = [row.cells for row in table.rows]
    for c, label in enumerate(("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")):
        grid[2][4 + c].text = label
    for r, (top, middle, sub, values) in enumerate(rows, start=3):
        for c, key in enumerate(T3_KEYS):
            grid[r][3 + c].text = _cell_text(values.get(key))
        if r == first_result or not middle:
            grid[r][0].text = top
        if middle and (r < first_result + 2 or r > last_result - 1 or sub.startswith("1.")):
            grid[r][1].text = middle
        if sub:
            grid[r][2].text = sub


def _add_table4(word: Any, table4: dict[str, Any]) -> None:
    outcomes = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    keys = ("upheld", "corrected", "other", "pending", "total")
    table = word.add_table(rows=4, cols=15)
    table.style = "Table Grid"
    table.cell(0, 0).merge(table.cell(0, 4)).text = "行政复议"
    table.cell(0, 5).merge(table.cell(0, 14)).text = "行政诉讼"
    for c, label in enumerate(outcomes):
        table.cell(1, c).merge(table.cell(2, c)).text = label
        table.cell(2, 5 + c).text = label
        table.cell(2, 10 + c).text = label
    table.cell(1, 5).merge(table.cell(1, 9)).text = "未经复议直接起诉"
    table.cell(1, 10).merge(table.cell(1, 14)).text = "复议后起诉"
    groups = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
    for g, group in enumerate(groups):
        for c, key in enumerate(keys):
            table.cell(3, g * 5 + c).text = _cell_text(table4[group].get(key))


def _add_table2(word: Any, table2: dict[str, Any]) -> None:
    sections = (
        ("第二十条第（一）项", ("本年制发件数", "本年废止件数", "现行有效件数"),
         (("规章", "rules"), ("行政规范性文件", "normative_documents")), ("issued", "repealed", "in_force")),
        ("第二十条第（五）项", ("本年处理决定数量",), (("行政许可", "licensing"),), ("decisions",)),
        ("第二十条第（六）项", ("本年处理决定数量",),
         (("行政处罚", "penalties"), ("行政强制", "coercion")), ("decisions",)),
        ("第二十条第（八）项", ("本年收费金额（单位：万元）",), (("行政事业性收费", "fees"),), ("amount",)),
    )  # fmt: skip
    table = word.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for heading, columns, rows, fields in sections:
        cells = table.add_row().cells
        cells[0].merge(cells[3]).text = heading
        for label, values in (
            ("信息内容", columns),
            *((lab, tuple(_cell_text(table2[key].get(f)) for f in fields)) for lab, key in rows),
        ):
            cells = table.add_row().cells
            cells[0].text = label
            if len(values) == 1:
                cells[1].merge(cells[3]).text = values[0]
            else:
                for c, value in enumerate(values):
                    cells[1 + c].text = value


def annual_report_docx(
    text: str = ANNUAL_REPORT_TEXT, tables: dict[str, Any] | None = None
) -> bytes:
    """The report as DOCX, its tables real Word tables (merged cells and all) where the
    text says [表二], [表三], [表四]."""
    data = tables or annual_report_tables()
    word = docx.Document()
    for line in text.splitlines():
        if line.strip() == "[表二]":
            _add_table2(word, data["table2"])
        elif line.strip() == "[表三]":
            _add_table3(word, data["table3"])
        elif line.strip() == "[表四]":
            _add_table4(word, data["table4"])
        else:
            word.add_paragraph(line)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()
