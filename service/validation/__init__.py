"""Reading uploaded documents and validating filings. Imports no I/O framework (a test
checks): DOCX and OFD are read with zipfile and the standard XML parser, PDF with
PDFium (pypdfium2) and pdfplumber; working days come from chinesecalendar.

    doc, findings = read_document(path, "报告.pdf")
    if doc is not None:
        result = validate_filing(doc, metadata, org, content_rule=content_rule(metadata),
                                 received_on=date(2024, 1, 12))
        findings, waivers = apply_waivers(findings + result.findings, metadata.waivers,
                                          by="admin", may_waive=True)

The names below are imported when first used, so that a process that only reads
documents (service.reading.worker) does not load the rules, the calendar and the
metadata models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from service.validation.config import ValidationRules
    from service.validation.formats.documents import (
        Document,
        DocumentLimits,
        read_document,
        read_document_bytes,
    )
    from service.validation.validate import ValidationResult, validate_filing
    from service.validation.waivers import AppliedWaiver, apply_waivers
    from service.validation.workdays import WorkingCalendar, load_holiday_overrides

_HOMES = {
    "AppliedWaiver": "waivers",
    "Document": "formats.documents",
    "DocumentLimits": "formats.documents",
    "ValidationResult": "validate",
    "ValidationRules": "config",
    "WorkingCalendar": "workdays",
    "apply_waivers": "waivers",
    "load_holiday_overrides": "workdays",
    "read_document": "formats.documents",
    "read_document_bytes": "formats.documents",
    "validate_filing": "validate",
}
__all__ = [
    "AppliedWaiver",
    "Document",
    "DocumentLimits",
    "ValidationResult",
    "ValidationRules",
    "WorkingCalendar",
    "apply_waivers",
    "load_holiday_overrides",
    "read_document",
    "read_document_bytes",
    "validate_filing",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'service.validation' has no attribute {name!r}")
    return getattr(importlib.import_module(f"service.validation.{home}"), name)
