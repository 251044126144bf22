"""What a category's content rule looks at besides the document, and what it answers.

ContentRule = (Document, FilingContext) -> ValidationResult
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from service.domain.findings import Finding
from service.domain.metadata import FilingMetadata
from service.domain.org import Level, Organisation
from service.validation.config import ValidationRules
from service.validation.formats.documents import Document


@dataclass(frozen=True)
class FilingContext:
    metadata: FilingMetadata
    org: Organisation | None
    received_on: date
    rules: ValidationRules
    previous: FilingMetadata | None = None  # last period's filing of the same kind, if archived

    @property
    def names(self) -> tuple[str, ...]:
        """The body's names for matching an issuer: registry names first, then the
        name given in the metadata."""
        names = (*(self.org.names if self.org else ()), self.metadata.org_name)
        return tuple(dict.fromkeys(n.strip() for n in names if n.strip()))

    @property
    def level(self) -> Level:
        """The body's level; a body missing from the registry is held to a department's
        (earlier) deadline."""
        return self.org.level if self.org else Level.DEPARTMENT


@dataclass(frozen=True)
class ValidationResult:
    findings: list[Finding]
    title: str | None  # the document's title as found (lines joined when split), else None


ContentRule = Callable[[Document, FilingContext], ValidationResult]
