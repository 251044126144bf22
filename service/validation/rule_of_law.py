"""The rules for the annual rule-of-law report (法治政府建设情况报告, DOMAIN.md §2):
title, the four required parts, and the closing issuer and date."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.domain.findings import Finding
from service.validation.config import ValidationRules
from service.validation.lines import to_lines
from service.validation.rol_closing import closing_findings, find_closing
from service.validation.rol_items import content_findings
from service.validation.rol_title import find_title, title_findings


@dataclass(frozen=True)
class RuleOfLawCheck:
    findings: list[Finding]
    title: str | None


def check_rule_of_law(
    paragraphs: Sequence[str],
    *,
    levels: Sequence[int | None] = (),
    period_year: int | None,
    names: Sequence[str],
    received_on: date,
    rules: ValidationRules,
) -> RuleOfLawCheck:
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
    return RuleOfLawCheck(findings, title.text if title else None)
