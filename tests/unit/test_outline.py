"""The outline every category's rules read: parts, their headings and ranks, their
paragraphs, from numbering, markdown or Word heading styles."""

from __future__ import annotations

import io

import docx

from service.categories import content_rule
from service.validation import read_document_bytes, validate_filing
from service.validation.lines import to_lines
from service.validation.outline import Outline, read_outline
from tests.unit.test_rule_of_law import RECEIVED, SAMPLE, _metadata


def _outline(text: str) -> Outline:
    return read_outline(to_lines([line for line in text.splitlines() if line.strip()]))


def _shape(outline: Outline) -> list[tuple[str, list[str]]]:
    return [(p.heading.text, [c.heading.text for c in p.children]) for p in outline.parts]


def test_numbered_headings_nest_by_their_numbering() -> None:
    outline = _outline(
        "开头一段。\n一、甲\n（一）子一\n1.细目\n（1）更细\n（二）子二\n二、乙\n正文。\n第三部分 丙"
    )
    assert [line.text for line in outline.preamble] == ["开头一段。"]
    assert _shape(outline) == [("甲", ["子一", "子二"]), ("乙", []), ("丙", [])]
    first = outline.parts[0].children[0]
    assert [c.heading.text for c in first.children] == ["细目"]
    assert [c.heading.text for c in first.children[0].children] == ["更细"]


def test_a_run_in_heading_is_its_words_up_to_the_full_stop_and_its_text_counts() -> None:
    outline = _outline("一、工作\n1.加强组织领导。成立了领导小组，全年召开会议4次。")
    (section,) = outline.parts[0].children
    assert section.heading.text == "加强组织领导"
    assert section.content_chars == len("成立了领导小组,全年召开会议4次。")


def test_a_document_that_starts_at_a_deeper_numbering_still_has_parts() -> None:
    assert _shape(_outline("（一）甲\n1.子\n（二）乙")) == [("甲", ["子"]), ("乙", [])]


def test_markdown_headings_nest_by_their_marks_and_numbering_wins() -> None:
    outline = _outline("## 主要成效\n### 加强学习\n正文。\n## 存在的问题\n## 一、下一步打算")
    assert _shape(outline) == [("主要成效", ["加强学习"]), ("存在的问题", []), ("下一步打算", [])]


def test_short_lines_are_parts_only_where_nothing_is_numbered() -> None:
    assert _shape(_outline("主要成效\n正文一。\n存在的问题\n正文二。")) == [
        ("主要成效", []),
        ("存在的问题", []),
    ]
    numbered = _outline("一、主要成效\n加强组织领导\n正文一。\n二、存在的问题")
    assert _shape(numbered) == [("主要成效", []), ("存在的问题", [])]


def _styled_report() -> bytes:
    """The sample as Word writes it with heading styles and automatic numbering: the
    headings' text has no 一、 of its own."""
    lines = [line.strip() for line in SAMPLE.splitlines() if line.strip()]
    word = docx.Document()
    for line in lines:
        if line[:2] in ("一、", "二、", "三、", "四、"):
            word.add_heading(line[2:], level=1)
        else:
            word.add_paragraph(line)
    out = io.BytesIO()
    word.save(out)
    return out.getvalue()


def test_word_heading_styles_give_the_outline_levels() -> None:
    document, findings = read_document_bytes(_styled_report(), "报告.docx")
    assert findings == [] and document is not None
    levels = [document.origin(i).level for i, p in enumerate(document.paragraphs)]
    headed = [p for p, level in zip(document.paragraphs, levels, strict=True) if level == 1]
    assert headed[0] == "2023年推进法治政府建设的主要举措和成效"
    assert len(headed) == 4


def test_a_report_whose_headings_are_only_word_styles_validates_like_the_sample() -> None:
    document, _ = read_document_bytes(_styled_report(), "报告.docx")
    assert document is not None
    assert (
        validate_filing(
            document,
            _metadata(),
            None,
            content_rule=content_rule(_metadata()),
            received_on=RECEIVED,
        ).findings
        == []
    )


def test_without_its_plan_part_a_styled_report_is_refused_for_the_plan() -> None:
    word = docx.Document(io.BytesIO(_styled_report()))
    body = word.element.body
    paragraphs = list(word.paragraphs)
    start = next(i for i, p in enumerate(paragraphs) if p.text.startswith("2024年推进"))
    for paragraph in paragraphs[start : start + 2]:
        body.remove(paragraph._element)
    out = io.BytesIO()
    word.save(out)
    document, _ = read_document_bytes(out.getvalue(), "报告.docx")
    assert document is not None
    findings = validate_filing(
        document, _metadata(), None, content_rule=content_rule(_metadata()), received_on=RECEIVED
    ).findings
    assert [f.code for f in findings] == ["rol_missing_next_year_plan"]
