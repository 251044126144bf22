"""The rules for the annual rule-of-law report (法治政府建设情况报告, DOMAIN.md §2):
title, the four required parts, and the closing issuer and date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from service.validation.config import ValidationRules
from service.validation.context import FilingContext, ValidationResult
from service.validation.formats.documents import Document
from service.validation.lines import plain, to_lines
from service.validation.metadata_checks import period_year
from service.validation.rule_of_law.closing import closing_findings, find_closing
from service.validation.rule_of_law.items import content_findings
from service.validation.rule_of_law.title import find_title, title_findings


def rule_of_law_content(document: Document, filing: FilingContext) -> ValidationResult:
    return check_rule_of_law(
        document.paragraphs,
        levels=document.levels,
        period_year=period_year(filing.metadata),
        names=[plain(n) for n in filing.names],
        received_on=filing.received_on,
        rules=filing.rules,
    )


def check_rule_of_law(
    paragraphs: Sequence[str],
    *,
    levels: Sequence[int | None] = (),
    period_year: int | None,
    names: Sequence[str],
    received_on: date,
    rules: ValidationRules,
) -> ValidationResult:
    """`period_year` is None when the metadata's period is invalid: the checks that
    compare against it are skipped (period_invalid already says why). `levels`: each
    paragraph's outline level where the document's styles give one."""
    lines = to_lines(paragraphs)
    title = find_title(lines)
    closing = find_closing(lines)
    start = lines.index(title.lines[-1]) + 1 if title else 0
    findings = title_findings(title, period_year)
    findings += content_findings(lines[start : max(start, closing.start)], period_year, levels)
    findings += closing_findings(
        closing,
        period_year=period_year,
        names=names,
        received_on=received_on,
        rules=rules,
    )
    return ValidationResult(findings, title.text if title else None)
