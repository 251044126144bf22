"""Reading uploaded documents and validating filings. Imports no I/O framework (a test
checks): DOCX is read with zipfile and the standard XML parser, PDF with pdfminer.six.

    doc, findings = read_document(path, "报告.pdf")
    if doc is not None:
        result = validate_filing(doc, metadata, org, received_on=date(2024, 1, 12))
"""

from service.validation.config import ValidationRules
from service.validation.documents import (
    Document,
    DocumentLimits,
    read_document,
    read_document_bytes,
)
from service.validation.validate import ValidationResult, validate_filing

__all__ = [
    "Document",
    "DocumentLimits",
    "ValidationResult",
    "ValidationRules",
    "read_document",
    "read_document_bytes",
    "validate_filing",
]
