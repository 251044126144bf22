"""Raising the notifications no other state change raises: deadlines.

The deadline board (GET /v1/compliance/deadlines, and its tick hook) computes each
body × kind's state; its tick hook hands those rows to `notify_deadlines`, which queues
one notification per deadline and kind of event, however often it runs:

    state          when                                     event
    not_yet_due    due within `notice_days` of `as_of`       deadline.approaching
    missing        due and nothing filed                     deadline.missed

    notify_deadlines(catalog, recipients, rows, as_of=date(2024, 3, 25), notice_days=7,
                     now=clock())   # → how many notifications were new

Any object with the attributes of `DeadlineRow` will do (the board's items have them).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Protocol

from service.catalog.ports import Notifications
from service.domain.notifications import NoticeEvent, NoticeKind, Recipients


class DeadlineRow(Protocol):
    @property
    def org_code(self) -> str: ...
    @property
    def org_name(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def kind(self) -> str | None: ...  # budget | final_accounts for budget_final_accounts
    @property
    def period(self) -> str: ...
    @property
    def due_on(self) -> date | None: ...
    @property
    def state(self) -> str: ...


def deadline_event(
    row: DeadlineRow, *, as_of: date, notice_days: int, now: datetime
) -> NoticeEvent | None:
    kind = _kind(row, as_of, notice_days)
    if kind is None:
        return None
    subject = "/".join(p for p in (row.org_code, row.category, row.period, row.kind) if p)
    return NoticeEvent(
        kind,
        subject=subject,
        occurred_at=now,
        org_code=row.org_code,
        detail={
            "org_name": row.org_name,
            "category": row.category,
            "kind": row.kind,
            "period": row.period,
            "due_on": row.due_on.isoformat() if row.due_on else None,
            "as_of": as_of.isoformat(),
        },
    )


def _kind(row: DeadlineRow, as_of: date, notice_days: int) -> NoticeKind | None:
    if row.state == "missing":
        return NoticeKind.DEADLINE_MISSED
    if row.state == "not_yet_due" and row.due_on is not None:
        days_left = (row.due_on - as_of).days
        return NoticeKind.DEADLINE_APPROACHING if 0 <= days_left <= notice_days else None
    return None


def notify_deadlines(
    catalog: Notifications,
    recipients: Recipients,
    rows: Iterable[DeadlineRow],
    *,
    as_of: date,
    notice_days: int,
    now: datetime,
) -> int:
    """Queue what the rows call for; how many notifications were new."""
    events = [
        e
        for row in rows
        if (e := deadline_event(row, as_of=as_of, notice_days=notice_days, now=now)) is not None
    ]
    return catalog.enqueue_notifications(recipients.all(events)) if events else 0
