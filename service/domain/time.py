"""Time, once: the service runs on UTC; people, statutes and deadlines on Asia/Shanghai
(DOMAIN.md §1). `zoneinfo` with the `tzdata` package, so it works where the system has
no zone database (a slim container).

    utcnow()                         2024-01-12 02:00+00:00
    shanghai(utcnow())               2024-01-12 10:00+08:00
    shanghai_date(utcnow())          2024-01-12: the day it is for a Chinese civil servant
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def shanghai(moment: datetime) -> datetime:
    return moment.astimezone(SHANGHAI)


def shanghai_date(moment: datetime) -> date:
    return moment.astimezone(SHANGHAI).date()
