"""What a destination can take, checked at ingest so a filing never waits in the outbox
for a delivery that can never succeed; and what an adapter can do besides delivering.
Each destination's own figures are in its registry entry (service.destinations)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from service.domain.filing import Destination
from service.domain.findings import Finding, error

MiB = 1024 * 1024


class Capability(StrEnum):
    """What a destination's adapter declares it does, besides delivering."""

    PARAGRAPHS = "paragraphs"  # builds what it publishes from the document's paragraphs
    REVIEWS = "reviews"  # the destination reviews what it receives; its outcome is polled
    WITHDRAW = "withdraw"  # it can take a published item down again (a WithdrawingAdapter)


@dataclass(frozen=True)
class DestinationLimits:
    destination: Destination
    attachment_kinds: frozenset[str]
    text_only_kinds: frozenset[str]
    max_bytes: int
    # it publishes on a body's own account: a body without one there skips it (未开通,
    # DeliveryStatus.NOT_ENABLED), which is neither a failure nor a wait
    needs_account: bool = False


def check_destination(kind: str, size: int, limits: DestinationLimits) -> list[Finding]:
    """Findings when `limits.destination` cannot take a file of this kind and size."""
    dest = limits.destination
    findings: list[Finding] = []
    if kind not in limits.attachment_kinds | limits.text_only_kinds:
        findings.append(
            error(
                "destination_file_type",
                f"{dest.label_zh}不接受 {kind.upper()} 格式的文件",
                f"The {dest.value} destination does not accept {kind} files",
                where=f"destination:{dest.value}",
            )
        )
    if kind in limits.attachment_kinds and size > limits.max_bytes:
        findings.append(
            error(
                "destination_file_too_large",
                f"文件大小 {size} 字节，超过{dest.label_zh}的上限 {limits.max_bytes} 字节",
                f"The file is {size} bytes, over the {dest.value} limit of {limits.max_bytes}",
                where=f"destination:{dest.value}",
            )
        )
    return findings


def without_account(
    routes: Iterable[Destination],
    limits: Mapping[Destination, DestinationLimits],
    accounts: Collection[str],
) -> tuple[list[Destination], list[Destination]]:
    """The routes a body's filing goes to, and those it skips (未开通): a destination that
    publishes on a body's own account (`needs_account`) when the body has none there."""
    going: list[Destination] = []
    skipped: list[Destination] = []
    for destination in routes:
        needs = destination in limits and limits[destination].needs_account
        (skipped if needs and destination.value not in accounts else going).append(destination)
    return going, skipped
