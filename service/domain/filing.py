"""Filings, their categories, versions and deliveries: names and statuses.

Categories and destinations are open sets of codes (service.domain.codes): each is one
entry in its registry (service.categories, service.destinations). Statuses are closed."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from service.domain.codes import Code


class Category(Code):
    """A kind of filing (DOMAIN.md §1). Open: a kind is one entry in service.categories,
    which registers its code here; the six statutory kinds are registered below."""

    RULE_OF_LAW_REPORT: ClassVar[Category]
    GOV_INFO_ANNUAL_REPORT: ClassVar[Category]
    LEADERSHIP: ClassVar[Category]
    ORGANIZATION: ClassVar[Category]
    BUDGET_FINAL_ACCOUNTS: ClassVar[Category]
    LIVELIHOOD: ClassVar[Category]


Category.RULE_OF_LAW_REPORT = Category.register(
    "rule_of_law_report", "法治政府建设情况报告", "annual rule-of-law government report"
)
Category.GOV_INFO_ANNUAL_REPORT = Category.register(
    "gov_info_annual_report",
    "政府信息公开工作年度报告",
    "government-information disclosure annual report",
)
Category.LEADERSHIP = Category.register("leadership", "领导信息", "leadership")
Category.ORGANIZATION = Category.register(
    "organization", "机构职能和设置", "functions and organisation"
)
Category.BUDGET_FINAL_ACCOUNTS = Category.register(
    "budget_final_accounts", "部门预算/决算", "departmental budget and final accounts"
)
Category.LIVELIHOOD = Category.register(
    "livelihood", "重大民生信息", "major livelihood information"
)
CATEGORY_LABELS_ZH = {c: c.label_zh for c in Category}  # the statutory six, for messages


class VersionStatus(StrEnum):
    """The life of one filing version.

    `reserved`: the catalog holds the version number, the package is being written.
    `abandoned`: archiving failed; never acknowledged (reconcile reports any orphan).
    `archived`: the package is complete; deliveries are queued.
    `published`: every delivery has a receipt.
    `delivery_failed`: at least one delivery gave up.
    `superseded`: a newer version went out instead; this one was never delivered.
    """

    RESERVED = "reserved"
    ABANDONED = "abandoned"
    ARCHIVED = "archived"
    PUBLISHED = "published"
    DELIVERY_FAILED = "delivery_failed"
    SUPERSEDED = "superseded"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class ReviewState(StrEnum):
    """Where a destination's review of a delivered item stands (the legal platform
    reviews what it receives): RECEIVED until ACCEPTED or RETURNED; UNKNOWN_RECEIPT
    when the platform knows no such receipt."""

    RECEIVED = "RECEIVED"
    ACCEPTED = "ACCEPTED"
    RETURNED = "RETURNED"
    UNKNOWN_RECEIPT = "UNKNOWN_RECEIPT"

    @property
    def is_final(self) -> bool:
        return self is not ReviewState.RECEIVED


class Destination(Code):
    """Where filings go. Open: a destination is one entry in service.destinations,
    which registers its code here; the portal and the legal platform are registered below."""

    PORTAL: ClassVar[Destination]
    LEGAL_PLATFORM: ClassVar[Destination]


Destination.PORTAL = Destination.register("portal", "门户网站", "the government portal")
Destination.LEGAL_PLATFORM = Destination.register(
    "legal_platform", "天津市法律顾问管理服务平台", "the municipal legal-adviser platform"
)


def idempotency_key(filing_id: str, version: int, destination: Destination | str) -> str:
    """One key per delivery (filing version × destination), stable across retries,
    restarts and workers, and derivable again from the archive alone."""
    return f"{filing_id}-v{version}-{Destination(destination).value}"


def source_id(filing_id: str, version: int) -> str:
    """The stable id of the thing published, as destinations see it."""
    return f"{filing_id}/v{version}"
