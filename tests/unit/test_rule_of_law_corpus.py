"""Rule-of-law reports as real bodies write them (tests/corpus/rule_of_law/): topic
headings, 「一、2022年工作情况」, every numbering style, the first-responsible-person part
first, nested or only a paragraph, plans titled 打算/计划/思路, a report without
headings, markdown. Every variant a real body could publish is accepted, as TXT, DOCX
and PDF; every variant missing an item is refused with that item's code."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from service.categories import content_rule
from service.domain.findings import Finding
from service.domain.metadata import FilingMetadata
from service.validation import Document, read_document_bytes, validate_filing
from tests.support.documents import docx_from_text, pdf_from_text

CORPUS = Path(__file__).resolve().parents[1] / "corpus" / "rule_of_law"
VERDICTS: dict[str, dict[str, Any]] = yaml.safe_load((CORPUS / "verdicts.yaml").read_text("utf-8"))
ACCEPTED = sorted(name for name, v in VERDICTS.items() if not v["expect_errors"])
REJECTED = sorted(name for name, v in VERDICTS.items() if v["expect_errors"])
FORMATS: dict[str, Callable[[str], bytes]] = {
    "txt": lambda text: text.encode(),
    "docx": docx_from_text,
    "pdf": pdf_from_text,
}


def _findings(name: str, kind: str) -> list[Finding]:
    verdict = VERDICTS[name]
    text = (CORPUS / name).read_text("utf-8")
    document, read = read_document_bytes(FORMATS[kind](text), f"report.{kind}")
    assert read == [] and isinstance(document, Document)
    metadata = FilingMetadata(
        category="rule_of_law_report",
        org_code="11620300013909010R",
        org_name=verdict["org_name"],
        period=verdict["period"],
    )
    deadline = date(int(verdict["period"]) + 1, 3, 31)
    return validate_filing(
        document, metadata, None, content_rule=content_rule(metadata), received_on=deadline
    ).findings


def test_the_corpus_covers_every_variant_the_issue_names() -> None:
    covered = {letter for name in ACCEPTED for letter in VERDICTS[name]["covers"]}
    assert covered == set("abcdefghi")
    assert set(VERDICTS) == {p.name for p in CORPUS.glob("*.txt")}
    missing = {code for name in REJECTED for code in VERDICTS[name]["expect_errors"]}
    assert missing == {
        "rol_missing_measures",
        "rol_missing_shortcomings",
        "rol_missing_first_responsible",
        "rol_missing_next_year_plan",
    }


@pytest.mark.parametrize("kind", list(FORMATS))
@pytest.mark.parametrize("name", ACCEPTED)
def test_a_report_a_real_body_could_publish_is_accepted_without_a_finding(
    name: str, kind: str
) -> None:
    assert [(f.code, f.where, f.excerpt) for f in _findings(name, kind)] == []


@pytest.mark.parametrize("kind", list(FORMATS))
@pytest.mark.parametrize("name", REJECTED)
def test_a_report_missing_an_item_is_refused_with_that_items_code(name: str, kind: str) -> None:
    errors = sorted(f.code for f in _findings(name, kind) if f.is_error)
    assert errors == sorted(VERDICTS[name]["expect_errors"])
