"""Withdrawing a filing (撤回): the decision is archived first, write-once, beside the
filing's latest package — so a catalog rebuilt from the archive knows of it — then the
catalog records it, cancels what never went out and queues the takedowns, in one
transaction. Nothing archived is removed.

    withdraw(...)  → (the filing, True)    withdrawn now: 202
                   → (the filing, False)   withdrawn before (the first reason stands): 200

Two requests at once archive one record (write-once: the second finds the first's and
records that, reason and all)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from service.archive.packages import Packages
from service.archive.retention import filing_period
from service.catalog.ports import Filings, Withdrawals
from service.catalog.records import AuditEvent, FilingRecord, VersionRecord, WithdrawalRecord
from service.domain.access import Principal
from service.domain.errors import AlreadyExists, filing_not_found
from service.domain.filing import ARCHIVED_STATUSES
from service.domain.withdrawal import RECORD_NAME
from service.usecases.ingest import Origin

RECORD_SEQ = 1  # one record per filing: a second withdrawal finds the first's


class WithdrawalCatalog(Withdrawals, Filings, Protocol):
    """What withdrawing asks of the catalog."""


@dataclass(frozen=True)
class WithdrawalRequest:
    filing_id: str
    reason: str
    principal: Principal
    origin: Origin


def withdraw(
    catalog: WithdrawalCatalog,
    packages: Packages,
    request: WithdrawalRequest,
    *,
    takedown: Collection[str],
    now: datetime,
) -> tuple[FilingRecord, bool]:
    """`takedown`: the destinations whose adapters can take an item down (Capability.WITHDRAW);
    the others are left for a person (须人工撤回). NotFound for a filing the principal
    may not see, as for one that does not exist."""
    filing = visible_filing(catalog, request.filing_id, request.principal)
    if filing.withdrawal is not None:
        return filing, False
    record = _archive_record(packages, _latest(filing), request, now)
    created = catalog.withdraw_filing(record, takedown, _event(filing, record, request))
    found = catalog.get_filing(filing.id)
    assert found is not None
    return found, created


def visible_filing(catalog: Filings, filing_id: str, principal: Principal) -> FilingRecord:
    filing = catalog.get_filing(filing_id)
    if filing is None or not principal.may_act_for(filing.org_code):
        raise filing_not_found()
    if not any(v.status in ARCHIVED_STATUSES for v in filing.versions):
        raise filing_not_found()
    return filing


def _latest(filing: FilingRecord) -> VersionRecord:
    return [v for v in filing.versions if v.status in ARCHIVED_STATUSES][-1]


def record_document(record: WithdrawalRecord) -> dict[str, Any]:
    return {
        "kind": "withdrawal",
        "filing_id": record.filing_id,
        "reason": record.reason,
        "by": record.by,
        "role": record.role,
        "at": record.at.isoformat(),
        "request_id": record.request_id,
        "received_at": record.at.isoformat(),  # what every receipt object carries
    }


def _archive_record(
    packages: Packages, latest: VersionRecord, request: WithdrawalRequest, now: datetime
) -> WithdrawalRecord:
    wanted = WithdrawalRecord(
        filing_id=request.filing_id,
        reason=request.reason,
        by=request.principal.name,
        role=request.principal.role.value,
        at=now,
        request_id=request.origin.request_id,
        record_key="",
        record_sha256="",
    )
    prefix = latest.package_prefix
    try:
        stored = packages.put_receipt(
            prefix,
            RECORD_NAME,
            record_document(wanted),
            seq=RECORD_SEQ,
            retention=filing_period(latest.metadata),
        )
    except AlreadyExists:  # a concurrent withdrawal archived its record first: it stands
        existing = packages.existing_receipt(prefix, RECORD_NAME, seq=RECORD_SEQ)
        document = packages.read_receipt(existing)
        return withdrawal_from_document(document, existing.key, existing.sha256)
    return WithdrawalRecord(
        **{**wanted.__dict__, "record_key": stored.key, "record_sha256": stored.sha256}
    )


def withdrawal_from_document(document: dict[str, Any], key: str, sha256: str) -> WithdrawalRecord:
    """A withdrawal as its archived record has it (a rebuild reads it the same way)."""
    return WithdrawalRecord(
        filing_id=str(document["filing_id"]),
        reason=str(document["reason"]),
        by=str(document["by"]),
        role=str(document["role"]),
        at=datetime.fromisoformat(str(document["at"])),
        request_id=document.get("request_id"),
        record_key=key,
        record_sha256=sha256,
    )


def _event(
    filing: FilingRecord, record: WithdrawalRecord, request: WithdrawalRequest
) -> AuditEvent:
    return AuditEvent(
        actor=request.principal.name,
        role=request.principal.role.value,
        action="filing.withdrawn",
        subject=filing.id,
        org_code=filing.org_code,
        source=request.origin.source,
        request_id=request.origin.request_id,
        detail={"reason": record.reason, "record": record.record_key},
    )
