"""Comparing the archive with the catalog: what disagrees, and why; nothing changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from service.archive.packages import PackageId, Packages, package_prefix_of
from service.catalog.ports import Restore
from service.catalog.records import (
    VersionState,
)
from service.domain.filing import VersionStatus
from service.usecases.recovery.common import LIVE, STUCK_AFTER, Progress, no_progress


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
    progress: Progress = no_progress,
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
