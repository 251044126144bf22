"""What a body may configure about validation."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class ValidationRules:
    """Defaults from DOMAIN.md; every deadline is configuration, not a constant."""

    # (month, day) in the year after the period: the last day to publish.
    rule_of_law_deadline: tuple[int, int] = (3, 31)

    def rule_of_law_due(self, period_year: int) -> date:
        """The last day to publish the report on `period_year` (29 February → 28th when
        the year has none)."""
        month, day = self.rule_of_law_deadline
        year = period_year + 1
        return date(year, month, min(day, calendar.monthrange(year, month)[1]))
