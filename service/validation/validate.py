"""Validating one filing: metadata checks for every category, then the content rules
of its category (so far only the rule-of-law report has any)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from service.domain.filing import Category
from service.domain.findings import Finding
from service.domain.metadata import FilingMetadata
from service.domain.org import Organisation
from service.validation.config import ValidationRules
from service.validation.documents import Document
from service.validation.lines import plain
from service.validation.metadata_checks import metadata_findings, period_year
from service.validation.rule_of_law import check_rule_of_law

DEFAULT_RULES = ValidationRules()


@dataclass(frozen=True)
class ValidationResult:
    findings: list[Finding]
    title: str | None  # the document's title as found (lines joined when split), else None


@dataclass(frozen=True)
class FilingContext:
    """What content rules look at besides the document."""

    metadata: FilingMetadata
    org: Organisation | None
    received_on: date
    rules: ValidationRules

    @property
    def names(self) -> tuple[str, ...]:
        """The body's names for matching an issuer: registry names first, then the
        name given in the metadata."""
        names = (*(self.org.names if self.org else ()), self.metadata.org_name)
        return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))


ContentRule = Callable[[Document, FilingContext], ValidationResult]


def validate_filing(
    document: Document,
    metadata: FilingMetadata,
    org: Organisation | None,
    *,
    received_on: date,
    rules: ValidationRules = DEFAULT_RULES,
) -> ValidationResult:
    findings = metadata_findings(metadata)
    rule = CONTENT_RULES.get(metadata.category)
    if rule is None:
        return ValidationResult(findings, None)
    content = rule(document, FilingContext(metadata, org, received_on, rules))
    return ValidationResult(findings + content.findings, content.title)


def _rule_of_law(document: Document, filing: FilingContext) -> ValidationResult:
    check = check_rule_of_law(
        document.paragraphs,
        period_year=period_year(filing.metadata),
        names=[plain(n) for n in filing.names],
        received_on=filing.received_on,
        rules=filing.rules,
    )
    return ValidationResult(check.findings, check.title)


CONTENT_RULES: dict[Category, ContentRule] = {Category.RULE_OF_LAW_REPORT: _rule_of_law}
