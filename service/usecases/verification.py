"""Fixity: re-hashing archived packages against the SHA-256 recorded at ingest, one
filing at a time (`verify`) or across the archive (`audit`), with every result kept
in the catalog (last verified, outcome) and audited."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from service import metrics
from service.archive.fixity import FixityReport
from service.archive.packages import Packages
from service.catalog.ports import FixityCatalog
from service.catalog.records import (
    AuditEvent,
    CaptureRecord,
    FilingRecord,
    FixityCheck,
    TimestampRecord,
    VersionRecord,
)
from service.domain.errors import filing_not_found
from service.domain.filing import ARCHIVED_STATUSES
from service.domain.notifications import NoticeEvent, NoticeKind, Recipients
from service.usecases.proof import ProofSetup, verify_stamps

LIVE = ARCHIVED_STATUSES


@dataclass(frozen=True)
class VersionFixity:
    filing_id: str
    version: int
    package: str
    ok: bool
    report: dict[str, Any]
    org_code: str | None = None


def report_dict(report: FixityReport) -> dict[str, Any]:
    return {
        "complete": report.complete,
        "checked": report.checked,
        "missing": list(report.missing),
        "mismatched": [dataclasses.asdict(m) for m in report.mismatched],
        "unreadable": list(report.unreadable),
        "extra": list(report.extra),
        "foreign": list(report.foreign),
    }


def _receipt_hashes(filing: FilingRecord, version: int) -> dict[str, str]:
    """Every receipt the catalog records for this version: deliveries, review outcomes and
    a withdrawal's record."""
    hashes: dict[str, str] = {}
    for d in filing.deliveries:
        if d.version != version:
            continue
        for key, sha256 in (
            (d.receipt_key, d.receipt_sha256),
            (d.review_receipt_key, d.review_receipt_sha256),
        ):
            if key and sha256:
                hashes[key] = sha256
    withdrawal = filing.withdrawal  # its record lies beside the version it was withdrawn at
    prefix = next((v.package_prefix for v in filing.versions if v.version == version), None)
    if withdrawal is not None and prefix and withdrawal.record_key.startswith(prefix):
        hashes[withdrawal.record_key] = withdrawal.record_sha256
    return hashes


def capture_hashes(
    version: int, captures: Sequence[CaptureRecord], stamps: Sequence[TimestampRecord]
) -> dict[str, str]:
    """What the captures of a version archived in its receipts (WARCs, verdict records)
    and their WARCs' timestamp tokens, as the catalog recorded them."""
    hashes: dict[str, str] = {}
    for capture in captures:
        if capture.version == version:
            hashes.update(capture.objects)
    for stamp in stamps:
        key, sha256 = stamp.token_key, stamp.token_sha256
        if stamp.version == version and key and sha256 and "/receipts/" in key:
            hashes[key] = sha256
    return hashes


def check_version(
    packages: Packages,
    filing: FilingRecord,
    version: VersionRecord,
    proof: ProofSetup | None = None,
    stamps: Sequence[TimestampRecord] = (),
    captures: Sequence[CaptureRecord] = (),
) -> VersionFixity:
    """With `proof`, the version's timestamps too: a stamped one that does not verify
    (service.usecases.proof) damages the version; one pending or failed does not. The
    captures' archived files are checked with the receipts (`stamps` and `captures` say
    what they are)."""
    receipts = _receipt_hashes(filing, version.version)
    receipts |= capture_hashes(version.version, captures, stamps)
    report = packages.verify(
        version.package_prefix, receipts, manifest_sha256=version.manifest_sha256
    )
    found = report_dict(report)
    ok = report.ok
    if proof is not None:
        found["timestamps"] = verify_stamps(
            proof, [s for s in stamps if s.version == version.version]
        )
        # a stamp that failed (the TSA gave up) is shown, but no damage to the archive
        ok = ok and all(t["verified"] for t in found["timestamps"] if t["status"] == "stamped")
    return VersionFixity(
        filing.id, version.version, version.package_prefix, ok, found, filing.org_code
    )


def record(
    catalog: FixityCatalog,
    result: VersionFixity,
    *,
    checked_by: str,
    now: datetime,
    recipients: Recipients | None = None,
) -> None:
    check = FixityCheck(result.filing_id, result.version, now, checked_by, result.ok, result.report)
    event = AuditEvent(
        actor=checked_by,
        role="system" if checked_by.startswith("audit") else "user",
        action="fixity.checked" if result.ok else "fixity.failed",
        subject=f"{result.filing_id}/v{result.version}",
        detail={"ok": result.ok, "foreign_versions": len(result.report.get("foreign", []))},
    )
    notices = (recipients or Recipients()).all(fixity_events(result, now))
    catalog.record_fixity(check, event, notices)
    metrics.FIXITY_CHECKS.labels("ok" if result.ok else "damaged").inc()
    metrics.FOREIGN_VERSIONS.inc(len(result.report.get("foreign", [])))


def fixity_events(result: VersionFixity, now: datetime) -> list[NoticeEvent]:
    """Damage to a version (missing, mismatched, unreadable or extra files) is one event
    per version; each foreign version written over an archived object is one of its own.
    Found again by a later check, each is the same event and told no more."""
    report, subject = result.report, f"{result.filing_id}/v{result.version}"
    damage = {k: report.get(k) for k in ("missing", "mismatched", "unreadable", "extra")}
    events = [
        NoticeEvent(
            NoticeKind.FOREIGN_VERSION,
            subject=f"{result.package}{foreign}",
            occurred_at=now,
            filing_id=result.filing_id,
            org_code=result.org_code,
            detail={"version": result.version, "foreign": foreign},
        )
        for foreign in report.get("foreign", [])
    ]
    if any(damage.values()) or not report.get("complete", True):
        detail = {"version": result.version, "complete": report.get("complete"), **damage}
        events.insert(
            0,
            NoticeEvent(
                NoticeKind.FIXITY_FAILED,
                subject=subject,
                occurred_at=now,
                filing_id=result.filing_id,
                org_code=result.org_code,
                detail={k: v for k, v in detail.items() if v not in ([], None)},
            ),
        )
    return events


def verify_filing(
    catalog: FixityCatalog,
    packages: Packages,
    filing_id: str,
    *,
    checked_by: str,
    now: datetime,
    recipients: Recipients | None = None,
    proof: ProofSetup | None = None,
) -> list[VersionFixity]:
    """Re-hash every archived version of one filing from storage, and check its
    timestamps given `proof`; record and return the results."""
    filing = catalog.get_filing(filing_id, with_attempts=False)
    if filing is None:
        raise filing_not_found()
    stamps = catalog.timestamps(filing_id)
    captures = catalog.captures(filing_id)
    results = [
        check_version(packages, filing, v, proof, stamps, captures)
        for v in filing.versions
        if v.status in LIVE
    ]
    for result in results:
        record(catalog, result, checked_by=checked_by, now=now, recipients=recipients)
    return results


@dataclass(frozen=True)
class AuditPlan:
    """Which versions an audit run checks: a random sample, or all not yet checked since `since`
    (so a run that was interrupted resumes where it stopped when given the same `since`)."""

    sample: int | None = None
    since: datetime | None = None


def plan_versions(catalog: FixityCatalog, plan: AuditPlan) -> list[VersionRecord]:
    return catalog.versions_to_verify(
        not_verified_since=plan.since, limit=plan.sample, random_order=plan.sample is not None
    )


def audit_versions(
    catalog: FixityCatalog,
    packages: Packages,
    versions: Iterable[VersionRecord],
    *,
    checked_by: str,
    clock: Callable[[], datetime],
    recipients: Recipients | None = None,
) -> Iterator[VersionFixity]:
    """Check each version, recording each result as it is found (so progress survives a crash)."""
    for version in versions:
        filing = catalog.get_filing(version.filing_id, with_attempts=False)
        assert filing is not None
        stamps, captures = catalog.timestamps(filing.id), catalog.captures(filing.id)
        result = check_version(packages, filing, version, None, stamps, captures)
        record(catalog, result, checked_by=checked_by, now=clock(), recipients=recipients)
        yield result


def write_report(path: Path, results: Iterable[VersionFixity]) -> tuple[int, int]:
    """JSON Lines, one result per version; returns (checked, failed)."""
    checked = failed = 0
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for result in results:
            checked += 1
            failed += not result.ok
            out.write(json.dumps(dataclasses.asdict(result), ensure_ascii=False) + "\n")
    return checked, failed
