"""The 年报's tables: every identity checked cell by cell, from the metadata's JSON and
from a DOCX's real Word tables, cross-checked, and against last year's report."""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from service.categories import content_rule
from service.domain.findings import Finding, Severity
from service.domain.metadata import FilingMetadata
from service.validation import Document, read_document_bytes, validate_filing
from tests.support.documents import ANNUAL_REPORT_TEXT, annual_report_docx, annual_report_tables

ORG_CODE = "11620300013909010R"
RECEIVED = date(2024, 1, 20)
ERROR, WARNING = Severity.ERROR, Severity.WARNING
PLAIN_TEXT = "\n".join(l for l in ANNUAL_REPORT_TEXT.splitlines() if not l.startswith("[表"))  # noqa: E741


def _metadata(tables: dict[str, Any] | None, period: str = "2023") -> FilingMetadata:
    data: dict[str, Any] = {
        "category": "gov_info_annual_report",
        "org_code": ORG_CODE,
        "org_name": "南开区合作交流办",
        "period": period,
    }
    if tables is not None:
        data["annual_report"] = tables
    return FilingMetadata.model_validate(data)


def _text_document(text: str = PLAIN_TEXT) -> Document:
    lines = tuple(line.strip() for line in text.splitlines() if line.strip())
    return Document("txt", "text/plain; charset=utf-8", lines)


def _docx_document(tables: dict[str, Any], text: str = ANNUAL_REPORT_TEXT) -> Document:
    document, findings = read_document_bytes(_docx(text, json.dumps(tables)), "年报.docx")
    assert findings == [] and document is not None
    return document


@functools.cache
def _docx(text: str, tables: str) -> bytes:
    return annual_report_docx(text, json.loads(tables))


def _validate(
    document: Document,
    metadata: FilingMetadata,
    previous: FilingMetadata | None = None,
    received_on: date = RECEIVED,
) -> list[Finding]:
    return validate_filing(
        document,
        metadata,
        None,
        content_rule=content_rule(metadata),
        received_on=received_on,
        previous=previous,
    ).findings


def _summary(findings: list[Finding]) -> list[tuple[str, Severity, str]]:
    return sorted((f.code, f.severity, f.where or "") for f in findings)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set table cells by path, "table3.withheld.3.total" (list indexes count from 0)."""

    def mutate(tables: dict[str, Any]) -> None:
        *parts, last = path.split(".")
        target: Any = tables
        for part in parts:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def _tables(*mutations: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    tables = copy.deepcopy(annual_report_tables())
    for mutate in mutations:
        mutate(tables)
    return tables


# Each identity broken once: the codes and the cells they name.
BROKEN = [
    (
        "balance: 一+二 ≠ 三（七）+四 in 自然人 (and 总计, filled in all four rows)",
        (_set("table3.carried_over.natural_person", 2), _set("table3.carried_over.total", 2)),
        [
            ("gia_t3_balance", ERROR, "表三“总计”列 第一、二、三（七）、四行"),
            ("gia_t3_balance", ERROR, "表三“自然人”列 第一、二、三（七）、四行"),
        ],
    ),
    (
        "results total: （七）总计 ≠ the sum of the results in 自然人",
        (_set("table3.disclosed.natural_person", 3), _set("table3.disclosed.total", 4)),
        [("gia_t3_results_total", ERROR, "表三“三、（七）总计”行“自然人”列")],
    ),
    (
        "row total: 总计 ≠ the applicant columns in （二）部分公开",
        (_set("table3.partially_disclosed.total", 2),),
        [("gia_t3_row_total", ERROR, "表三“三、（二）部分公开”行“总计”列")],
    ),
    (
        "row total of a sub-row: （三）不予公开 4. in 总计",
        (_set("table3.withheld.3.total", 5),),
        [("gia_t3_row_total", ERROR, "表三“三、（三）不予公开 4.保护第三方合法权益”行“总计”列")],
    ),
    (
        "table 四: 行政复议 总计 ≠ its outcomes",
        (_set("table4.reconsideration.corrected", 1),),
        [("gia_t4_total", ERROR, "表四“行政复议”“总计”")],
    ),
    (
        "table 四: 复议后起诉 总计 ≠ its outcomes",
        (_set("table4.litigation_after_reconsideration.pending", 1),),
        [("gia_t4_total", ERROR, "表四“行政诉讼（复议后起诉）”“总计”")],
    ),
    (
        "a blank 总计 beside a non-zero cell is not filled: a warning",
        (_set("table3.withheld.3.total", "/"),),
        [
            (
                "gia_total_not_filled",
                WARNING,
                "表三“三、（三）不予公开 4.保护第三方合法权益”行“总计”列",
            )
        ],
    ),
    (
        "a blank 总计 in table 四 beside non-zero outcomes",
        (_set("table4.reconsideration.total", None),),
        [("gia_total_not_filled", WARNING, "表四“行政复议”“总计”")],
    ),
]


def test_the_sample_tables_pass_clean_as_json() -> None:
    assert _validate(_text_document(), _metadata(annual_report_tables())) == []


def test_the_sample_as_docx_with_real_word_tables_passes_clean_with_and_without_json() -> None:
    document = _docx_document(annual_report_tables())
    assert len(document.tables) == 3
    assert _validate(document, _metadata(None)) == []
    assert _validate(document, _metadata(annual_report_tables())) == []


@pytest.mark.parametrize(
    ("mutations", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_identity_in_the_json_is_reported_cell_by_cell(
    mutations: tuple[Callable[[dict[str, Any]], None], ...],
    expected: list[tuple[str, Severity, str]],
) -> None:
    findings = _validate(_text_document(), _metadata(_tables(*mutations)))
    assert _summary(findings) == sorted(expected)
    assert all(f.message_zh.startswith(("表三", "表四")) for f in findings)


@pytest.mark.parametrize(
    ("mutations", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_a_broken_identity_in_a_docx_is_reported_with_its_word_cell(
    mutations: tuple[Callable[[dict[str, Any]], None], ...],
    expected: list[tuple[str, Severity, str]],
) -> None:
    findings = _validate(_docx_document(_tables(*mutations)), _metadata(None))
    assert [(c, s) for c, s, _ in _summary(findings)] == [(c, s) for c, s, _ in sorted(expected)]
    for finding, (_, _, where) in zip(
        sorted(findings, key=lambda f: (f.code, f.where or "")), sorted(expected), strict=True
    ):
        assert finding.where is not None and finding.where.startswith(where)
        assert "（表格" in finding.where  # and the Word cell: （表格2第14行第4列）


def test_the_results_total_names_the_word_cell_of_the_total_row() -> None:
    tables = _tables(_set("table3.disclosed.natural_person", 3), _set("table3.disclosed.total", 4))
    (finding,) = _validate(_docx_document(tables), _metadata(None))
    # table 三 is the document's second table; （七）总计 is its 27th row, 自然人 the 4th column
    assert finding.where == "表三“三、（七）总计”行“自然人”列（表格2第27行第4列）"
    assert (
        finding.message_zh == "表三“三、（七）总计”行“自然人”列为 4，但（一）至（六）各项之和为 5"
    )


def test_a_docx_cell_that_differs_from_the_json_is_a_mismatch_naming_both() -> None:
    document = _docx_document(_tables(_set("table3.disclosed.natural_person", 3)))
    findings = _validate(document, _metadata(annual_report_tables()))
    assert [(f.code, f.where) for f in findings] == [
        ("gia_table_mismatch", "表三“三、（一）予以公开”行“自然人”列（表格2第6行第4列）")
    ]
    assert findings[0].message_zh.endswith("文档中为 3，元数据中为 2")


@pytest.mark.parametrize(
    ("mutation", "where"),
    [
        (_set("table4.reconsideration.upheld", 0), "表四“行政复议”“结果维持”（表格3第4行第1列）"),
        (_set("table2.normative_documents.in_force", 4), "表二“规章”行"),
    ],
    ids=["table-4", "table-2"],
)
def test_tables_2_and_4_are_cross_checked_too(
    mutation: Callable[[dict[str, Any]], None], where: str
) -> None:
    findings = _validate(_docx_document(_tables(mutation)), _metadata(annual_report_tables()))
    mismatches = [f for f in findings if f.code == "gia_table_mismatch"]
    assert len(mismatches) == 1
    if where.startswith("表二"):
        assert mismatches[0].where == "表二“规范性文件”行“现行有效件数”（表格1第4行第4列）"
    else:
        assert mismatches[0].where == where


def test_a_cell_that_is_no_number_names_its_word_cell() -> None:
    document = _docx_document(_tables(_set("table3.new_received.commercial_enterprise", "一")))
    findings = _validate(document, _metadata(None))
    invalid = [f for f in findings if f.code == "gia_value_invalid"]
    assert [(f.where, f.excerpt) for f in invalid] == [("表格2第4行第5列", "一")]


def test_a_docx_whose_table_lacks_a_row_says_which() -> None:
    text = ANNUAL_REPORT_TEXT
    tables = _tables()
    document = _docx_document(tables, text)
    # drop the （七）总计 row from the Word table
    table3 = document.tables[1]
    rows = tuple(r for r in table3.rows if not any("（七）总计" in c.text for c in r))
    stripped = Document(
        document.kind,
        document.media_type,
        document.paragraphs,
        document.origins,
        (document.tables[0], type(table3)(table3.index, rows), document.tables[2]),
    )
    codes = {(f.code, f.message_zh) for f in _validate(stripped, _metadata(None))}
    assert ("gia_table_shape", "文档中的表三缺少“三、（七）总计”行（2021年格式）") in codes


def test_blanks_and_slashes_count_as_zero() -> None:
    tables = _tables(
        _set("table3.new_received.research_institution", "/"),
        _set("table3.carried_over.research_institution", ""),
    )
    assert _validate(_text_document(), _metadata(tables)) == []


def test_a_total_column_filled_only_for_rows_one_two_seven_and_four_warns_not_errs() -> None:
    details = ("disclosed", "partially_disclosed")
    tables = _tables(*(_set(f"table3.{row}.total", None) for row in details))
    findings = _validate(_text_document(), _metadata(tables))
    assert _summary(findings) == [
        ("gia_total_not_filled", WARNING, "表三“三、（一）予以公开”行“总计”列"),
        ("gia_total_not_filled", WARNING, "表三“三、（二）部分公开”行“总计”列"),
    ]


# -- the 2019 trial format ----------------------------------------------------------------


def _tables_2019() -> dict[str, Any]:
    tables = _tables()
    blank = tables["table3"]["other_handling"][0]
    tables["table3"]["other_handling"] = [blank]  # one row in the 2019 format
    tables["table2"] = {
        "rules": {"made": 0, "published": 0, "total_published": 2},
        "normative_documents": {"made": 1, "published": 1, "total_published": 3},
        "licensing": {"previous_items": 12, "change": -2, "decisions": 30},
        "other_services": {"previous_items": 0, "change": 0, "decisions": 0},
        "penalties": {"previous_items": 3, "change": 0, "decisions": 1},
        "coercion": {"previous_items": 0, "change": 0, "decisions": 0},
        "fees": {"previous_items": 1, "change": 0},
        "procurement": {"items": 2, "amount": 15.5},
    }
    return tables


def test_a_2020_report_in_the_2019_format_passes_clean() -> None:
    text = PLAIN_TEXT.replace("2023", "2020")
    metadata = _metadata(_tables_2019(), period="2020")
    assert _validate(_text_document(text), metadata, received_on=date(2021, 1, 20)) == []


def test_a_2020_report_with_the_2021_rows_is_the_wrong_shape() -> None:
    text = PLAIN_TEXT.replace("2023", "2020")
    tables = _tables_2019()
    tables["table3"]["other_handling"] = _tables()["table3"]["other_handling"]
    findings = _validate(
        _text_document(text), _metadata(tables, period="2020"), received_on=date(2021, 1, 20)
    )
    assert [(f.code, f.where) for f in findings] == [
        ("gia_table_shape", "metadata.annual_report.table3.other_handling")
    ]


def test_a_2023_report_with_2019_columns_in_table_two_warns() -> None:
    tables = _tables(_set("table2.rules", {"made": 1, "published": 1, "total_published": 1}))
    findings = _validate(_text_document(), _metadata(tables))
    assert [(f.code, f.severity) for f in findings] == [("gia_t2_format", WARNING)]


# -- last year's report ---------------------------------------------------------------------


def test_carried_over_must_equal_last_years_carried_forward() -> None:
    last_year = _metadata(_tables(_set("table3.carried_forward.natural_person", 2), _set("table3.carried_forward.total", 2)), period="2022")  # fmt: skip
    findings = _validate(_text_document(), _metadata(annual_report_tables()), previous=last_year)
    assert _summary(findings) == [
        ("gia_carry_over_mismatch", WARNING, "表三“二、上年结转”行“总计”列"),
        ("gia_carry_over_mismatch", WARNING, "表三“二、上年结转”行“自然人”列"),
    ]


def test_matching_carry_over_and_no_last_year_are_both_quiet() -> None:
    last_year = _metadata(annual_report_tables(), period="2022")
    assert _validate(_text_document(), _metadata(annual_report_tables()), previous=last_year) == []
    without_tables = _metadata(None, period="2022")
    assert (
        _validate(_text_document(), _metadata(annual_report_tables()), previous=without_tables)
        == []
    )


def test_the_table_json_is_part_of_the_published_schema() -> None:
    from service.schemas import documents

    schema = documents()["metadata.gov_info_annual_report.schema.json"]
    assert {"AnnualReportData", "RequestTable", "RequestRow", "CaseTable", "ProactiveTable"} <= set(
        schema["$defs"]
    )
