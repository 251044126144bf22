"""What refuses a submission before any validation work: the same bytes filed already,
a second filing of a kind filed once per period, a correction of another filing or
without its reason. reserve_version checks the first two again, atomically."""

from __future__ import annotations

from service.catalog.ports import Reservations
from service.catalog.records import FilingRecord
from service.domain.errors import Rejected, already_filed, duplicate_filing
from service.domain.findings import Finding
from service.domain.findings import error as error_finding
from service.domain.metadata import FilingMetadata, filing_key
from service.uploads import Upload


def refuse_correction(existing: FilingRecord, metadata: FilingMetadata) -> None:
    """A correction keeps its filing's body, kind and period, and says why."""
    if not same_filing(existing, metadata):
        raise Rejected([_correction_mismatch()])
    if not metadata.reason:
        raise Rejected([reason_missing()], code="correction_reason_missing")


def refuse_same_content(catalog: Reservations, metadata: FilingMetadata, upload: Upload) -> None:
    """Early, before any validation work; reserve_version checks again atomically."""
    same = catalog.find_same_content(
        metadata.org_code, metadata.category.value, metadata.period, upload.sha256
    )
    if same is not None:
        raise duplicate_filing(*same)


def refuse_second_filing(catalog: Reservations, metadata: FilingMetadata) -> None:
    """Early, as above: a kind filed once per period is corrected, not filed again."""
    key = filing_key(metadata)
    filed = catalog.find_filed(key) if key is not None else None
    if filed is not None:
        raise already_filed(filed)


def same_filing(existing: FilingRecord, metadata: FilingMetadata) -> bool:
    """A correction keeps its filing's body, kind and period."""
    return (existing.org_code, existing.category, existing.period) == (
        metadata.org_code,
        metadata.category.value,
        metadata.period,
    )


def _correction_mismatch() -> Finding:
    return error_finding(
        "correction_mismatch",
        "更正版本的单位、类别和期间必须与原报送一致",
        "A correction must keep the body, category and period of its filing",
        where="metadata",
    )


def reason_missing() -> Finding:
    return error_finding(
        "correction_reason_missing",
        "提交更正版本须在 metadata 中写明更正原因（reason，1 至 500 字）",
        "A correction needs its reason (metadata `reason`, 1 to 500 characters)",
        where="metadata.reason",
    )
