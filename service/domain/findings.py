"""Findings: what validation reports, each with a stable code and a message in Chinese and English."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    """One problem (error) or hint (warning) about a filing.

    `where` says where in the document or metadata (e.g. "标题", "第12段",
    "metadata.period"); `excerpt` is a short, masked quote, never personal data in full.
    An error waived by an authorised person (`waived_by`, with `waiver_reason`) stays an
    error on record but no longer blocks.
    """

    code: str
    severity: Severity
    message_zh: str
    message_en: str
    where: str | None = None
    excerpt: str | None = None
    waived_by: str | None = None
    waiver_reason: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    @property
    def waived(self) -> bool:
        return self.waived_by is not None

    @property
    def blocks(self) -> bool:
        """An error nobody has waived: the filing cannot be accepted."""
        return self.is_error and not self.waived

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON; the waiver keys only when it was waived."""
        data = {k: (str(v) if isinstance(v, Severity) else v) for k, v in asdict(self).items()}
        if not self.waived:
            del data["waived_by"], data["waiver_reason"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            severity=Severity(data["severity"]),
            message_zh=data["message_zh"],
            message_en=data["message_en"],
            where=data.get("where"),
            excerpt=data.get("excerpt"),
            waived_by=data.get("waived_by"),
            waiver_reason=data.get("waiver_reason"),
        )


def error(
    code: str, zh: str, en: str, where: str | None = None, excerpt: str | None = None
) -> Finding:
    return Finding(code, Severity.ERROR, zh, en, where, excerpt)


def warning(
    code: str, zh: str, en: str, where: str | None = None, excerpt: str | None = None
) -> Finding:
    return Finding(code, Severity.WARNING, zh, en, where, excerpt)


def has_errors(findings: list[Finding] | tuple[Finding, ...]) -> bool:
    """Whether any error blocks (a waived error does not)."""
    return any(f.blocks for f in findings)
