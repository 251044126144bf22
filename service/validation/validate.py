"""Validating one filing: metadata checks for every category, the content rules of its
category, the 保密审查 record when it is bound for the portal, and the personal-data
and secrecy scan of everything in it.

    result = validate_filing(document, metadata, org, content_rule=content_rule(metadata),
                             received_on=date(2024, 1, 12), rules=rules,
                             previous=last_years_metadata, require_review=True)
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation
from service.validation.config import ValidationRules
from service.validation.context import ContentRule, FilingContext, ValidationResult
from service.validation.formats.documents import Document
from service.validation.metadata_checks import metadata_findings
from service.validation.review import review_findings
from service.validation.scan import Text, scan

__all__ = ["FilingContext", "ValidationResult", "validate_filing"]

DEFAULT_RULES = ValidationRules()


def validate_filing(
    document: Document,
    metadata: FilingMetadata,
    org: Organisation | None,
    *,
    content_rule: ContentRule,
    received_on: date,
    rules: ValidationRules = DEFAULT_RULES,
    previous: FilingMetadata | None = None,
    require_review: bool = False,
    public: bool = True,
) -> ValidationResult:
    """`content_rule`: its kind's (service.categories.content_rule(metadata)).
    `require_review`: the filing is bound for the portal and needs its 保密审查 record.
    `public`: scan for personal data too (the secrecy markings are always looked for).
    `previous`: last period's filing of this body and kind, for cross-year checks."""
    findings = metadata_findings(metadata)
    if require_review:
        findings += review_findings(metadata.review, received_on=received_on)
    filing = FilingContext(metadata, org, received_on, rules, previous)
    content = content_rule(document, filing)
    findings += content.findings
    findings += scan(_texts(document, metadata), own_codes=[metadata.org_code], personal=public)
    return ValidationResult(findings, content.title)


def _texts(document: Document, metadata: FilingMetadata) -> Iterator[Text]:
    """Every paragraph (table cells included, with their table's header row and their
    own row as context) and every free-text value of the category's metadata."""
    grids = {table.index: table.grid() for table in document.tables}
    for i, paragraph in enumerate(document.paragraphs):
        cell = document.origin(i).cell
        context = ""
        if cell is not None and grids.get(cell[0]):
            grid, row = grids[cell[0]], cell[1]
            # the header row says what the columns hold (姓名, 住址 …); the row whose they are
            context = " ".join((*grid[0], *(grid[row] if row < len(grid) else ())))
        yield Text(paragraph, document.where(i), context)
    details = metadata.model_dump(include={"leadership", "organization", "livelihood"})
    yield from _metadata_texts(details, "metadata")


def _metadata_texts(value: Any, path: str) -> Iterator[Text]:
    if isinstance(value, str):
        yield Text(value, path)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _metadata_texts(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _metadata_texts(item, f"{path}[{i}]")
