"""Checks on the submitted metadata that apply to every category."""

from __future__ import annotations

import re
from datetime import date

from service.domain.findings import Finding, error
from service.domain.metadata import FilingMetadata
from service.domain.org import is_valid_uscc

_YEAR = re.compile(r"\d{4}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def metadata_findings(metadata: FilingMetadata) -> list[Finding]:
    findings: list[Finding] = []
    if not is_valid_uscc(metadata.org_code):
        findings.append(
            error(
                "org_code_invalid",
                "统一社会信用代码无效（GB 32100-2015 校验未通过）",
                "The org_code is not a valid USCC (GB 32100-2015)",
                where="metadata.org_code",
                excerpt=metadata.org_code[:18],
            )
        )
    if not _period_valid(metadata):
        findings.append(_period_invalid(metadata))
    return findings


def period_year(metadata: FilingMetadata) -> int | None:
    """The reported year of an annual filing with a valid period, else None."""
    if metadata.category.annual and _valid_year(metadata.period):
        return int(metadata.period)
    return None


def _period_valid(metadata: FilingMetadata) -> bool:
    if metadata.category.annual:
        return _valid_year(metadata.period)
    return _valid_day(metadata.period)


def _valid_year(period: str) -> bool:
    """Four digits, no leading zero, and a following year that a calendar can hold."""
    return bool(_YEAR.fullmatch(period)) and 1000 <= int(period) < date.max.year


def _valid_day(period: str) -> bool:
    if not _DAY.fullmatch(period):
        return False
    try:
        date.fromisoformat(period)
    except ValueError:
        return False
    return True


def _period_invalid(metadata: FilingMetadata) -> Finding:
    if metadata.category.annual:
        zh, en = "应为四位年份，如 2023", "must be a four-digit year such as 2023"
    else:
        zh, en = (
            "应为日期 YYYY-MM-DD，如 2024-03-05",
            "must be a date YYYY-MM-DD such as 2024-03-05",
        )
    return error(
        "period_invalid",
        f"报送期间“{metadata.period}”{zh}（{metadata.category.label_zh}）",
        f"The period {metadata.period!r} {en} ({metadata.category.value})",
        where="metadata.period",
        excerpt=metadata.period[:40],
    )
