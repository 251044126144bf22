"""The closing of a rule-of-law report: the issuer and the date in its last lines.

南开区合作交流办党组            ← issuer (the body, its 党组/党委, or a joint 党委+政府)
2024年1月10日                  ← date, Arabic or Chinese numerals
（此件公开发布）                 ← notes after the date are ignored
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from service.domain.findings import Finding, error, warning
from service.validation.config import ValidationRules
from service.validation.dates import DateMention, find_dates
from service.validation.lines import NUMBERING, SENTENCE_MARKS, Line, excerpt

WHERE = "落款"
WHERE_RECEIVED = "报送日期"
_TAIL_LINES = 8
_CLOSING_LINE_MAX = 40
_MAX_ISSUER_LINES = 3
_DATE_TRAILER_MAX = 2  # "2024年1月10日）" — a bracket may follow the date, words may not

_SUFFIX = re.compile(r"(机关党委|党组|党委|机关|党总支|党支部)+$")
_PARTY_PREFIX = re.compile(r"^(中共|中国共产党)")
_NOT_ISSUER = re.compile(r"^(特此|此致|以上|附件|\()")
_MIN_SHORT_FORM = 2


@dataclass(frozen=True)
class Closing:
    date_line: Line | None
    date: DateMention | None
    issuers: tuple[str, ...]  # plain forms of the issuer line(s), top to bottom
    start: int  # the position of its first line among the lines read; their count when none


def find_closing(lines: Sequence[Line]) -> Closing:
    tail = list(lines[-_TAIL_LINES:])
    offset = len(lines) - len(tail)
    for pos in range(len(tail) - 1, -1, -1):
        mention = _closing_date(tail[pos])
        if mention is not None:
            prefix = tail[pos].plain[: mention.start]
            above = _issuers_above(tail[:pos])
            issuers = (*above, prefix) if len(prefix) >= 2 else above
            return Closing(tail[pos], mention, issuers, offset + pos - len(above))
    above = _issuers_above(tail)
    return Closing(None, None, above, len(lines) - len(above))


def closing_findings(
    closing: Closing,
    *,
    period_year: int | None,
    names: Sequence[str],
    received_on: date,
    rules: ValidationRules,
) -> list[Finding]:
    findings = _date_findings(closing, period_year, rules)
    findings += _issuer_findings(closing, names)
    if period_year is not None and received_on > (due := rules.rule_of_law_due(period_year)):
        findings.append(_received_late(received_on, due))
    return findings


def issuer_matches(issuer: str, names: Sequence[str]) -> bool:
    """The issuer contains a name (with or without 党组/党委/机关), or a name contains
    the issuer stripped of those (a short form: 合作交流办党组 for 南开区合作交流办)."""
    core = _PARTY_PREFIX.sub("", _SUFFIX.sub("", issuer))
    for name in names:
        bare = _SUFFIX.sub("", name)
        if (bare and bare in issuer) or (name and name in issuer):
            return True
        if len(core) >= _MIN_SHORT_FORM and core in name:
            return True
    return False


def _closing_date(line: Line) -> DateMention | None:
    text = line.plain
    if len(text) > _CLOSING_LINE_MAX or text.endswith("。"):
        return None
    mentions = find_dates(text)
    if not mentions or len(text) - mentions[-1].end > _DATE_TRAILER_MAX:
        return None
    return mentions[-1]


def _issuers_above(lines: Sequence[Line]) -> tuple[str, ...]:
    found: list[str] = []
    for line in reversed(lines):
        if len(found) == _MAX_ISSUER_LINES or not _issuer_like(line.plain):
            break
        found.insert(0, line.plain)
    return tuple(found)


def _issuer_like(text: str) -> bool:
    return (
        2 <= len(text) <= _CLOSING_LINE_MAX
        and not SENTENCE_MARKS.search(text)
        and not NUMBERING.match(text)
        and not _NOT_ISSUER.match(text)
        and not find_dates(text)
    )


def _date_findings(
    closing: Closing, period_year: int | None, rules: ValidationRules
) -> list[Finding]:
    if closing.date is None:
        return [
            error(
                "rol_date_missing",
                "落款缺少成文日期（如 2024年1月10日）",
                "The closing has no date",
                where=WHERE,
            )
        ]
    written, value = closing.date.text, closing.date.value
    if value is None:
        return [
            error(
                "rol_date_invalid",
                f"落款日期 {written} 不是有效日期",
                f"The closing date {written} is not a real date",
                where=WHERE,
                excerpt=excerpt(written),
            )
        ]
    if period_year is None:
        return []
    if value <= date(period_year, 12, 31):
        return [
            error(
                "rol_date_before_period_end",
                f"落款日期 {written} 早于或等于报告年度 {period_year} 年末",
                f"The closing date {value} is not after the end of {period_year}",
                where=WHERE,
                excerpt=excerpt(written),
            )
        ]
    due = rules.rule_of_law_due(period_year)
    if value <= due:
        return []
    return [
        warning(
            "rol_late",
            f"落款日期 {written} 晚于公开期限 {due}（逾期）",
            f"Late: the report is dated {value}, after the deadline {due}",
            where=WHERE,
            excerpt=excerpt(written),
        )
    ]


def _received_late(received_on: date, due: date) -> Finding:
    return warning(
        "rol_late",
        f"报送日期 {received_on} 晚于公开期限 {due}（逾期）",
        f"Late: received on {received_on}, after the deadline {due}",
        where=WHERE_RECEIVED,
    )


def _issuer_findings(closing: Closing, names: Sequence[str]) -> list[Finding]:
    if not closing.issuers:
        return [
            warning(
                "rol_issuer_missing",
                "落款缺少发文机关（或其党组/党委）",
                "The closing names no issuer",
                where=WHERE,
            )
        ]
    candidates = (*closing.issuers, "".join(closing.issuers))
    if any(issuer_matches(c, names) for c in candidates):
        return []
    shown = " ".join(closing.issuers)
    return [
        warning(
            "rol_issuer_mismatch",
            f"落款机关“{excerpt(shown)}”与报送单位（{'、'.join(names)}）不符",
            f"The issuer {excerpt(shown)!r} matches none of the body's names",
            where=WHERE,
            excerpt=excerpt(shown),
        )
    ]
