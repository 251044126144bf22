"""A 年报 published as OFD: its tables read from where the text layer places each cell
(OFD has no table structure), checked with the same identities as a DOCX's; an OFD
whose text layer holds no table still says its tables were not checked."""

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
from tests.support.annual_report_ofd import annual_report_ofd
from tests.support.documents import ANNUAL_REPORT_TEXT, annual_report_docx, ofd_from_text
from tests.unit.test_annual_report_tables import BROKEN, _tables

METADATA = FilingMetadata.model_validate(
    {
        "category": "gov_info_annual_report",
        "org_code": "11620300013909010R",
        "org_name": "南开区合作交流办",
        "period": "2023",
    }
)


@functools.cache
def _read(data: bytes, name: str) -> Document:
    document, findings = read_document_bytes(data, name, tables=True)
    assert findings == [] and document is not None
    return document


def _findings(document: Document) -> list[Finding]:
    return validate_filing(
        document, METADATA, None, content_rule=content_rule(METADATA), received_on=date(2024, 1, 20)
    ).findings


def _codes(findings: list[Finding]) -> list[tuple[str, Severity]]:
    return sorted((f.code, f.severity) for f in findings)


@pytest.mark.parametrize("units", [False, True], ids=["plain-cells", "cells-with-units"])
def test_an_ofd_annual_report_has_its_tables_read_and_passes(units: bool) -> None:
    document = _read(annual_report_ofd(units=units), "年报.ofd")
    assert len(document.tables) == 3
    assert _findings(document) == []


@pytest.mark.parametrize(
    ("mutations", "expected"), [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN]
)
def test_an_ofd_whose_table_breaks_an_identity_gets_the_same_finding_as_the_docx(
    mutations: Any, expected: list[tuple[str, Severity, str]]
) -> None:
    tables = _tables(*mutations)
    from_ofd = _findings(_read(annual_report_ofd(tables=tables), "年报.ofd"))
    from_docx = _findings(_read(annual_report_docx(tables=tables), "年报.docx"))
    assert _codes(from_ofd) == _codes(from_docx) == sorted((c, s) for c, s, _ in expected)
    assert all("页）" in (f.where or "") for f in from_ofd)


def test_an_ofd_without_tables_in_its_text_layer_says_they_were_not_checked() -> None:
    text = "\n".join(l for l in ANNUAL_REPORT_TEXT.splitlines() if not l.startswith("[表"))  # noqa: E741
    (finding,) = _findings(_read(ofd_from_text(text), "年报.ofd"))
    assert finding.code == "gia_tables_not_checked"
    assert "OFD" in finding.message_zh


def test_prose_stays_prose_around_the_tables() -> None:
    document = _read(annual_report_ofd(), "年报.ofd")
    prose = [p for i, p in enumerate(document.paragraphs) if document.origin(i).cell is None]
    assert "三、收到和处理政府信息公开申请情况" in prose
    assert not any("本年新收" in p for p in prose)
    assert json.dumps(prose, ensure_ascii=False).count("自然人") == 0
