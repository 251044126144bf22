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
    """

    code: str
    severity: Severity
    message_zh: str
    message_en: str
    where: str | None = None
    excerpt: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Severity) else v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(
            code=data["code"],
            severity=Severity(data["severity"]),
            message_zh=data["message_zh"],
            message_en=data["message_en"],
            where=data.get("where"),
            excerpt=data.get("excerpt"),
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
    return any(f.is_error for f in findings)
