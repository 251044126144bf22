"""Filings, their categories, versions and deliveries: names and statuses."""

from __future__ import annotations

from enum import StrEnum


class Category(StrEnum):
    RULE_OF_LAW_REPORT = "rule_of_law_report"
    GOV_INFO_ANNUAL_REPORT = "gov_info_annual_report"
    LEADERSHIP = "leadership"
    ORGANIZATION = "organization"
    BUDGET_FINAL_ACCOUNTS = "budget_final_accounts"
    LIVELIHOOD = "livelihood"

    @property
    def label_zh(self) -> str:
        return CATEGORY_LABELS_ZH[self]


CATEGORY_LABELS_ZH: dict[Category, str] = {
    Category.RULE_OF_LAW_REPORT: "法治政府建设情况报告",
    Category.GOV_INFO_ANNUAL_REPORT: "政府信息公开工作年度报告",
    Category.LEADERSHIP: "领导信息",
    Category.ORGANIZATION: "机构职能和设置",
    Category.BUDGET_FINAL_ACCOUNTS: "部门预算/决算",
    Category.LIVELIHOOD: "重大民生信息",
}


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


class Destination(StrEnum):
    PORTAL = "portal"
    LEGAL_PLATFORM = "legal_platform"

    @property
    def label_zh(self) -> str:
        return {"portal": "门户网站", "legal_platform": "天津市法律顾问管理服务平台"}[self.value]


def idempotency_key(filing_id: str, version: int, destination: Destination | str) -> str:
    """One key per delivery (filing version × destination), stable across retries,
    restarts and workers, and derivable again from the archive alone."""
    return f"{filing_id}-v{version}-{Destination(destination).value}"


def source_id(filing_id: str, version: int) -> str:
    """The stable id of the thing published, as destinations see it."""
    return f"{filing_id}/v{version}"
