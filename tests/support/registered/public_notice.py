"""A test-only kind of filing: a public notice (公示公告) of a decision to be made, kept
10 years, due 20 working days after it is formed, that must say how long it is open
(公示期) and whom to write to (联系方式). It goes to the portal and the notice board."""

from __future__ import annotations

from typing import Literal

from service.categories import CategorySpec
from service.domain.filing import Category, Destination
from service.domain.findings import Finding, error
from service.domain.metadata import FilingEnvelope
from service.validation.context import FilingContext, ValidationResult
from service.validation.deadlines import change_due
from service.validation.formats.documents import Document
from service.validation.lines import to_lines
from service.validation.outline import read_outline

PARTS = (("公示期", "public_notice_period_missing"), ("联系", "public_notice_contact_missing"))


class PublicNoticeMetadata(FilingEnvelope):
    category: Literal["public_notice"]  # type: ignore[assignment]


def public_notice_content(document: Document, filing: FilingContext) -> ValidationResult:
    lines = to_lines(document.paragraphs)
    title = lines[0].text if lines else None
    headings = [h.text for h in read_outline(lines[1:], document.levels).headings()]
    findings = [_missing(term, code) for term, code in PARTS if not _named(term, headings)]
    return ValidationResult(findings, title)


def _named(term: str, headings: list[str]) -> bool:
    return any(term in heading for heading in headings)


def _missing(term: str, code: str) -> Finding:
    return error(code, f"公示公告缺少“{term}”部分", f"The notice has no part on {term}")


def spec() -> CategorySpec:
    """Its entry; its code is defined only now (a test's fixture calls this, after the
    notice board's), so that no other test sees a kind that is not the service's."""
    notice = Category.define(
        "public_notice", "公示公告", "public notice", annual=False, retention=10
    )
    return CategorySpec(
        notice,
        PublicNoticeMetadata,
        public_notice_content,
        change_due,
        portal_channel="gsgg",
        routes=(Destination.PORTAL, Destination("notice_board")),
    )
