"""Replacing the report a destination already holds (the legal platform's 40901: a
different report for the body and year, filed by hand or by another system).

Only a person decides it, for the latest version, once its delivery there failed as a
conflict; the report then goes again in a new delivery (action `replace`, its own
idempotency key, so its own request_id) as the destination's latest version + 1.

    | the latest version's deliveries there       | replace-existing         |
    |---------------------------------------------|--------------------------|
    | a replace delivery already                  | 200, the same result     |
    | a publish delivery failed as a conflict     | 202, a replace delivery  |
    | anything else                               | 409 no_conflict          |

The decision is archived beside the package (decisions/replace_{destination}-….json);
a catalog rebuild reads it back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from service.domain.errors import Conflict
from service.domain.filing import DeliveryAction, DeliveryStatus, idempotency_key

REASON_MAX_CHARS = 200
CONFLICT = "conflict"  # a delivery's state: the report the destination holds instead
REPLACING = "replacing"  # a replace delivery's state: the report it replaces, and why
PLATFORM_VERSION = "platform_version"  # the destination's version number to send
RECEIPT_SUFFIX = "_replace"  # receipts/legal_platform_replace-000001.json


@dataclass(frozen=True)
class ExistingReport:
    """What the destination holds instead of ours: its receipt, file hash and version."""

    receipt_no: str
    file_sha256: str
    version: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "receipt_no": self.receipt_no,
            "file_sha256": self.file_sha256,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, found: Mapping[str, Any]) -> ExistingReport | None:
        receipt_no, sha256, version = (
            found.get("receipt_no"), found.get("file_sha256"), found.get("version")
        )  # fmt: skip
        if not isinstance(receipt_no, str) or not isinstance(sha256, str):
            return None
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            return None
        return cls(receipt_no, sha256, version)


class DeliveryState(Protocol):
    """The facts of a delivery these rules read (DeliveryRecord has them)."""

    @property
    def status(self) -> DeliveryStatus: ...
    @property
    def action(self) -> DeliveryAction: ...
    @property
    def state(self) -> Mapping[str, Any]: ...


D = TypeVar("D", bound=DeliveryState)


def replacement_key(filing_id: str, version: int, destination: str) -> str:
    """The replace delivery's own idempotency key: never the failed delivery's."""
    return f"{idempotency_key(filing_id, version, destination)}-replace"


def decision_kind(destination: str) -> str:
    return f"replace_{destination}"


def existing_report(delivery: DeliveryState) -> ExistingReport | None:
    """The report the destination holds instead, for a publish delivery that failed (or
    was replaced after failing) as a conflict; None otherwise."""
    if delivery.action is not DeliveryAction.PUBLISH:
        return None
    if delivery.status not in (DeliveryStatus.FAILED, DeliveryStatus.SUPERSEDED):
        return None
    found = delivery.state.get(CONFLICT)
    return ExistingReport.from_dict(found) if isinstance(found, Mapping) else None


def replace_state(existing: ExistingReport, reason: str, by: str) -> dict[str, Any]:
    """A replace delivery's state: the destination's version to send, and what it replaces."""
    return {
        PLATFORM_VERSION: existing.version + 1,
        REPLACING: {**existing.to_dict(), "reason": reason, "by": by},
    }


def conflicted(deliveries: Iterable[D]) -> D:
    """Of the latest version's deliveries to one destination: the replace delivery made
    before (a repeat), or the publish delivery failed as a conflict; else Conflict."""
    listed = list(deliveries)
    for delivery in listed:
        if delivery.action is DeliveryAction.REPLACE:
            return delivery
    for delivery in listed:
        if delivery.status is DeliveryStatus.FAILED and existing_report(delivery):
            return delivery
    raise no_conflict()


def no_conflict() -> Conflict:
    return Conflict(
        "该报送最新版本在该平台的投递没有因平台已有报告而失败，无需替换",
        "The latest version's delivery there did not fail as a conflict: nothing to replace",
        code="no_conflict",
    )
