"""The `DestinationAdapter` port: deliver one filing version to one destination.

An adapter translates its protocol's answers into one of three outcomes and never
raises for a remote failure:

    Delivered(receipt)            the destination holds it; `receipt` is its proof
    RetryLater(...)               transient: the outbox reschedules the delivery
    Failed(...)                   permanent: no retry can fix it

The adapter keeps whatever it must resend identically on a later attempt (an
uploaded attachment id, the first try's request body) in `job.state` and saves it
through `journal.save(state)` *before* the call whose retry depends on it; the
next attempt — on any worker, after any restart — gets that state back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO, Protocol

from service.domain.destinations import Capability


@dataclass(frozen=True)
class ArchivedFile:
    filename: str
    kind: str  # "docx", "pdf", "txt", "md", … (detected from content)
    media_type: str
    sha256: str
    size: int
    open: Callable[[], AbstractContextManager[BinaryIO]]


@dataclass(frozen=True)
class DeliveryJob:
    delivery_id: str
    idempotency_key: str
    source_id: str
    filing_id: str
    version: int
    category: str
    org_code: str
    org_name: str
    period: str
    title: str
    publish_at: datetime | None
    paragraphs: tuple[str, ...]
    file: ArchivedFile
    replaces: Mapping[str, Any] | None = None  # the receipt of the delivered version this corrects
    correction_reason: str | None = None  # why this version replaces the one before
    # the receipts of the destinations this one needs first (DestinationSpec.after), by name
    prior_receipts: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    state: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class WithdrawJob:
    """Take a withdrawn filing's items down at one destination (Capability.WITHDRAW).
    `published`: the receipts of the filing's versions delivered there, oldest first (an
    empty tuple: nothing was published, and the job completes as not_published)."""

    delivery_id: str
    idempotency_key: str
    filing_id: str
    org_code: str
    reason: str
    requested_by: str
    published: tuple[Mapping[str, Any], ...]
    state: Mapping[str, Any] = field(default_factory=dict)
    # The journals of the filing's deliveries there that failed: an adapter whose failure
    # can come after the item went out (its journal names it) takes that down too.
    failed_journals: tuple[Mapping[str, Any], ...] = ()


@dataclass(frozen=True)
class Delivered:
    receipt: dict[str, Any]
    http_status: int | None = None
    # what the adapter did besides publishing that the audit log must hold (a mass message)
    audit: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryLater:
    code: str
    message: str
    http_status: int | None = None
    retry_after: float | None = None  # seconds the destination asked us to wait
    # an operator must hear of it although it is retried (a daily quota used up: nothing
    # goes there before tomorrow)
    notify: bool = False


@dataclass(frozen=True)
class Failed:
    code: str
    message: str
    http_status: int | None = None
    # what the destination said besides (a conflict: the report it holds instead)
    detail: Mapping[str, Any] = field(default_factory=dict)


Outcome = Delivered | RetryLater | Failed


class Journal(Protocol):
    def save(self, state: Mapping[str, Any]) -> None:
        """Persist the adapter's state for this delivery before a call whose retry needs it."""
        ...


class DestinationAdapter(Protocol):
    """One destination's client. `capabilities` says what it does besides delivering:
    PARAGRAPHS (the worker reads the document's paragraphs for it), REVIEWS (it is a
    ReviewingAdapter: the tick polls its review outcomes), WITHDRAW (it is a
    WithdrawingAdapter: it takes a withdrawn filing's items down)."""

    destination: str
    capabilities: frozenset[Capability]

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome: ...


# -- reviews: what a destination that reviews what it receives answers a poll ----------------


@dataclass(frozen=True)
class ReviewStatus:
    """Where the platform's review of a report stands."""

    receipt_no: str
    status: str  # RECEIVED | ACCEPTED | RETURNED
    return_reason: str | None = None
    updated_at: str | None = None

    @property
    def is_final(self) -> bool:
        """ACCEPTED and RETURNED are final: stop polling that receipt."""
        return self.status != "RECEIVED"


@dataclass(frozen=True)
class UnknownReceipt:
    """40401: the platform knows no such receipt. Record it, stop polling, show it to people."""

    receipt_no: str
    message: str


@dataclass(frozen=True)
class ReviewUnavailable:
    """The platform could not say this time. `permanent`: a configuration error (40101,
    40301 …) no later poll fixes until the configuration changes; otherwise poll again,
    not before `retry_after` seconds when given."""

    code: str
    message: str
    http_status: int | None = None
    retry_after: float | None = None
    permanent: bool = False


ReviewPoll = ReviewStatus | UnknownReceipt | ReviewUnavailable


class ReviewingAdapter(DestinationAdapter, Protocol):
    """A destination that reviews what it receives (Capability.REVIEWS): the tick polls
    each delivered item's review until it is final."""

    def poll_review(self, receipt_no: str, org_code: str) -> ReviewPoll: ...


# -- withdrawals: taking a withdrawn filing's items down -------------------------------------


class WithdrawingAdapter(DestinationAdapter, Protocol):
    """A destination that can take an item down again (Capability.WITHDRAW). The outcomes as
    for a delivery; Delivered's receipt is `{"status": "withdrawn" | "not_published",
    "articles": [...]}`. Idempotent: a repeat after a lost answer is harmless."""

    def withdraw(self, job: WithdrawJob, journal: Journal) -> Outcome: ...
