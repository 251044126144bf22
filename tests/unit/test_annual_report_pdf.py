"""A 年报 published as PDF, as most are: its tables read from the PDF cell by cell — a
table run over a page break joined, its repeated header rows dropped, cells with units
and marks read as numbers — and checked with the same identities as a DOCX's."""

from __future__ import annotations

import functools
import json
from datetime import date
from typing import Any

import pytest

from service.categories import content_rule
from service.domain.findings import Finding, Severity
from service.domain.metadata import FilingMetadata
from service.validation import Document, read_document_bytes, validate_filing
from tests.support.annual_report_pdf import annual_report_pdf
from tests.support.documents import annual_report_docx
from tests.unit.test_annual_report_tables import BROKEN, _set, _tables

ERROR, WARNING = Severity.ERROR, Severity.WARNING
# rows of table 三 before the page break, by the prose lines put before it
BREAKS = {0: "11 rows", 5: "6 rows, inside （三）不予公开", 8: "2 rows", 10: "1 row", 20: "20 rows"}


def _metadata() -> FilingMetadata:
    return FilingMetadata.model_validate(
        {
            "category": "gov_info_annual_report",
            "org_code": "11620300013909010R",
            "org_name": "南开区合作交流办",
            "period": "2023",
        }
    )


@functools.cache
def _pdf(tables: str, units: bool = False, padding: int = 0) -> Document:
    data = annual_report_pdf(tables=json.loads(tables), units=units, padding_lines=padding)
    document, findings = read_document_bytes(data, "年报.pdf", tables=True)
    assert findings == [] and document is not None
    return document


def _docx(tables: dict[str, Any]) -> Document:
    document, _ = read_document_bytes(annual_report_docx(tables=tables), "年报.docx")
    assert document is not None
    return document


def _findings(document: Document) -> list[Finding]:
    return validate_filing(
        document,
        _metadata(),
        None,
        content_rule=content_rule(_metadata()),
        received_on=date(2024, 1, 20),
    ).findings


def _codes(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return sorted((f.code, f.severity) for f in findings)


@pytest.mark.parametrize("padding", list(BREAKS), ids=list(BREAKS.values()))
@pytest.mark.parametrize("units", [False, True], ids=["plain-cells", "cells-with-units"])
def test_a_pdf_annual_report_with_a_table_over_a_page_break_is_checked_and_passes(
    padding: int, units: bool
) -> None:
    document = _pdf(json.dumps(_tables()), units, padding)
    table3 = document.tables[1]
    assert len(set(table3.pages)) == 2  # one table over two pages
    labels = [row for row in table3.grid() if "（七）总计" in "".join(row)]
    assert len(labels) == 1  # the repeated header rows dropped, no row twice
    assert _findings(document) == []


def test_a_pdf_annual_report_no_longer_goes_unchecked() -> None:
    findings = _findings(_pdf(json.dumps(_tables())))
    assert "gia_tables_not_checked" not in {f.code for f in findings}


@pytest.mark.parametrize(
    ("mutations", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
@pytest.mark.parametrize("padding", [0, 8], ids=["break-after-11-rows", "break-after-2-rows"])
def test_a_pdf_whose_table_breaks_an_identity_gets_the_same_finding_as_the_docx(
    mutations: Any, expected: list[tuple[str, Severity, str]], padding: int
) -> None:
    tables = _tables(*mutations)
    from_pdf = _findings(_pdf(json.dumps(tables), True, padding))
    from_docx = _findings(_docx(tables))
    assert _codes(from_pdf) == _codes(from_docx) == sorted((c, s) for c, s, _ in expected)
    for finding, (_, _, where) in zip(
        sorted(from_pdf, key=lambda f: (f.code, f.where or "")), sorted(expected), strict=True
    ):
        assert finding.where is not None and finding.where.startswith(where)
        assert "页）" in finding.where  # the cell, and the page it is on


def test_a_pdf_cell_names_its_table_row_column_and_page() -> None:
    tables = _tables(_set("table3.disclosed.natural_person", 3), _set("table3.disclosed.total", 4))
    (finding,) = _findings(_pdf(json.dumps(tables), True, 0))
    # （七）总计 is row 27 of the joined table, as in the Word table; it lies on page 2
    assert finding.where == "表三“三、（七）总计”行“自然人”列（表格2第27行第4列（第2页））"


def test_a_pdf_cell_that_is_no_number_is_reported_where_it_is() -> None:
    tables = _tables(_set("table3.new_received.commercial_enterprise", "一"))
    findings = _findings(_pdf(json.dumps(tables)))
    invalid = [f for f in findings if f.code == "gia_value_invalid"]
    assert [(f.where, f.excerpt) for f in invalid] == [("表格2第4行第5列（第1页）", "一")]


def test_table_cells_are_not_prose_so_the_narrative_check_does_not_read_them() -> None:
    document = _pdf(json.dumps(_tables()), True, 0)
    cells = {document.paragraphs[i] for i, o in enumerate(document.origins) if o.cell}
    prose = [p for i, p in enumerate(document.paragraphs) if document.origin(i).cell is None]
    assert "6件" in cells
    assert not any(p.startswith("一、本年新收") for p in prose)
