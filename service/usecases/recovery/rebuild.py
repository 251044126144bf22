"""Recreating an empty catalog from the archive alone (the package docstring says what
comes back from where).
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from service.archive.fixity import verifying_reader
from service.archive.packages import MANIFEST, METADATA, PackageId, Packages
from service.archive.port import ArchiveStore
from service.archive.version_metadata import VersionMetadata
from service.catalog.ports import Restore, RestoreWriter
from service.catalog.records import (
    AuditEntry,
    AuditEvent,
    DeliveryRecord,
    FilingRecord,
    VersionRecord,
    WithdrawalRecord,
)
from service.domain.errors import ArchiveError, ObjectMissing
from service.domain.filing import WITHDRAWABLE_STATUSES, DeliveryStatus, VersionStatus
from service.domain.replacement import RECEIPT_SUFFIX as REPLACE_SUFFIX
from service.domain.replacement import decision_kind
from service.domain.schedule import DECISION_KIND
from service.domain.withdrawal import RECEIPT_SUFFIX, RECORD_NAME
from service.usecases.audit_export import AUDIT_PREFIX, day_of_key, parse_audit_lines
from service.usecases.exemptions import read_exemptions
from service.usecases.recovery.common import Progress, no_progress
from service.usecases.recovery.restored import (
    Receipts,
    delivery_record,
    not_enabled_record,
    read_receipt,
    replaced_pair,
    version_record,
    withdraw_job,
)
from service.usecases.withdrawal import withdrawal_from_document

# A version is published once each delivery is delivered, or replaced by one delivered.
_SETTLED = (DeliveryStatus.DELIVERED, DeliveryStatus.SUPERSEDED, DeliveryStatus.NOT_ENABLED)


class SkipKind(StrEnum):
    INCOMPLETE = "incomplete"  # no manifest: never acknowledged, expected after a crash
    DUPLICATE = "duplicate"  # same bytes as a later version: never acknowledged
    DAMAGED = "damaged"  # metadata.json unreadable or failing its fixity check
    DAMAGED_RECEIPT = "damaged_receipt"  # its delivery comes back pending
    DAMAGED_AUDIT = "damaged_audit"  # that day's audit events are not restored
    DAMAGED_DECISION = "damaged_decision"  # an exemption (免报) that could not be read


DAMAGE = frozenset(
    {
        SkipKind.DAMAGED,
        SkipKind.DAMAGED_RECEIPT,
        SkipKind.DAMAGED_AUDIT,
        SkipKind.DAMAGED_DECISION,
    }
)


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
    exemptions: int = 0
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
            "exemptions": self.exemptions,
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
    progress: Progress = no_progress,
    takedown: Collection[str] = (),
) -> Rebuild:
    """Fill an empty catalog from the archive, in one transaction (`Conflict` when the
    catalog is not empty). Package prefixes come sorted, so the packages of one body,
    kind and period arrive together; each such group is read, then written.
    `takedown`: the destinations that can withdraw; a withdrawn filing whose takedown
    there left no receipt gets its withdraw job back, pending."""
    report = Rebuild()
    reader = _Reader(store, packages, now, actor, report, frozenset(takedown))
    with restore.restoring() as writer:
        ids = (PackageId.from_prefix(p) for p in packages.iter_packages())
        for _, group in itertools.groupby(ids, key=lambda p: (p.org_code, p.category, p.period)):
            for filing in reader.filings(list(group), progress):
                writer.add_filing(filing)
                report.count(filing)
        _restore_audit(store, writer, report, progress)
        _restore_exemptions(store, writer, report)
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
    withdrawal: WithdrawalRecord | None = None
    takedowns: Mapping[str, Any] = field(default_factory=dict)  # destination → its receipt

    @property
    def delivered(self) -> bool:
        return any(d.status == DeliveryStatus.DELIVERED for d in self.deliveries)


class _Reader:
    def __init__(
        self,
        store: ArchiveStore,
        packages: Packages,
        now: datetime,
        actor: str,
        report: Rebuild,
        takedown: frozenset[str] = frozenset(),
    ) -> None:
        self._takedown = takedown
        self._decided: set[str] = set()  # packages whose release a schedule decision set
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
            version = version_record(package, metadata, manifest.sha256)
            version = self._scheduled(prefix, version)
            due = max(self._now, version.publish_at) if version.publish_at else self._now
            receipts = self._receipts(prefix)
            deliveries = tuple(
                delivery_record(version, d, receipts, due) for d in metadata.destinations
            )
            if self._held(version):
                deliveries = tuple(_hold(d) for d in deliveries)
            deliveries = self._replaced(prefix, deliveries, receipts, due)
            deliveries += tuple(not_enabled_record(version, d) for d in metadata.not_enabled)
            org_name = str(metadata.submitted["org_name"])
        except (ArchiveError, UnicodeDecodeError, KeyError, TypeError, ValueError) as exc:
            self._report.skip(SkipKind.DAMAGED, prefix, f"{METADATA}: {exc!r}")
            return None
        settled = all(d.status in _SETTLED for d in deliveries)
        status = VersionStatus.PUBLISHED if settled else VersionStatus.ARCHIVED
        withdrawal, takedowns = self._withdrawal(receipts)
        return _Read(replace(version, status=status), deliveries, org_name, withdrawal, takedowns)

    def _scheduled(self, prefix: str, version: VersionRecord) -> VersionRecord:
        """The version with the release time its last schedule decision set (None: held)."""
        stored = self._packages.latest_decision(prefix, DECISION_KIND)
        if stored is None:
            return version
        decided = self._packages.read_receipt(stored).get("publish_at")
        publish_at = datetime.fromisoformat(decided) if isinstance(decided, str) else None
        self._decided.add(prefix)
        return replace(version, publish_at=publish_at)

    def _replaced(
        self,
        prefix: str,
        deliveries: tuple[DeliveryRecord, ...],
        receipts: Receipts,
        due: datetime,
    ) -> tuple[DeliveryRecord, ...]:
        """Each delivery a person decided to send in place of the report its destination
        held (decisions/replace_{destination}-….json): superseded, beside its replace
        delivery (delivered where its receipt is archived, else pending)."""
        restored: list[DeliveryRecord] = []
        for d in deliveries:
            stored = None
            if d.status is not DeliveryStatus.DELIVERED:
                stored = self._packages.latest_decision(prefix, decision_kind(d.destination))
            if stored is None:
                restored.append(d)
                continue
            try:
                decision = self._packages.read_receipt(stored)
                receipt = receipts.deliveries.get(f"{d.destination}{REPLACE_SUFFIX}")
                restored.extend(replaced_pair(d, decision, receipt, due))
            except (ArchiveError, KeyError, TypeError, ValueError) as exc:
                self._report.skip(SkipKind.DAMAGED_DECISION, stored.key, repr(exc))
                restored.append(d)
        return tuple(restored)

    def _held(self, version: VersionRecord) -> bool:
        return version.package_prefix in self._decided and version.publish_at is None

    def _withdrawal(self, receipts: Receipts) -> tuple[WithdrawalRecord | None, dict[str, Any]]:
        """The withdrawal archived beside the package, if any, and its takedowns' receipts."""
        takedowns = {
            name.removesuffix(RECEIPT_SUFFIX): receipt
            for name, receipt in receipts.deliveries.items()
            if name.endswith(RECEIPT_SUFFIX)
        }
        record = receipts.deliveries.get(RECORD_NAME)
        if record is None:
            return None, takedowns
        try:
            found = withdrawal_from_document(record.document, record.key, record.sha256)
        except (KeyError, TypeError, ValueError) as exc:
            self._report.skip(SkipKind.DAMAGED_RECEIPT, record.key, repr(exc))
            return None, takedowns
        return found, takedowns

    def _receipts(self, prefix: str) -> Receipts:
        """Each destination's delivery receipt and review outcome (a document of kind
        `review`); the last in key order of each, as the worker and the tick find them."""
        found = Receipts()
        for key in self._packages.list_receipts(prefix):
            destination = key.removeprefix(f"{prefix}receipts/").rpartition("-")[0]
            try:
                receipt = read_receipt(self._store, key)
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
        filing = FilingRecord(
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
            variant=_variant(first.metadata),
        )
        withdrawn = [r for r in restored if r.withdrawal is not None]
        return self._withdrawn(filing, withdrawn[-1]) if withdrawn else filing

    def _withdrawn(self, filing: FilingRecord, read: _Read) -> FilingRecord:
        """A withdrawn filing as the withdrawal left it: its versions withdrawn, what had not
        gone out cancelled, and a withdraw job to each destination it reached that can
        take it down (delivered where its takedown receipt is archived, else pending)."""
        versions = tuple(
            replace(v, status=VersionStatus.WITHDRAWN) if v.status in WITHDRAWABLE_STATUSES else v
            for v in filing.versions
        )
        published = [
            replace(d, status=DeliveryStatus.CANCELLED) if d.status is DeliveryStatus.PENDING else d
            for d in filing.deliveries
        ]
        reached = {d.destination for d in published if d.status is DeliveryStatus.DELIVERED}
        due = self._now
        destinations = sorted(set(read.takedowns) | (reached & self._takedown))
        jobs = [
            withdraw_job(filing.id, read.version.version, d, read.takedowns.get(d), due)
            for d in destinations
        ]
        return replace(
            filing,
            versions=versions,
            deliveries=(*published, *jobs),
            withdrawal=read.withdrawal,
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


def _restore_exemptions(store: ArchiveStore, writer: RestoreWriter, report: Rebuild) -> None:
    found = []
    for key, read in read_exemptions(store):
        if isinstance(read, Exception):
            report.skip(SkipKind.DAMAGED_DECISION, key, repr(read))
        else:
            found.append(read)
    writer.add_exemptions(found)
    report.exemptions = len(found)


def _read_audit(store: ArchiveStore, key: str) -> list[AuditEntry]:
    stored = store.stat(key)
    if stored is None:
        raise ObjectMissing(key)
    with store.open(key) as raw, verifying_reader(raw, stored.sha256, what=key) as stream:
        return parse_audit_lines(stream.read())


def _hold(delivery: DeliveryRecord) -> DeliveryRecord:
    """A delivery the schedule holds: one without a receipt stays held, not pending."""
    if delivery.status is DeliveryStatus.PENDING:
        return replace(delivery, status=DeliveryStatus.HELD)
    return delivery


def _variant(metadata: Mapping[str, Any]) -> str | None:
    """The budget kind the first version was filed as (its FilingKey's variant)."""
    budget = metadata.get("budget")
    kind = budget.get("kind") if isinstance(budget, Mapping) else None
    return kind if isinstance(kind, str) else None
