"""Stamping: each stamp job (an archived file: a package's tag manifest, later a capture's
WARC) is sent to the TSA, its token archived write-once beside the file and what it says
recorded — retried like a delivery (service.delivery.policy), never blocking a filing.

    stamper = Stamper(catalog, proofs, tsa, roots, policy=…, lease=…, clock=…, worker="w1")
    stamp_due(stamper)               # → StampRound(stamped=…, retried=…, failed=…)
    stamp_file(catalog, filing_id, version, key)  # queue another file (a capture) for stamping

A token already archived (a crash between archiving and recording it) is checked and
recorded instead of asking the TSA again: the archive is write-once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from cryptography import x509

from service import metrics
from service.archive.packages.names import TAG_MANIFEST
from service.archive.packages.proof import Proofs, token_key
from service.catalog.ports import Timestamps
from service.catalog.records import AuditEvent, StampJob, StampResult, TimestampRecord
from service.delivery.policy import Action, RetryPolicy, decide
from service.delivery.port import Failed, RetryLater
from service.domain.errors import ArchiveError, ArchiveUnavailable
from service.domain.proof import StampStatus, TokenFacts
from service.proof.port import Stamped, TimestampAuthority
from service.proof.tokens import check_token

log = structlog.get_logger()
MAX_PER_ROUND = 50  # a round is bounded; what is left waits for the next one


@dataclass(frozen=True)
class Stamper:
    catalog: Timestamps
    proofs: Proofs
    tsa: TimestampAuthority | None  # None: no TSA configured, the jobs wait
    roots: Sequence[x509.Certificate]
    policy: RetryPolicy
    lease: timedelta
    clock: Callable[[], datetime]
    worker: str


@dataclass
class StampRound:
    stamped: int = 0
    retried: int = 0
    failed: int = 0


def stamp_file(catalog: Timestamps, filing_id: str, version: int, key: str) -> int:
    """Queue an archived file for stamping (once: a second call adds nothing)."""
    return catalog.enqueue_stamps([StampJob(filing_id, version, key)])


def stamp_due(stamper: Stamper) -> StampRound:
    found = StampRound()
    if stamper.tsa is None:
        return found
    for job in stamper.catalog.claim_due_stamps(stamper.worker, MAX_PER_ROUND, stamper.lease):
        result = _attempt(stamper, stamper.tsa, job)
        _settle(stamper, job, result)
        found.stamped += result.status == StampStatus.STAMPED
        found.failed += result.status == StampStatus.FAILED
        found.retried += result.status == StampStatus.PENDING
    return found


def _attempt(stamper: Stamper, tsa: TimestampAuthority, job: TimestampRecord) -> StampResult:
    try:
        digest = _stamped_digest(stamper.proofs, job.stamped_key)
        earlier = _archived_token(stamper, job, digest)
        if earlier is not None:
            return earlier
        outcome = tsa.stamp(digest)
        if isinstance(outcome, Stamped):
            stored = stamper.proofs.put_token(job.stamped_key, outcome.response)
            return _stamped(outcome.facts.tsa, stored.key, stored.sha256, outcome.facts)
    except (ArchiveError, ArchiveUnavailable) as exc:
        outcome = RetryLater("archive_unavailable", f"{type(exc).__name__}: {exc}")
    return _rescheduled(stamper, job, outcome)


def _stamped_digest(proofs: Proofs, key: str) -> bytes:
    """The SHA-256 of the file to stamp, re-hashed from storage a chunk at a time; a tag
    manifest a crash left unwritten is written first."""
    if key.endswith("/" + TAG_MANIFEST) and proofs.stat(key) is None:
        proofs.put_tag_manifest(key.removesuffix(TAG_MANIFEST))
    return proofs.sha256(key)


def _archived_token(stamper: Stamper, job: TimestampRecord, digest: bytes) -> StampResult | None:
    key = token_key(job.stamped_key)
    if stamper.proofs.stat(key) is None:
        return None
    response = stamper.proofs.read(key)
    check = check_token(response, digest, stamper.roots)
    if check.facts is None:
        code = check.problem.code if check.problem else "timestamp_invalid"
        return StampResult(StampStatus.FAILED, last_error=code)
    sha256 = hashlib.sha256(response).hexdigest()
    return _stamped(check.facts.tsa, key, sha256, check.facts)


def _stamped(tsa: str, key: str, sha256: str, facts: TokenFacts) -> StampResult:
    return StampResult(
        StampStatus.STAMPED, tsa=tsa, token_key=key, token_sha256=sha256,
        gen_time=facts.gen_time, serial_number=facts.serial_number,
    )  # fmt: skip


def _rescheduled(
    stamper: Stamper, job: TimestampRecord, outcome: RetryLater | Failed
) -> StampResult:
    now = stamper.clock()
    decision = decide(
        outcome, attempts=job.attempts + 1, first_attempt_at=job.first_attempt_at or now,
        now=now, policy=stamper.policy,
    )  # fmt: skip
    error = f"{outcome.code}: {outcome.message}"
    if decision.action is Action.RETRY:
        return StampResult(StampStatus.PENDING, decision.next_attempt_at, last_error=error)
    return StampResult(StampStatus.FAILED, last_error=error)


_OUTCOMES = {StampStatus.STAMPED: "stamped", StampStatus.PENDING: "retry",
             StampStatus.FAILED: "failed"}  # fmt: skip


def _file_kind(key: str) -> str:
    return "package" if key.endswith("/" + TAG_MANIFEST) else "capture"


def _settle(stamper: Stamper, job: TimestampRecord, result: StampResult) -> None:
    action = {
        StampStatus.STAMPED: "timestamp.stamped",
        StampStatus.FAILED: "timestamp.failed",
    }.get(StampStatus(result.status), "timestamp.retry_scheduled")
    event = AuditEvent(
        actor=stamper.worker, role="system", action=action,
        subject=f"{job.filing_id}/v{job.version}",
        detail={"file": job.stamped_key, "tsa": result.tsa, "error": result.last_error,
                "serial_number": result.serial_number},
    )  # fmt: skip
    assert job.lease_owner is not None
    settled = stamper.catalog.settle_stamp(job.id, job.lease_owner, result, event)
    metrics.TIMESTAMP_ATTEMPTS.labels(
        _file_kind(job.stamped_key), _OUTCOMES[StampStatus(result.status)]
    ).inc()
    log.info(
        "stamp_attempted", filing_id=job.filing_id, version=job.version, file=job.stamped_key,
        status=result.status, error=result.last_error, lease_kept=settled,
    )  # fmt: skip
