"""Restoring the timestamps from the archive alone, after `rebuild_catalog` (and the
backfill of packages archived before timestamps existed). For each acknowledged version:

    | in the archive beside the package       | its stamp job comes back        |
    |-----------------------------------------|---------------------------------|
    | tag manifest + a token that parses      | stamped: genTime, TSA, serial   |
    | tag manifest + a token that does not    | failed (`verify` says why)      |
    | tag manifest, no token                  | pending: the tick stamps it     |
    | no tag manifest (an older package)      | written now, then pending       |

Whether a token *verifies* is `verify`'s to say, against the roots configured then.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from service.archive.packages.proof import Proofs, tag_manifest_key, token_key
from service.catalog.ports import Timestamps
from service.catalog.records import StampJob, StampResult, VersionState
from service.domain.errors import ArchiveError
from service.domain.filing import ARCHIVED_STATUSES
from service.domain.proof import StampStatus
from service.proof.tokens import check_token


@dataclass
class StampsRestored:
    stamped: int = 0
    pending: int = 0
    failed: int = 0
    tag_manifests_written: int = 0
    unreadable: int = 0  # packages whose tag files could not be read: no job


def restore_stamps(
    catalog: Timestamps,
    proofs: Proofs,
    versions: Iterable[VersionState],
    *,
    progress: Callable[[VersionState], None] = lambda _: None,
) -> StampsRestored:
    found = StampsRestored()
    for version in versions:
        if version.status in ARCHIVED_STATUSES:
            _restore_one(catalog, proofs, version, found)
        progress(version)
    return found


def _restore_one(
    catalog: Timestamps, proofs: Proofs, version: VersionState, found: StampsRestored
) -> None:
    key = tag_manifest_key(version.package_prefix)
    job = StampJob(version.filing_id, version.version, key)
    try:
        if proofs.stat(key) is None:
            proofs.put_tag_manifest(version.package_prefix)
            found.tag_manifests_written += 1
        result = from_token(proofs, key)
    except ArchiveError:
        found.unreadable += 1
        return
    if result is None:
        found.pending += catalog.enqueue_stamps([job])
        return
    catalog.restore_stamp(job, result)
    found.stamped += result.status == StampStatus.STAMPED
    found.failed += result.status == StampStatus.FAILED


def from_token(proofs: Proofs, key: str) -> StampResult | None:
    tsr = token_key(key)
    if proofs.stat(tsr) is None:
        return None
    response = proofs.read(tsr)
    check = check_token(response, proofs.sha256(key), [])
    if check.facts is None:
        code = check.problem.code if check.problem else "timestamp_invalid"
        return StampResult(StampStatus.FAILED, last_error=code, token_key=tsr)
    return StampResult(
        StampStatus.STAMPED, tsa=check.facts.tsa, token_key=tsr,
        token_sha256=hashlib.sha256(response).hexdigest(), gen_time=check.facts.gen_time,
        serial_number=check.facts.serial_number,
    )  # fmt: skip
