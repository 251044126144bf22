"""A 年报's parts found by their headings, whatever wording a body uses, never by the
opening sentence that lists them; and its prose read against its tables."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from service.categories import content_rule
from service.domain.findings import Finding, Severity
from service.domain.metadata import FilingMetadata
from service.validation import Document, read_document_bytes, validate_filing
from tests.support.annual_report_pdf import annual_report_pdf, annual_report_variant_text
from tests.support.documents import ANNUAL_REPORT_TEXT, annual_report_tables

ERROR, WARNING = Severity.ERROR, Severity.WARNING


def _metadata(tables: dict[str, Any] | None) -> FilingMetadata:
    data: dict[str, Any] = {
        "category": "gov_info_annual_report",
        "org_code": "11620300013909010R",
        "org_name": "南开区合作交流办",
        "period": "2023",
    }
    if tables is not None:
        data["annual_report"] = tables
    return FilingMetadata.model_validate(data)


def _document(text: str) -> Document:
    lines = (line.strip() for line in text.splitlines())
    return Document("txt", "text/plain", tuple(p for p in lines if p and not p.startswith("[表")))


def _findings(
    document: Document, tables: dict[str, Any] | None = None, *, json_tables: bool = True
) -> list[Finding]:
    metadata = _metadata((tables or annual_report_tables()) if json_tables else None)
    return validate_filing(
        document, metadata, None, content_rule=content_rule(metadata), received_on=date(2024, 1, 20)
    ).findings


def _codes(findings: list[Finding]) -> set[tuple[str, Severity]]:
    return {(f.code, f.severity) for f in findings}


# -- the parts, by their headings -----------------------------------------------------------

PART_FOUR_WORDINGS = [
    "四、政府信息公开行政复议、行政诉讼情况",
    "四、因政府信息公开工作被申请行政复议、提起行政诉讼情况",
    "四、因政府信息公开工作被申请行政复议和提起行政诉讼情况",
    "四、因政府信息公开工作被申请行政复议提起行政诉讼情况",
    "四、政府信息公开行政复议和行政诉讼情况",
    "四、因政府信息公开申请行政复议、提起行政诉讼的情况",
]


@pytest.mark.parametrize("heading", PART_FOUR_WORDINGS)
def test_every_real_wording_of_part_four_is_part_four(heading: str) -> None:
    assert _findings(_document(annual_report_variant_text(heading))) == []


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("一、总体情况", "一、基本情况"),
        ("一、总体情况", "一、概述"),
        ("二、主动公开政府信息情况", "二、主动公开情况"),
        ("三、收到和处理政府信息公开申请情况", "三、依申请公开政府信息情况"),
        ("三、收到和处理政府信息公开申请情况", "三、收到和处理政府信息公开申请的情况"),
        ("五、存在的主要问题及改进情况", "五、政府信息公开工作存在的主要问题及改进情况"),
        ("五、存在的主要问题及改进情况", "五、存在的不足及改进措施"),
        ("六、其他需要报告的事项", "六、其他需要报告的情况"),
        ("六、其他需要报告的事项", "六、其他事项"),
    ],
)
def test_other_headings_a_body_writes_name_their_parts(old: str, new: str) -> None:
    assert _findings(_document(ANNUAL_REPORT_TEXT.replace(old, new))) == []


def test_parts_listed_in_the_opening_but_missing_are_missing() -> None:
    text = annual_report_variant_text(drop_parts=("五", "六"), opening_lists_parts=True)
    assert "存在的主要问题及改进情况、其他需要报告的事项报告如下" in text
    findings = _findings(_document(text))
    assert _codes(findings) == {("gia_missing_problems", ERROR), ("gia_missing_other", ERROR)}


def test_the_opening_that_lists_the_parts_is_no_part_when_all_are_there() -> None:
    text = annual_report_variant_text(opening_lists_parts=True)
    assert _findings(_document(text)) == []


def test_a_sub_heading_of_the_overview_does_not_stand_in_for_part_two() -> None:
    text = ANNUAL_REPORT_TEXT.replace("二、主动公开政府信息情况\n", "").replace(
        "一、总体情况\n", "一、总体情况\n（一）主动公开\n本年度主动公开政府信息120条。\n"
    )
    assert _codes(_findings(_document(text))) == {("gia_missing_proactive", ERROR)}


def test_a_pdf_whose_parts_five_and_six_are_only_listed_is_refused_too() -> None:
    text = annual_report_variant_text(drop_parts=("五", "六"), opening_lists_parts=True)
    document, _ = read_document_bytes(annual_report_pdf(text), "年报.pdf", tables=True)
    assert document is not None
    codes = _codes(_findings(document, json_tables=False))
    assert codes == {("gia_missing_problems", ERROR), ("gia_missing_other", ERROR)}


# -- the prose against the tables ----------------------------------------------------------


def _real_2019_tables() -> dict[str, Any]:
    """The numbers of a real 2019 report whose prose contradicts its tables (DOMAIN.md §3):
    272 disclosed + 3 partly; 265 + 47 + 25 unable to provide; 7 reconsiderations of
    which 2 still pending."""
    tables = copy.deepcopy(annual_report_tables())
    t3 = tables["table3"]

    def row(total: int) -> dict[str, Any]:
        return {"natural_person": total, "commercial_enterprise": 0, "research_institution": 0,
                "social_welfare_organization": 0, "legal_service_agency": 0,
                "other_organization": 0, "total": total}  # fmt: skip

    blank = row(0)
    t3["disclosed"], t3["partially_disclosed"] = row(272), row(3)
    t3["withheld"] = [blank] * 8
    t3["unable_to_provide"] = [row(265), row(47), row(25)]
    t3["not_processed"], t3["other_handling"] = [blank] * 5, [blank] * 3
    t3["new_received"], t3["carried_over"] = row(612), row(0)
    t3["total"], t3["carried_forward"] = row(612), row(0)
    tables["table4"]["reconsideration"] = {
        "upheld": 5, "corrected": 0, "other": 0, "pending": 2, "total": 7,
    }  # fmt: skip
    return tables


def _with_prose(sentence: str) -> str:
    return ANNUAL_REPORT_TEXT.replace(
        "全年共收到政府信息公开申请6件，办理行政复议1件，未发生行政诉讼。", sentence
    )


@pytest.mark.parametrize(
    ("sentence", "says", "cells"),
    [
        (
            "全年共收到政府信息公开申请612件，其中予以公开及部分公开258件。",
            "称 258",
            (
                "表三“三、（一）予以公开”行“总计”列",
                "表三“三、（二）部分公开”行“总计”列",
                "（272 + 3）",
            ),
        ),
        (
            "全年共收到政府信息公开申请612件，无法提供265件。",
            "称 265",
            ("表三“（四）无法提供”各行",),
        ),
        (
            "全年共收到政府信息公开申请612件。被申请行政复议7件，均获维持。",
            "称均维持",
            ("表四“行政复议”中结果纠正 0、其他结果 0、尚未审结 2",),
        ),
    ],
    ids=["disclosed-and-partly", "unable-to-provide", "all-upheld-but-two-pending"],
)
def test_a_sentence_that_contradicts_the_tables_is_a_warning_quoting_it_and_naming_the_cells(
    sentence: str, says: str, cells: tuple[str, ...]
) -> None:
    findings = _findings(_document(_with_prose(sentence)), _real_2019_tables())
    (finding,) = (f for f in findings if f.code == "gia_narrative_mismatch")
    assert finding.severity is WARNING
    assert _codes(findings) == {("gia_narrative_mismatch", WARNING)}
    assert says in finding.message_zh
    assert all(cell in finding.message_zh for cell in cells)
    quoted = finding.message_zh.split("”")[0].removeprefix("正文“")
    claim = next(s for s in sentence.split("。") if says.removeprefix("称 ") in s or "均" in s)
    assert quoted.endswith(claim.replace("，", ","))  # the whole sentence that says it
    assert finding.where == "第4段" and finding.excerpt and quoted.startswith(finding.excerpt)


@pytest.mark.parametrize(
    "sentence",
    [
        "全年共收到政府信息公开申请612件，其中予以公开272件、部分公开3件，无法提供337件。",
        "全年共受理政府信息公开申请612件，予以公开及部分公开275件。",
        "被申请行政复议7件，其中维持5件，尚未审结2件；未发生行政诉讼。",
        "本年度无法提供政府信息的申请共337件。",
    ],
)
def test_sentences_that_agree_with_the_tables_are_quiet(sentence: str) -> None:
    findings = _findings(_document(_with_prose(sentence)), _real_2019_tables())
    assert findings == []


@pytest.mark.parametrize(
    ("sentence", "cells"),
    [
        ("全年未发生行政复议。", "表四“行政复议”“总计”"),
        ("办理行政诉讼3件。", "表四“行政诉讼（未经复议直接起诉）”“总计”"),
        ("全年共收到政府信息公开申请6件，不予处理2件。", "表三“（五）不予处理”各行"),
    ],
)
def test_no_cases_stated_where_the_table_has_some_or_the_reverse_is_a_warning(
    sentence: str, cells: str
) -> None:
    findings = _findings(_document(_with_prose(sentence)))
    (finding,) = findings
    assert finding.code == "gia_narrative_mismatch" and cells in finding.message_zh


def test_a_pdf_annual_report_whose_prose_contradicts_its_table_gets_the_warning() -> None:
    tables = annual_report_tables()
    text = _with_prose("全年共收到政府信息公开申请6件，予以公开5件。")
    data = annual_report_pdf(text, json.loads(json.dumps(tables)), units=True)
    document, _ = read_document_bytes(data, "年报.pdf", tables=True)
    assert document is not None
    (finding,) = _findings(document, json_tables=False)
    assert finding.code == "gia_narrative_mismatch"
    assert "予以公开5件" in finding.message_zh
    assert "表三“三、（一）予以公开”行“总计”列（表格2第6行第10列（第1页））" in finding.message_zh
