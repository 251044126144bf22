"""What a body may configure about validation: every deadline is configuration, not a
constant (DOMAIN.md, defaults from the statutes)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, timedelta

from service.domain.org import Level
from service.validation.workdays import Deadline, WorkingCalendar


@dataclass(frozen=True)
class ValidationRules:
    # (month, day) in the year after the period: the last day to publish.
    rule_of_law_deadline: tuple[int, int] = (3, 31)
    # 条例 第四十九条: departments by 1月31日, a district government's own report by 3月31日.
    gov_info_deadline_department: tuple[int, int] = (1, 31)
    gov_info_deadline_district_government: tuple[int, int] = (3, 31)
    # 预算法 第十四条: within 20 (calendar) days of the finance department's 批复.
    budget_publish_days: int = 20
    # 条例 第二十六条: within 20 working days of being formed or changed.
    change_publish_working_days: int = 20
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)

    def rule_of_law_due(self, period_year: int) -> date:
        """The last day to publish the report on `period_year` (29 February → 28th when
        the year has none)."""
        return _next_year_day(period_year, self.rule_of_law_deadline)

    def gov_info_due(self, period_year: int, level: Level) -> date:
        deadline = (
            self.gov_info_deadline_district_government
            if level is Level.DISTRICT_GOVERNMENT
            else self.gov_info_deadline_department
        )
        return _next_year_day(period_year, deadline)

    def budget_due(self, approved_on: date) -> date:
        """预算法 第十四条: the last day to publish a budget or final accounts approved
        (批复) on `approved_on`."""
        return approved_on + timedelta(days=self.budget_publish_days)

    def change_due(self, changed_on: date) -> Deadline:
        """条例 第二十六条: the last day to publish an item formed or changed on `changed_on`."""
        return self.calendar.add_working_days(changed_on, self.change_publish_working_days)


def _next_year_day(period_year: int, month_day: tuple[int, int]) -> date:
    month, day = month_day
    year = period_year + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))
