"""Reading uploaded documents and validating filings. Imports no I/O framework (a test
checks): DOCX and OFD are read with zipfile and the standard XML parser, PDF with
pdfminer.six; working days come from chinesecalendar.

    doc, findings = read_document(path, "报告.pdf")
    if doc is not None:
        result = validate_filing(doc, metadata, org, received_on=date(2024, 1, 12))
        findings, waivers = apply_waivers(findings + result.findings, metadata.waivers,
                                          by="admin", may_waive=True)
"""

from service.validation.config import ValidationRules
from service.validation.documents import (
    Document,
    DocumentLimits,
    read_document,
    read_document_bytes,
)
from service.validation.validate import ValidationResult, validate_filing
from service.validation.waivers import AppliedWaiver, apply_waivers
from service.validation.workdays import WorkingCalendar, load_holiday_overrides

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
