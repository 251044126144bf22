"""Notifications: what compliance staff and a body's contacts are told, and to whom.

An *event* is something a person must act on, named by its kind and its subject; its id
is derived from both, so the same trigger seen twice (a delivery failing again, a
re-poll that sees RETURNED again) is one event, and the outbox of notifications holds
it once per channel and recipient:

    kind                      subject                               raised by
    delivery.failed           the delivery's id                     the worker, giving up
    delivery.deferred         {destination}/{org_code}/{day}        the worker: a destination
                                                                    refused until that day
    review.returned           the delivery's id                     review polling
    fixity.failed             {filing_id}/v{n}                      verify, audit, tick
    archive.foreign_version   {package}/{what was written over it}  verify, audit, tick
    deadline.approaching      {org_code}/{category}/{period}[/kind] the deadline board's tick
    deadline.missed           the same                              the deadline board's tick
    publication.drift         the capture's id                      a capture or re-check
    publication.link_rot      the capture's id                      a capture or re-check

Pure: no I/O; texts are in Chinese with the English below.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class NoticeKind(StrEnum):
    DELIVERY_FAILED = "delivery.failed"
    DELIVERY_DEFERRED = "delivery.deferred"
    REVIEW_RETURNED = "review.returned"
    FIXITY_FAILED = "fixity.failed"
    FOREIGN_VERSION = "archive.foreign_version"
    DEADLINE_APPROACHING = "deadline.approaching"
    DEADLINE_MISSED = "deadline.missed"
    PUBLICATION_DRIFT = "publication.drift"
    PUBLICATION_LINK_ROT = "publication.link_rot"


class Channel(StrEnum):
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


# One address, as SMTP takes it: a local part and a domain with a dot, no spaces or
# display names. Not every RFC 5322 address; every usable one.
_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


def valid_email(value: str) -> str:
    """`value`, or ValueError naming it."""
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"{value!r} is not an e-mail address (name@example.gov.cn)")
    return value


WEBHOOK_RECIPIENT = "webhook"  # the one recipient of the webhook channel: its configured URL

# (Chinese, English) titles; the Chinese is the e-mail's Subject.
_TITLES: Mapping[NoticeKind, tuple[str, str]] = {
    NoticeKind.DELIVERY_FAILED: ("报送失败：已停止重试", "Delivery failed for good"),
    NoticeKind.DELIVERY_DEFERRED: (
        "报送已顺延：目标平台今日额度已用尽",
        "Delivery deferred: the destination's quota for today is used up",
    ),
    NoticeKind.REVIEW_RETURNED: ("报告被退回，请更正", "Report returned: please correct it"),
    NoticeKind.FIXITY_FAILED: ("归档包固定性校验失败", "Fixity check failed"),
    NoticeKind.FOREIGN_VERSION: (
        "归档对象被外部写入新版本",
        "A foreign version was written over an archived object",
    ),
    NoticeKind.DEADLINE_APPROACHING: ("报送期限临近", "A deadline is near"),
    NoticeKind.DEADLINE_MISSED: ("已逾期未报送", "A deadline was missed"),
    NoticeKind.PUBLICATION_DRIFT: (
        "公开页面内容与报送内容不一致",
        "The published page differs from the filing",
    ),
    NoticeKind.PUBLICATION_LINK_ROT: ("公开页面链接失效", "The published page is gone"),
}


@dataclass(frozen=True)
class NoticeEvent:
    """`detail`: JSON-able facts shown in the message and sent in the webhook's body."""

    kind: NoticeKind
    subject: str
    occurred_at: datetime
    filing_id: str | None = None
    org_code: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    @property
    def event_id(self) -> str:
        """Stable for (kind, subject): the Standard Webhooks `webhook-id`, the same on
        every retry and for every repeat of the trigger."""
        digest = hashlib.sha256(f"{self.kind}\n{self.subject}".encode()).hexdigest()
        return f"evt_{digest[:32]}"

    @property
    def title_zh(self) -> str:
        return _TITLES[self.kind][0]

    @property
    def title_en(self) -> str:
        return _TITLES[self.kind][1]

    def text(self) -> str:
        """The message: Chinese first, the English below."""
        facts = [f"{k}: {v}" for k, v in self.detail.items() if v not in (None, "")]
        lines = [
            self.title_zh,
            f"对象：{self.subject}",
            *([f"报送编号：{self.filing_id}"] if self.filing_id else []),
            *([f"单位代码：{self.org_code}"] if self.org_code else []),
            f"时间：{self.occurred_at.isoformat()}",
            "",
            self.title_en,
            f"Subject: {self.subject}",
            *([f"Filing: {self.filing_id}"] if self.filing_id else []),
            *([f"Body (org_code): {self.org_code}"] if self.org_code else []),
            f"At: {self.occurred_at.isoformat()}",
            "",
            *facts,
        ]
        return "\n".join(lines).rstrip() + "\n"


@dataclass(frozen=True)
class Notice:
    """One event for one recipient on one channel: a row of the notifications outbox."""

    event: NoticeEvent
    channel: Channel
    recipient: str


@dataclass(frozen=True)
class Recipients:
    """Who is told: each body's contacts (the registry of bodies) and the compliance
    address, by e-mail when e-mail is configured; the webhook when one is configured.
    `Recipients()` tells nobody."""

    contacts: Mapping[str, Sequence[str]] = field(default_factory=dict)  # org_code → e-mails
    compliance: Sequence[str] = ()
    email: bool = False
    webhook: bool = False

    def notices(self, event: NoticeEvent) -> list[Notice]:
        notices = [Notice(event, Channel.WEBHOOK, WEBHOOK_RECIPIENT)] if self.webhook else []
        if self.email:
            addresses = [*self.contacts.get(event.org_code or "", ()), *self.compliance]
            # one message per mailbox, however its address is capitalised; sent as written
            unique: dict[str, str] = {}
            for address in (a.strip() for a in addresses if a.strip()):
                unique.setdefault(address.lower(), address)
            notices += [Notice(event, Channel.EMAIL, a) for a in unique.values()]
        return notices

    def all(self, events: Sequence[NoticeEvent]) -> list[Notice]:
        return [n for e in events for n in self.notices(e)]
