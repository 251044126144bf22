"""Disaster recovery (DESIGN.md invariants 2 and 8): comparing the archive with the
catalog, and recreating the catalog from the archive alone.

    reconcile(restore, packages, now=…)              what disagrees; changes nothing
    rebuild_catalog(restore, store, packages, now=…)  an EMPTY catalog filled from the archive

What a rebuild restores, and from where:

    filing     id, body, kind and period from the package prefix; name, created_at and
               created_by from its lowest version's metadata.json (`submitted.org_name`,
               `archived_at`, `archived_by`); latest_version: its highest version
    version    metadata.json: supersedes, title, file, findings, `submitted` (the metadata,
               review and waivers included), publish_at; manifest_sha256 from the store;
               published when every delivery has a receipt (or it has none), else archived
    delivery   one per metadata.json `destinations`, with the same idempotency key:
               delivered with the destination's receipt from `receipts/` (and its final
               review outcome, a receipt of kind `review`), else pending — failed and
               superseded ones too — due at once (or at publish_at): the key makes a
               repeat harmless at the destination
    audit log  every `audit/YYYY/MM/DD.jsonl`, in order, then one `catalog.rebuilt` event
    not at all attempt logs, adapter state, reviews still in progress, fixity checks,
               ingest idempotency keys: operational data

Two rules keep a rebuilt catalog safe to run a worker on:

- A package that cannot be restored (incomplete: no manifest; or damaged) of a filing
  that is restored comes back as an `abandoned` placeholder row, so its version number
  stays taken: a new correction never lands in a prefix that already holds objects.
- Ingest refuses a second live version with the same bytes for one body, kind and
  period. Two complete packages that share them therefore mean one was never
  acknowledged (archived, but the client got an error — the store's answer lost, or
  the catalog commit failed — and sent the file again): of those, the ones delivered,
  else the last archived, are kept; the others come back `abandoned`, never to be sent.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from service.archive.fixity import verifying_reader
from service.archive.packages import MANIFEST, METADATA, PackageId, Packages, package_prefix_of
from service.archive.port import ArchiveStore
from service.archive.version_metadata import VersionMetadata, aware
from service.catalog.ports import Restore, RestoreWriter
from service.catalog.records import (
    AuditEntry,
    AuditEvent,
    DeliveryRecord,
    FilingRecord,
    VersionRecord,
    VersionState,
)
from service.domain.errors import ArchiveError, ObjectMissing
from service.domain.filing import DeliveryStatus, ReviewState, VersionStatus, idempotency_key
from service.domain.ids import new_id
from service.usecases.audit_export import AUDIT_PREFIX, day_of_key, parse_audit_lines

LIVE = frozenset({VersionStatus.ARCHIVED, VersionStatus.PUBLISHED, VersionStatus.DELIVERY_FAILED})
STUCK_AFTER = timedelta(hours=1)  # far longer than any package write takes

Progress = Callable[[str], None]


def _no_progress(_: str) -> None:
    pass


# -- reconcile ----------------------------------------------------------------------


class ProblemKind(StrEnum):
    UNRECORDED_PACKAGE = "unrecorded_package"
    MISSING_PACKAGE = "missing_package"
    INCOMPLETE_PACKAGE = "incomplete_package"
    STUCK_RESERVATION = "stuck_reservation"
    UNRECORDED_RECEIPT = "unrecorded_receipt"
    UNFINISHED_WRITE = "unfinished_write"

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS = {
    ProblemKind.UNRECORDED_PACKAGE: (
        "归档包完整但目录中无已归档版本",
        "complete package the catalog does not hold as archived",
    ),
    ProblemKind.MISSING_PACKAGE: (
        "目录中已归档的版本缺少完整的归档包",
        "archived version whose package is missing or incomplete",
    ),
    ProblemKind.INCOMPLETE_PACKAGE: (
        "不完整的归档包（无清单，孤立对象）",
        "incomplete package (no manifest): orphaned objects",
    ),
    ProblemKind.STUCK_RESERVATION: (
        "版本长时间停留在预留状态（归档中途中断）",
        "version stuck in reserved (ingest interrupted)",
    ),
    ProblemKind.UNRECORDED_RECEIPT: (
        "目录未记录的投递回执",
        "delivery receipt the catalog does not record",
    ),
    ProblemKind.UNFINISHED_WRITE: (
        "中断的写入（不可见，但占用空间；S3 请配置生命周期规则清理未完成的分段上传）",
        "interrupted write (invisible, but holding space; on S3 a lifecycle rule aborts "
        "unfinished multipart uploads)",
    ),
}


@dataclass(frozen=True)
class Problem:
    kind: ProblemKind
    key: str  # the package prefix, or the receipt's key
    filing_id: str
    version: int
    catalog_status: str | None  # None: the catalog has no such version
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "key": self.key,
            "filing_id": self.filing_id,
            "version": self.version,
            "catalog_status": self.catalog_status,
            "note": self.note,
        }


@dataclass(frozen=True)
class Reconciliation:
    packages: int  # package prefixes found in the archive
    versions: int  # versions in the catalog
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "packages": self.packages,
            "versions": self.versions,
            "problems": [p.to_dict() for p in self.problems],
        }


def reconcile(
    restore: Restore,
    packages: Packages,
    *,
    now: datetime,
    stuck_after: timedelta = STUCK_AFTER,
    progress: Progress = _no_progress,
) -> Reconciliation:
    """Hold every package in the archive against the catalog, and every catalog version
    against the archive. A version reserved less than `stuck_after` ago is being written
    right now, and its package is left alone."""
    versions = {v.package_prefix: v for v in restore.version_states()}
    receipts = restore.recorded_receipt_keys()
    cutoff = now - stuck_after
    problems: list[Problem] = []
    found: set[str] = set()
    for prefix in packages.iter_packages():
        found.add(prefix)
        version = versions.get(prefix)
        problems += _package_problems(prefix, packages.is_complete(prefix), version, cutoff)
        problems += [
            _problem(ProblemKind.UNRECORDED_RECEIPT, prefix, version, key=key)
            for key in packages.list_receipts(prefix)
            if key not in receipts
        ]
        progress(prefix)
    for version in versions.values():
        problems += _version_problems(version, version.package_prefix in found, cutoff)
    problems += [_unfinished(key, begun) for key, begun in packages.unfinished_writes(cutoff)]
    order = list(ProblemKind)
    problems.sort(key=lambda p: (order.index(p.kind), p.key))
    return Reconciliation(len(found), len(versions), tuple(problems))


def _package_problems(
    prefix: str, complete: bool, version: VersionState | None, cutoff: datetime
) -> list[Problem]:
    status = version.status if version else None
    if status in LIVE:
        if complete:
            return []
        return [_problem(ProblemKind.MISSING_PACKAGE, prefix, version, note="no manifest")]
    if version is not None and status == VersionStatus.RESERVED and version.created_at > cutoff:
        return []  # being written right now
    kind = ProblemKind.UNRECORDED_PACKAGE if complete else ProblemKind.INCOMPLETE_PACKAGE
    return [_problem(kind, prefix, version)]


def _version_problems(version: VersionState, found: bool, cutoff: datetime) -> list[Problem]:
    prefix = version.package_prefix
    if version.status in LIVE and not found:
        return [_problem(ProblemKind.MISSING_PACKAGE, prefix, version, note="no object at all")]
    if version.status == VersionStatus.RESERVED and version.created_at <= cutoff:
        note = f"reserved at {version.created_at.isoformat()}"
        return [_problem(ProblemKind.STUCK_RESERVATION, prefix, version, note=note)]
    return []


def _problem(
    kind: ProblemKind,
    prefix: str,
    version: VersionState | None,
    *,
    key: str | None = None,
    note: str = "",
) -> Problem:
    package = PackageId.from_prefix(prefix)
    return Problem(
        kind,
        key or prefix,
        package.filing_id,
        package.version,
        version.status if version else None,
        note,
    )


def _unfinished(key: str, begun: datetime) -> Problem:
    prefix = package_prefix_of(key)
    package = PackageId.from_prefix(prefix) if prefix else None
    return Problem(
        ProblemKind.UNFINISHED_WRITE,
        key,
        package.filing_id if package else "",
        package.version if package else 0,
        None,
        f"begun {begun.isoformat()}",
    )


# -- rebuild ------------------------------------------------------------------------


class SkipKind(StrEnum):
    INCOMPLETE = "incomplete"  # no manifest: never acknowledged, expected after a crash
    DUPLICATE = "duplicate"  # same bytes as a later version: never acknowledged
    DAMAGED = "damaged"  # metadata.json unreadable or failing its fixity check
    DAMAGED_RECEIPT = "damaged_receipt"  # its delivery comes back pending
    DAMAGED_AUDIT = "damaged_audit"  # that day's audit events are not restored


DAMAGE = frozenset({SkipKind.DAMAGED, SkipKind.DAMAGED_RECEIPT, SkipKind.DAMAGED_AUDIT})


@dataclass(frozen=True)
class Skipped:
    kind: SkipKind
    key: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "key": self.key, "reason": self.reason}


@dataclass
class Rebuild:
    """What a rebuild restored, and what it could not."""

    filings: int = 0
    versions: int = 0
    delivered: int = 0
    pending: int = 0
    audit_events: int = 0
    audit_days: int = 0
    audit_through: date | None = None  # the last exported day: later events are lost
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Nothing damaged (incomplete and duplicate packages are the expected traces of crashes)."""
        return not any(s.kind in DAMAGE for s in self.skipped)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "filings": self.filings,
            "versions": self.versions,
            "deliveries": {"delivered": self.delivered, "pending": self.pending},
            "audit": {
                "days": self.audit_days,
                "events": self.audit_events,
                "through": self.audit_through.isoformat() if self.audit_through else None,
            },
            "skipped": [s.to_dict() for s in self.skipped],
        }

    def skip(self, kind: SkipKind, key: str, reason: str) -> None:
        self.skipped.append(Skipped(kind, key, reason))

    def count(self, filing: FilingRecord) -> None:
        self.filings += 1
        self.versions += len(filing.versions)
        for delivery in filing.deliveries:
            if delivery.status == DeliveryStatus.DELIVERED:
                self.delivered += 1
            else:
                self.pending += 1


def rebuild_catalog(
    restore: Restore,
    store: ArchiveStore,
    packages: Packages,
    *,
    now: datetime,
    actor: str = "cli",
    progress: Progress = _no_progress,
) -> Rebuild:
    """Fill an empty catalog from the archive, in one transaction (`Conflict` when the
    catalog is not empty). Package prefixes come sorted, so the packages of one body,
    kind and period arrive together; each such group is read, then written."""
    report = Rebuild()
    reader = _Reader(store, packages, now, actor, report)
    with restore.restoring() as writer:
        ids = (PackageId.from_prefix(p) for p in packages.iter_packages())
        for _, group in itertools.groupby(ids, key=lambda p: (p.org_code, p.category, p.period)):
            for filing in reader.filings(list(group), progress):
                writer.add_filing(filing)
                report.count(filing)
        _restore_audit(store, writer, report, progress)
        writer.add_audit([AuditEntry(now, _rebuilt_event(actor, report))])
    return report


def _rebuilt_event(actor: str, report: Rebuild) -> AuditEvent:
    detail = report.to_dict()
    detail["skipped"] = len(report.skipped)
    return AuditEvent(
        actor=actor, role="system", action="catalog.rebuilt", subject="catalog", detail=detail
    )


@dataclass(frozen=True)
class _Read:
    """One complete package, read back: its version, deliveries and the filing's name."""

    version: VersionRecord
    deliveries: tuple[DeliveryRecord, ...]
    org_name: str

    @property
    def delivered(self) -> bool:
        return any(d.status == DeliveryStatus.DELIVERED for d in self.deliveries)


class _Reader:
    def __init__(
        self, store: ArchiveStore, packages: Packages, now: datetime, actor: str, report: Rebuild
    ) -> None:
        self._store = store
        self._packages = packages
        self._now = now
        self._actor = actor
        self._report = report

    def filings(self, group: Sequence[PackageId], progress: Progress) -> list[FilingRecord]:
        """The filings of one body, kind and period."""
        read: dict[PackageId, _Read] = {}
        for package in group:
            found = self._read(package)
            if found is not None:
                read[package] = found
            progress(package.prefix)
        read = self._without_duplicates(read)
        by_filing = itertools.groupby(group, key=lambda p: p.filing_id)
        return [
            filing
            for _, packages in by_filing
            if (filing := self._filing(list(packages), read)) is not None
        ]

    def _read(self, package: PackageId) -> _Read | None:
        prefix = package.prefix
        if not self._packages.is_complete(prefix):
            self._report.skip(SkipKind.INCOMPLETE, prefix, f"no {MANIFEST}")
            return None
        try:
            metadata = VersionMetadata.from_json(self._packages.read_metadata(prefix))
            manifest = self._store.stat(prefix + MANIFEST)
            if manifest is None:
                raise ObjectMissing(prefix + MANIFEST)
            version = _version(package, metadata, manifest.sha256)
            due = max(self._now, version.publish_at) if version.publish_at else self._now
            receipts = self._receipts(prefix)
            deliveries = tuple(_delivery(version, d, receipts, due) for d in metadata.destinations)
            org_name = str(metadata.submitted["org_name"])
        except (ArchiveError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            self._report.skip(SkipKind.DAMAGED, prefix, f"{METADATA}: {exc!r}")
            return None
        settled = all(d.status == DeliveryStatus.DELIVERED for d in deliveries)
        status = VersionStatus.PUBLISHED if settled else VersionStatus.ARCHIVED
        return _Read(replace(version, status=status), deliveries, org_name)

    def _receipts(self, prefix: str) -> _Receipts:
        """Each destination's delivery receipt and review outcome (a document of kind
        `review`); the last in key order of each, as the worker and the tick find them."""
        found = _Receipts()
        for key in self._packages.list_receipts(prefix):
            destination = key.removeprefix(f"{prefix}receipts/").rpartition("-")[0]
            try:
                receipt = _read_receipt(self._store, key)
            except (ArchiveError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
                self._report.skip(SkipKind.DAMAGED_RECEIPT, key, repr(exc))
                continue
            kind = found.reviews if receipt.is_review else found.deliveries
            kind[destination] = receipt
        return found

    def _without_duplicates(self, read: dict[PackageId, _Read]) -> dict[PackageId, _Read]:
        """Of the versions that share their bytes, keep those delivered, else the last
        archived; the others were never acknowledged and come back abandoned."""
        by_content = sorted(read.items(), key=lambda item: item[1].version.sha256)
        for _, same in itertools.groupby(by_content, key=lambda item: item[1].version.sha256):
            candidates = list(same)
            if len(candidates) < 2:
                continue
            keep = [p for p, r in candidates if r.delivered] or [
                max(candidates, key=lambda item: item[1].version.created_at)[0]
            ]
            for package, found in candidates:
                if package not in keep:
                    kept = ", ".join(k.external_identifier for k in keep)
                    self._report.skip(SkipKind.DUPLICATE, package.prefix, f"same file as {kept}")
                    abandoned = replace(found.version, status=VersionStatus.ABANDONED)
                    read[package] = _Read(abandoned, (), found.org_name)
        return read

    def _filing(
        self, packages: Sequence[PackageId], read: Mapping[PackageId, _Read]
    ) -> FilingRecord | None:
        restored = sorted((read[p] for p in packages if p in read), key=lambda r: r.version.version)
        if not restored:
            return None  # only incomplete or damaged packages: never acknowledged
        numbers = {r.version.version for r in restored}
        placeholders = [self._placeholder(p) for p in packages if p.version not in numbers]
        versions = sorted([r.version for r in restored] + placeholders, key=lambda v: v.version)
        first = restored[0].version
        package = packages[0]
        return FilingRecord(
            id=package.filing_id,
            org_code=package.org_code,
            org_name=restored[0].org_name,
            category=package.category,
            period=package.period,
            latest_version=versions[-1].version,
            created_at=first.created_at,
            created_by=first.created_by,
            versions=tuple(versions),
            deliveries=tuple(d for r in restored for d in r.deliveries),
        )

    def _placeholder(self, package: PackageId) -> VersionRecord:
        """An abandoned row that keeps an unrestorable package's version number taken."""
        payload = next(
            (
                key
                for key in self._store.list(package.prefix + "data/")
                if key != f"{package.prefix}data/{METADATA}"
            ),
            None,
        )
        stored = self._store.stat(payload) if payload else None
        return VersionRecord(
            filing_id=package.filing_id,
            version=package.version,
            status=VersionStatus.ABANDONED,
            supersedes=package.version - 1 if package.version > 1 else None,
            filename=payload.rpartition("/")[2] if payload else "",
            kind="",
            media_type="",
            size=stored.size if stored else 0,
            sha256=stored.sha256 if stored else "",
            title=None,
            package_prefix=package.prefix,
            metadata={},
            findings=[],
            publish_at=None,
            created_at=self._now,
            created_by=self._actor,
        )


@dataclass(frozen=True)
class _Receipt:
    key: str
    sha256: str
    document: dict[str, Any]
    received_at: datetime

    @property
    def is_review(self) -> bool:
        return self.document.get("kind") == "review"


@dataclass
class _Receipts:
    deliveries: dict[str, _Receipt] = field(default_factory=dict)
    reviews: dict[str, _Receipt] = field(default_factory=dict)


def _read_receipt(store: ArchiveStore, key: str) -> _Receipt:
    """A receipt object, checked against the SHA-256 the store recorded when it was put."""
    stored = store.stat(key)
    if stored is None:
        raise ObjectMissing(key)
    with store.open(key) as raw, verifying_reader(raw, stored.sha256, what=key) as stream:
        document = json.loads(stream.read())
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return _Receipt(key, stored.sha256, document, aware(document["received_at"]))


def _version(package: PackageId, metadata: VersionMetadata, manifest_sha256: str) -> VersionRecord:
    submitted = metadata.submitted
    names = (metadata.filing_id, metadata.version)
    body = (submitted["org_code"], submitted["category"], submitted["period"])
    if names != (package.filing_id, package.version) or body != (
        package.org_code,
        package.category,
        package.period,
    ):
        raise ValueError(f"{METADATA} names another filing version than its package")
    file = metadata.file
    return VersionRecord(
        filing_id=package.filing_id,
        version=package.version,
        status=VersionStatus.ARCHIVED,
        supersedes=metadata.supersedes,
        filename=file.name,
        kind=file.kind,
        media_type=file.media_type,
        size=file.size,
        sha256=file.sha256,
        title=metadata.title,
        package_prefix=package.prefix,
        metadata=submitted,
        findings=metadata.findings,
        publish_at=metadata.publish_at,
        created_at=metadata.archived_at,
        created_by=metadata.archived_by,
        manifest_sha256=manifest_sha256,
    )


def _delivery(
    version: VersionRecord, destination: str, receipts: _Receipts, due: datetime
) -> DeliveryRecord:
    receipt = receipts.deliveries.get(destination)
    delivered_at = receipt.received_at if receipt else None
    review = receipts.reviews.get(destination) if receipt else None
    outcome = dict(review.document["review"]) if review else {}
    return DeliveryRecord(
        # A delivered one keeps the id its receipt names; one never delivered gets a new id.
        id=str((receipt.document.get("delivery_id") if receipt else None) or new_id("dlv")),
        filing_id=version.filing_id,
        version=version.version,
        destination=destination,
        idempotency_key=idempotency_key(version.filing_id, version.version, destination),
        status=DeliveryStatus.DELIVERED if receipt else DeliveryStatus.PENDING,
        attempts=0,
        next_attempt_at=delivered_at or due,
        first_attempt_at=None,
        lease_owner=None,
        lease_expires_at=None,
        state={},
        receipt=dict(receipt.document["receipt"]) if receipt else None,
        receipt_key=receipt.key if receipt else None,
        receipt_sha256=receipt.sha256 if receipt else None,
        last_error=None,
        review_status=ReviewState(outcome["status"]) if outcome.get("status") else None,
        review_reason=outcome.get("return_reason", outcome.get("message")),
        review_checked_at=review.received_at if review else None,
        review_receipt_key=review.key if review else None,
        review_receipt_sha256=review.sha256 if review else None,
        created_at=version.created_at,
        updated_at=delivered_at or version.created_at,
        delivered_at=delivered_at,
    )


def _restore_audit(
    store: ArchiveStore, writer: RestoreWriter, report: Rebuild, progress: Progress
) -> None:
    for key in store.list(AUDIT_PREFIX):
        day = day_of_key(key)
        if day is None:
            continue
        try:
            entries = _read_audit(store, key)
        except (ArchiveError, UnicodeDecodeError, ValueError) as exc:
            report.skip(SkipKind.DAMAGED_AUDIT, key, repr(exc))
            continue
        writer.add_audit(entries)
        report.audit_days += 1
        report.audit_events += len(entries)
        report.audit_through = day
        progress(key)


def _read_audit(store: ArchiveStore, key: str) -> list[AuditEntry]:
    stored = store.stat(key)
    if stored is None:
        raise ObjectMissing(key)
    with store.open(key) as raw, verifying_reader(raw, stored.sha256, what=key) as stream:
        return parse_audit_lines(stream.read())
