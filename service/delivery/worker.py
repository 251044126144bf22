"""The worker: claims due deliveries under a lease, runs each through its destination
adapter, records every attempt and decides what happens next. A withdraw job (a row whose
action is `withdraw`) goes to the adapter's `withdraw` with the receipts of the filing's
delivered versions there; while a publish delivery of the filing to that destination is
still in flight it waits, untried, for it to settle.

Several workers (threads here, processes across machines) drain one outbox; the
lease makes each delivery one worker's at a time, and the idempotency key makes a
repeat after a crash harmless at the destination.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import structlog

from service import metrics
from service.archive.packages import Packages
from service.archive.retention import filing_period
from service.catalog.ports import DeliveryCatalog
from service.catalog.records import (
    AttemptRecord,
    DeliveryRecord,
    FilingRecord,
    VersionRecord,
)
from service.delivery.policy import Action, Decision, RetryPolicy, decide
from service.delivery.port import (
    ArchivedFile,
    Delivered,
    DeliveryJob,
    DestinationAdapter,
    Failed,
    Outcome,
    RetryLater,
    WithdrawingAdapter,
    WithdrawJob,
)
from service.delivery.records import (
    MESSAGE_LIMIT,
    attempt_record,
    deferral_notices,
    failure_notices,
    receipt_name,
    settled_events,
)
from service.domain.destinations import Capability
from service.domain.errors import (
    AlreadyExists,
    ArchiveError,
    ArchiveUnavailable,
    FixityMismatch,
    Unavailable,
)
from service.domain.filing import PUBLISHING_ACTIONS, DeliveryAction, DeliveryStatus, source_id
from service.domain.notifications import Recipients
from service.domain.outbox import Ready, Unmet, Waiting, prerequisites
from service.reading.port import DocumentReader

log = structlog.get_logger()
# One receipt object per delivery: a repeat after a crash finds it instead of writing a second.
DELIVERY_RECEIPT_SEQ = 1


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    concurrency: int
    lease: timedelta
    poll_s: float
    policy: RetryPolicy
    # how long a delivery waiting on another destination's (DestinationSpec.after) waits
    # before it looks again; the wait is no attempt
    wait: timedelta = timedelta(seconds=5)


class LeaseLost(Exception):
    """Another claim owns the delivery now: this attempt must not call the destination."""


class _Journal:
    """Saves an adapter's state for one delivery under the claim's lease, renewing it; raises
    `LeaseLost` when the lease has gone, so no call follows that the new owner might repeat
    with a different body."""

    def __init__(
        self, catalog: DeliveryCatalog, delivery: DeliveryRecord, renew: timedelta
    ) -> None:
        assert delivery.lease_owner is not None, "a delivery is journaled only under a claim"
        self._catalog = catalog
        self._delivery_id = delivery.id
        self._lease = delivery.lease_owner
        self._renew = renew
        self.state: dict[str, Any] = dict(delivery.state)

    def save(self, state: Mapping[str, Any]) -> None:
        self.state = {**self.state, **state}
        if not self._catalog.save_delivery_state(
            self._delivery_id, self._lease, self.state, self._renew
        ):
            raise LeaseLost(self._delivery_id)


class Worker:
    def __init__(
        self,
        *,
        catalog: DeliveryCatalog,
        packages: Packages,
        adapters: Mapping[str, DestinationAdapter],
        config: WorkerConfig,
        clock: Callable[[], datetime],
        reader: DocumentReader,
        after: Mapping[str, Sequence[str]] | None = None,
        recipients: Recipients | None = None,
    ) -> None:
        """`reader` reads an archived document when an adapter needs its paragraphs (in
        `serve`, the reading pool, so no document is parsed in the serving process).
        `after`: by destination, the destinations whose receipts its deliveries need first.
        `recipients`: who is told when a delivery fails for good (nobody: None)."""
        self._after = after or {}
        self._recipients = recipients or Recipients()
        self._catalog = catalog
        self._packages = packages
        self._adapters = adapters
        self._reader = reader
        self._config = config
        self._clock = clock
        self._pool = ThreadPoolExecutor(config.concurrency, thread_name_prefix="delivery")

    @property
    def worker_id(self) -> str:
        return self._config.worker_id

    def run(self, stop: threading.Event) -> None:
        """Drain the outbox until `stop` is set, keeping every slot busy: a slot that frees up
        is filled by the next claim, not held until the whole batch ends. On stop the current
        attempts finish and the leases are released."""
        log.info("worker_started", worker=self.worker_id, concurrency=self._config.concurrency)
        in_flight: dict[Future[None], str] = {}
        try:
            while not stop.is_set():
                in_flight |= self._claim_into_free_slots(in_flight)
                if not in_flight:
                    stop.wait(self._config.poll_s)
                    continue
                done, _ = wait(in_flight, self._config.poll_s, FIRST_COMPLETED)
                for future in done:
                    del in_flight[future]
                    self._surface(future)
        finally:
            wait(in_flight)
            released = self._catalog.release_leases(self.worker_id)
            self._pool.shutdown(wait=True)
            log.info("worker_stopped", worker=self.worker_id, released_leases=released)

    @staticmethod
    def _surface(future: Future[None]) -> None:
        """An attempt that could not even be recorded (the catalog went away) is logged; its
        lease runs out and the delivery is tried again, here or by another worker."""
        try:
            future.result()
        except Exception:
            log.exception("delivery_attempt_unrecorded")

    def _claim_into_free_slots(
        self, in_flight: Mapping[Future[None], str]
    ) -> dict[Future[None], str]:
        """Claim as many due deliveries as there are free slots — never one still in flight
        here, even if its lease ran out (the attempt is still going)."""
        free = self._config.concurrency - len(in_flight)
        if free <= 0:
            return {}
        try:
            claimed = self._catalog.claim_due_deliveries(
                self.worker_id, free, self._config.lease, exclude=set(in_flight.values())
            )
        except Unavailable:
            log.warning("claim_failed_catalog_unavailable", worker=self.worker_id)
            return {}
        return {self._pool.submit(self.process, d): d.id for d in claimed}

    def run_once(self) -> int:
        """Claim one batch of due deliveries and process them concurrently; returns how many."""
        claimed = self._catalog.claim_due_deliveries(
            self.worker_id, self._config.concurrency, self._config.lease
        )
        for future in [self._pool.submit(self.process, d) for d in claimed]:
            future.result()
        return len(claimed)

    def process(self, delivery: DeliveryRecord) -> None:
        bound = log.bind(
            delivery_id=delivery.id,
            filing_id=delivery.filing_id,
            version=delivery.version,
            destination=delivery.destination,
            worker=self.worker_id,
        )
        if delivery.action is DeliveryAction.WITHDRAW:
            self._process_withdrawal(delivery, bound)
            return
        gate = self._prerequisites(delivery)
        if isinstance(gate, Waiting):
            self._postpone(delivery, gate, bound)
            return
        started, t0 = self._clock(), time.monotonic()
        journal = _Journal(self._catalog, delivery, self._config.lease)
        version = self._catalog.get_version(delivery.filing_id, delivery.version)
        assert version is not None  # a delivery row exists only for an archived version
        outcome = (
            Failed("prerequisite_unmet", f"{gate.destination}: {gate.reason}")
            if isinstance(gate, Unmet)
            else self._attempt(delivery, version, journal, bound, gate.receipts)
        )
        self._conclude(delivery, version, outcome, (started, t0), bound)

    def _process_withdrawal(self, delivery: DeliveryRecord, bound: Any) -> None:
        filing = self._catalog.get_filing(delivery.filing_id, with_attempts=False)
        assert filing is not None  # a withdraw job exists only for a filing
        there = [
            d
            for d in filing.deliveries
            if d.destination == delivery.destination and d.action in PUBLISHING_ACTIONS
        ]
        if any(d.status is DeliveryStatus.PENDING for d in there):
            self._postpone(delivery, Waiting((delivery.destination,)), bound)
            return
        started, t0 = self._clock(), time.monotonic()
        journal = _Journal(self._catalog, delivery, self._config.lease)
        version = self._catalog.get_version(delivery.filing_id, delivery.version)
        assert version is not None
        outcome = self._attempt_withdrawal(delivery, filing, there, journal, bound)
        self._conclude(delivery, version, outcome, (started, t0), bound)

    def _attempt_withdrawal(
        self,
        delivery: DeliveryRecord,
        filing: FilingRecord,
        there: Sequence[DeliveryRecord],
        journal: _Journal,
        bound: Any,
    ) -> Outcome:
        adapter = self._adapters.get(delivery.destination)
        if adapter is None or Capability.WITHDRAW not in adapter.capabilities:
            return Failed("withdraw_not_supported", f"{delivery.destination} cannot withdraw")
        assert filing.withdrawal is not None  # a withdraw job exists only for a withdrawal
        job = WithdrawJob(
            delivery_id=delivery.id,
            idempotency_key=delivery.idempotency_key,
            filing_id=filing.id,
            org_code=filing.org_code,
            reason=filing.withdrawal.reason,
            requested_by=filing.withdrawal.by,
            published=tuple(
                d.receipt
                for d in sorted(there, key=lambda d: d.version)
                if d.status is DeliveryStatus.DELIVERED and d.receipt is not None
            ),
            state=journal.state,
            failed_journals=tuple(
                d.state for d in there if d.status is DeliveryStatus.FAILED and d.state
            ),
        )
        withdrawing: WithdrawingAdapter = adapter  # type: ignore[assignment]
        try:
            return withdrawing.withdraw(job, journal)
        except LeaseLost:
            bound.warning("lease_lost_before_calling_the_destination")
            return RetryLater("lease_lost", "another claim owns this delivery now")
        except Exception as exc:  # an adapter bug must not kill the worker or lose the row
            bound.exception("withdrawal_attempt_crashed")
            return RetryLater("worker_error", repr(exc)[:MESSAGE_LIMIT])

    def _conclude(
        self,
        delivery: DeliveryRecord,
        version: VersionRecord,
        outcome: Outcome,
        began: tuple[datetime, float],
        bound: Any,
    ) -> None:
        """Decide what the outcome means for the row, record the attempt, settle."""
        started, t0 = began
        duration_ms = int((time.monotonic() - t0) * 1000)
        number = delivery.attempts + 1
        decision = decide(
            outcome,
            attempts=number,
            first_attempt_at=delivery.first_attempt_at or started,
            now=self._clock(),
            policy=self._config.policy,
        )
        attempt = attempt_record(number, self.worker_id, started, duration_ms, outcome)
        metrics.DELIVERY_ATTEMPTS.labels(delivery.destination, attempt.outcome).inc()
        self._settle(delivery, version, outcome, decision, attempt, bound)

    def _prerequisites(self, delivery: DeliveryRecord) -> Ready | Waiting | Unmet:
        after = self._after.get(delivery.destination, ())
        if not after:
            return Ready({})
        filing = self._catalog.get_filing(delivery.filing_id, with_attempts=False)
        assert filing is not None  # a delivery row exists only for a filing
        siblings = {
            d.destination: (d.status, d.receipt)
            for d in filing.deliveries
            if d.version == delivery.version
        }
        return prerequisites(after, siblings)

    def _postpone(self, delivery: DeliveryRecord, gate: Waiting, bound: Any) -> None:
        assert delivery.lease_owner is not None
        until = self._clock() + self._config.wait
        held = self._catalog.postpone_delivery(delivery.id, delivery.lease_owner, until)
        bound.info("delivery_waiting", on=list(gate.on), until=until, lease_held=held)

    def _attempt(
        self,
        delivery: DeliveryRecord,
        version: VersionRecord,
        journal: _Journal,
        bound: Any,
        receipts: Mapping[str, Mapping[str, Any]],
    ) -> Outcome:
        adapter = self._adapters.get(delivery.destination)
        if adapter is None:
            return Failed("destination_not_configured", f"no adapter for {delivery.destination}")
        try:
            with self._job(delivery, version, journal.state) as job:
                return adapter.deliver(replace(job, prior_receipts=receipts), journal)
        except LeaseLost:
            bound.warning("lease_lost_before_calling_the_destination")
            return RetryLater("lease_lost", "another claim owns this delivery now")
        except FixityMismatch as exc:
            bound.error("archived_file_damaged", error=str(exc))
            return Failed(
                "archive_fixity_mismatch", f"archived file failed its fixity check: {exc}"
            )
        except (ArchiveError, ArchiveUnavailable, OSError) as exc:
            return RetryLater("archive_unavailable", str(exc)[:MESSAGE_LIMIT])
        except Exception as exc:  # an adapter bug must not kill the worker or lose the row
            bound.exception("delivery_attempt_crashed")
            return RetryLater("worker_error", repr(exc)[:MESSAGE_LIMIT])

    @contextmanager
    def _job(
        self, delivery: DeliveryRecord, version: VersionRecord, state: Mapping[str, Any]
    ) -> Iterator[DeliveryJob]:
        """The job, with the archived file copied out (its SHA-256 checked on the way)."""
        with tempfile.TemporaryDirectory(prefix="delivery-") as tmp:
            local = Path(tmp) / "payload"
            with (
                self._packages.open_payload(version.package_prefix, version.filename) as src,
                local.open("wb") as dst,
            ):
                shutil.copyfileobj(src, dst, 1024 * 1024)
            yield self._build_job(delivery, version, local, state)

    def _build_job(
        self,
        delivery: DeliveryRecord,
        version: VersionRecord,
        local: Path,
        state: Mapping[str, Any],
    ) -> DeliveryJob:
        paragraphs: tuple[str, ...] = ()
        adapter = self._adapters[delivery.destination]
        if Capability.PARAGRAPHS in adapter.capabilities and "article_body" not in state:
            document, _ = self._reader.read(local, version.filename)
            paragraphs = document.paragraphs if document else ()
        meta = version.metadata
        return DeliveryJob(
            delivery_id=delivery.id,
            idempotency_key=delivery.idempotency_key,
            source_id=source_id(delivery.filing_id, delivery.version),
            filing_id=delivery.filing_id,
            version=delivery.version,
            category=meta["category"],
            org_code=meta["org_code"],
            org_name=meta["org_name"],
            period=meta["period"],
            title=version.title or "",
            # Never "now": a body rebuilt on a later attempt must equal the first one.
            publish_at=version.publish_at or version.created_at,
            paragraphs=paragraphs,
            correction_reason=meta.get("reason") if delivery.version > 1 else None,
            file=ArchivedFile(
                filename=version.filename,
                kind=version.kind,
                media_type=version.media_type,
                sha256=version.sha256,
                size=version.size,
                open=_opener(local),
            ),
            replaces=self._catalog.delivered_receipt_before(
                delivery.filing_id, delivery.version, delivery.destination
            )
            if delivery.version > 1
            else None,
            state=state,
        )

    def _settle(
        self,
        delivery: DeliveryRecord,
        version: VersionRecord,
        outcome: Outcome,
        decision: Decision,
        attempt: AttemptRecord,
        bound: Any,
    ) -> None:
        receipt_key = receipt_sha256 = None
        receipt = outcome.receipt if isinstance(outcome, Delivered) else None
        if receipt is not None:
            receipt_key, receipt_sha256 = self._archive_receipt(delivery, version, receipt)
        status = {
            Action.DONE: DeliveryStatus.DELIVERED,
            Action.RETRY: DeliveryStatus.PENDING,
            Action.GIVE_UP: DeliveryStatus.FAILED,
        }[decision.action]
        assert delivery.lease_owner is not None
        held = self._catalog.finish_attempt(
            delivery.id,
            delivery.lease_owner,
            attempt,
            status=status,
            next_attempt_at=decision.next_attempt_at,
            last_error=None if receipt else f"{attempt.code}: {attempt.message}",
            receipt=receipt,
            receipt_key=receipt_key,
            receipt_sha256=receipt_sha256,
            events=settled_events(delivery, decision, attempt, self.worker_id, outcome),
            notices=failure_notices(
                delivery, version, decision, attempt, self._clock, self._recipients
            )
            + deferral_notices(delivery, version, outcome, decision, self._clock, self._recipients),
        )
        bound.info(
            "delivery_attempt",
            outcome=attempt.outcome,
            action=decision.action.value,
            code=attempt.code,
            http_status=attempt.http_status,
            duration_ms=attempt.duration_ms,
            next_attempt_at=decision.next_attempt_at,
            lease_held=held,
        )

    def _archive_receipt(
        self, delivery: DeliveryRecord, version: VersionRecord, receipt: dict[str, Any]
    ) -> tuple[str, str]:
        document = {
            "destination": delivery.destination,
            "delivery_id": delivery.id,
            "filing_id": delivery.filing_id,
            "version": delivery.version,
            "idempotency_key": delivery.idempotency_key,
            "received_at": self._clock().isoformat(),
            "receipt": receipt,
        }
        try:
            stored = self._packages.put_receipt(
                version.package_prefix,
                receipt_name(delivery),
                document,
                seq=DELIVERY_RECEIPT_SEQ,
                retention=filing_period(version.metadata),
            )
        except AlreadyExists:
            stored = self._packages.existing_receipt(
                version.package_prefix, receipt_name(delivery), seq=DELIVERY_RECEIPT_SEQ
            )
        return stored.key, stored.sha256


def _opener(path: Path) -> Callable[[], AbstractContextManager[BinaryIO]]:
    def open_file() -> AbstractContextManager[BinaryIO]:
        return path.open("rb")

    return open_file
