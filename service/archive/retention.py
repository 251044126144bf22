"""How long an archived object must be kept, per category: the Object Lock it gets (pure).

    policy = RetentionPolicy.of({"livelihood": 30})        # over the DOMAIN.md §1 defaults
    policy.lock_for("filings/ORG/livelihood/2024-03-05/F1/v1/data/x.pdf", now)
        -> Lock(mode="COMPLIANCE", retain_until=now + 30 years, legal_hold=False)

Periods follow 国家档案局令第8号 (永久 / 30年 / 10年), as DOMAIN.md §1's defaults; each
body's approved 保管期限表 prevails, hence configuration (`DISCLOSURE_RETENTION`).
A key's category is its third segment (`filings/{org}/{category}/…`, receipts
included); any other key (audit exports, unknown categories) gets `default`.

Permanent (永久) is kept by two locks at once, because neither alone is enough:

- a **legal hold**, which has no end date — the only S3 lock that means "forever";
  but anyone granted `s3:PutObjectLegalHold` may lift it;
- a **retention period** of `permanent_years` (70 by default) in the configured
  mode, which no one can shorten in COMPLIANCE mode, so lifting the hold does not
  expose the object for decades. Not longer: Ceph RGW 16 keeps the retain-until
  date in 32-bit seconds and a date after 2106-02-07 wraps into the past (measured:
  now + 100 years reads back as 1990, i.e. no retention at all). The S3 store
  reads every lock back after writing it, so such a server is refused, not trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from service.domain.filing import PERMANENT, Category, Period

LockMode = Literal["COMPLIANCE", "GOVERNANCE"]
__all__ = ["PERMANENT", "Lock", "Period", "RetentionPolicy", "default_periods", "filing_period"]


def default_periods() -> dict[Category, Period]:
    """Each registered category's period (DOMAIN.md §1 for the statutory six)."""
    return {c: c.retention for c in Category}


def filing_period(metadata: Mapping[str, Any]) -> Period | None:
    """A filing's own period where it is not its category's (永久 for a livelihood item
    that records a major decision), from its submitted metadata as the catalog and
    metadata.json keep it. None: the category's period."""
    category = metadata.get("category")
    return Category(category).retention_exception(metadata) if category in Category else None


@dataclass(frozen=True)
class Lock:
    """The Object Lock one object gets when it is written."""

    mode: LockMode
    retain_until: datetime
    legal_hold: bool


@dataclass(frozen=True)
class RetentionPolicy:
    periods: Mapping[Category, Period] = field(default_factory=default_periods)
    default: Period = PERMANENT
    mode: LockMode = "COMPLIANCE"
    permanent_years: int = 70

    def __post_init__(self) -> None:
        for period in (*self.periods.values(), self.default, self.permanent_years):
            if period != PERMANENT and (not isinstance(period, int) or period < 1):
                raise ValueError(
                    f"a retention period is whole years (1 or more) or permanent, not {period!r}"
                )

    @classmethod
    def of(
        cls,
        overrides: Mapping[Category, Period] | None = None,
        *,
        default: Period = PERMANENT,
        mode: LockMode = "COMPLIANCE",
        permanent_years: int = 70,
    ) -> RetentionPolicy:
        """The DOMAIN.md defaults with `overrides` applied."""
        return cls({**default_periods(), **(overrides or {})}, default, mode, permanent_years)

    def period_for(self, key: str) -> Period:
        parts = key.split("/")
        if len(parts) > 3 and parts[0] == "filings" and parts[2] in Category:
            return self.periods.get(Category(parts[2]), self.default)
        return self.default

    def lock_for(self, key: str, now: datetime, period: Period | None = None) -> Lock:
        """The lock for `key`: its category's period, or `period` when given."""
        period = self.period_for(key) if period is None else period
        years = self.permanent_years if period == PERMANENT else period
        return Lock(self.mode, add_years(now, years), legal_hold=period == PERMANENT)


def add_years(moment: datetime, years: int) -> datetime:
    """The same calendar day `years` later (29 February → 28 February), whole seconds."""
    moment = moment.replace(microsecond=0)
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)
