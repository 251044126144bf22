"""Filings, their categories, versions and deliveries: names and statuses.

Categories and destinations are open sets of codes (service.domain.codes): each is one
entry in its registry (service.categories, service.destinations). Statuses are closed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Literal

from service.domain.codes import Code

Period = int | Literal["permanent"]  # a retention period: whole years, or permanent (永久)
PERMANENT: Literal["permanent"] = "permanent"
RetentionException = Callable[[Mapping[str, Any]], Period | None]


def _no_exception(_: Mapping[str, Any]) -> Period | None:
    return None


class Category(Code):
    """A kind of filing (DOMAIN.md §1). Open: a kind is one entry in service.categories,
    which defines its code here with the facts the domain keeps about it:

    annual      its period is a year ("2023"), else the date it was formed or changed
    retention   how long its records are kept (国家档案局令第8号: 永久 / 30年 / 10年)
    retention_exception   a filing's own period where it is not its kind's (None: not)
    """

    annual: bool
    retention: Period
    retention_exception: RetentionException

    RULE_OF_LAW_REPORT: ClassVar[Category]
    GOV_INFO_ANNUAL_REPORT: ClassVar[Category]
    LEADERSHIP: ClassVar[Category]
    ORGANIZATION: ClassVar[Category]
    BUDGET_FINAL_ACCOUNTS: ClassVar[Category]
    LIVELIHOOD: ClassVar[Category]

    @classmethod
    def define(
        cls,
        code: str,
        label_zh: str,
        label_en: str,
        *,
        annual: bool,
        retention: Period = PERMANENT,
        retention_exception: RetentionException = _no_exception,
    ) -> Category:
        member = cls.register(code, label_zh, label_en)
        member.annual, member.retention = annual, retention
        member.retention_exception = retention_exception
        return member


def _major_decision(metadata: Mapping[str, Any]) -> Period | None:
    """A livelihood item that records a major decision is kept permanently (DOMAIN.md §1)."""
    details = metadata.get("livelihood") or {}
    return PERMANENT if details.get("major_decision") else None


Category.RULE_OF_LAW_REPORT = Category.define(
    "rule_of_law_report",
    "法治政府建设情况报告",
    "annual rule-of-law government report",
    annual=True,
)
Category.GOV_INFO_ANNUAL_REPORT = Category.define(
    "gov_info_annual_report",
    "政府信息公开工作年度报告",
    "government-information disclosure annual report",
    annual=True,
)
Category.LEADERSHIP = Category.define("leadership", "领导信息", "leadership", annual=False)
Category.ORGANIZATION = Category.define(
    "organization", "机构职能和设置", "functions and organisation", annual=False
)
Category.BUDGET_FINAL_ACCOUNTS = Category.define(
    "budget_final_accounts", "部门预算/决算", "departmental budget and final accounts", annual=True
)
Category.LIVELIHOOD = Category.define(
    "livelihood",
    "重大民生信息",
    "major livelihood information",
    annual=False,
    retention=30,
    retention_exception=_major_decision,
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
    `withdrawn`: its filing was withdrawn (撤回); the package stays archived.
    """

    RESERVED = "reserved"
    ABANDONED = "abandoned"
    ARCHIVED = "archived"
    PUBLISHED = "published"
    DELIVERY_FAILED = "delivery_failed"
    SUPERSEDED = "superseded"
    WITHDRAWN = "withdrawn"


class DeliveryStatus(StrEnum):
    """`cancelled`: never claimed when its filing was withdrawn, and never will be.
    `held`: a scheduled release put on hold (publish_at null) until a time is given.
    `not_enabled` (未开通): routed to a destination that publishes on a body's own account
    (DestinationLimits.needs_account), for a body with no account there; never sent, never
    a failure, and no wait for the version's published status."""

    PENDING = "pending"
    HELD = "held"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPERSEDED = "superseded"
    CANCELLED = "cancelled"
    NOT_ENABLED = "not_enabled"


class DeliveryAction(StrEnum):
    """What an outbox row asks of its destination: publish a version, publish it in place
    of a report the destination already holds (a person's decision after a conflict,
    service.domain.replacement), or take the filing's article down again (撤回)."""

    PUBLISH = "publish"
    REPLACE = "replace"
    WITHDRAW = "withdraw"


# The actions that deliver a version (its status settles from theirs).
PUBLISHING_ACTIONS = frozenset({DeliveryAction.PUBLISH, DeliveryAction.REPLACE})


# A version whose package is complete in the archive, whatever became of its deliveries:
# the ones reconcile expects a package for and verify checks.
ARCHIVED_STATUSES = frozenset(
    {
        VersionStatus.ARCHIVED,
        VersionStatus.PUBLISHED,
        VersionStatus.DELIVERY_FAILED,
        VersionStatus.SUPERSEDED,
        VersionStatus.WITHDRAWN,
    }
)
# What a withdrawal marks withdrawn: the versions that went, or were to go, out.
WITHDRAWABLE_STATUSES = frozenset(
    {VersionStatus.ARCHIVED, VersionStatus.PUBLISHED, VersionStatus.DELIVERY_FAILED}
)


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


def withdrawal_key(filing_id: str, destination: Destination | str) -> str:
    """One key per withdrawal job (filing × destination): stable across its retries."""
    return f"{filing_id}-withdraw-{Destination(destination).value}"


def source_id(filing_id: str, version: int) -> str:
    """The stable id of the thing published, as destinations see it."""
    return f"{filing_id}/v{version}"


@dataclass(frozen=True)
class FilingKey:
    """What a body files once: its report of an annual kind for one period — for
    budget_final_accounts one 预算 and one 决算 a year (`variant`). Its later versions are
    corrections of that filing. Event kinds (leadership, organisation, livelihood) have no
    key: a body files many of them in a period."""

    org_code: str
    category: str
    period: str
    variant: str | None = None

    @property
    def lock_name(self) -> str:
        """What submissions for this body, kind and period serialise on."""
        return "|".join((self.org_code, self.category, self.period))
