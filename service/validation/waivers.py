"""Waivers (豁免): an authorised person's written exception to an error finding.

    findings, applied = apply_waivers(findings, metadata.waivers, by="admin-li", may_waive=True)

A waived error stays on record, marked with who waived it and why, and no longer
blocks. Some errors cannot be waived at all: without a readable file, a valid body and
period, a secrecy review, or a destination that can take the file, there is nothing
that may be published.

    waiver_not_permitted   the submitting token's role may not waive (warning)
    waiver_not_waivable    that code cannot be waived (warning)
    waiver_unused          no error with that code to waive (warning)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from service.domain.findings import Finding, warning
from service.domain.metadata import Waiver

NOT_WAIVABLE = frozenset(
    {
        "file_empty",
        "file_type_unsupported",
        "file_unreadable",
        "file_too_complex",
        "file_no_text",
        "org_code_invalid",
        "org_not_registered",
        "period_invalid",
        "review_missing",
        "review_not_approved",
        "destination_file_type",
        "destination_file_too_large",
        "correction_mismatch",
    }
)


@dataclass(frozen=True)
class AppliedWaiver:
    code: str
    reason: str
    waived_by: str
    findings: int  # how many findings it waived

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def apply_waivers(
    findings: Sequence[Finding], waivers: Sequence[Waiver], *, by: str | None, may_waive: bool
) -> tuple[list[Finding], list[AppliedWaiver]]:
    out = list(findings)
    applied: list[AppliedWaiver] = []
    notes: list[Finding] = []
    for i, waiver in enumerate(waivers):
        where = f"metadata.waivers[{i}]"
        targets = [n for n, f in enumerate(out) if f.code == waiver.code and f.blocks]
        if not may_waive or by is None:
            notes.append(_not_permitted(waiver.code, where))
        elif waiver.code in NOT_WAIVABLE:
            notes.append(_not_waivable(waiver.code, where))
        elif not targets:
            notes.append(_unused(waiver.code, where))
        else:
            for n in targets:
                out[n] = dataclasses.replace(out[n], waived_by=by, waiver_reason=waiver.reason)
            applied.append(AppliedWaiver(waiver.code, waiver.reason, by, len(targets)))
    return out + notes, applied


def _not_permitted(code: str, where: str) -> Finding:
    return warning(
        "waiver_not_permitted",
        f"对“{code}”的豁免未生效：只有管理员可以豁免错误",
        f"The waiver of {code} was not applied: only an admin may waive an error",
        where=where,
    )


def _not_waivable(code: str, where: str) -> Finding:
    return warning(
        "waiver_not_waivable",
        f"“{code}”不可豁免",
        f"{code} cannot be waived",
        where=where,
    )


def _unused(code: str, where: str) -> Finding:
    return warning(
        "waiver_unused",
        f"没有可豁免的“{code}”错误",
        f"There is no {code} error to waive",
        where=where,
    )
