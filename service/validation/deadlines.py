"""When a filing is due: one rule per kind, named by its entry in service.categories and
read by its content rules (the late warnings); the deadline board
(service.usecases.deadlines) asks the same `ValidationRules` for a body and a year.

    rule_of_law_due(filing)   Deadline(date(2024, 3, 31), ())   period "2023"
    change_due(filing)        Deadline(date(2024, 3, 8), ())    period "2024-02-05"
    budget_due(filing)        None: no approval date, so no due day can be known
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from service.validation.context import FilingContext
from service.validation.metadata_checks import period_year
from service.validation.workdays import Deadline

DueRule = Callable[[FilingContext], Deadline | None]


def rule_of_law_due(filing: FilingContext) -> Deadline | None:
    """The day set for the rule-of-law report (default 3月31日) of the year after."""
    year = period_year(filing.metadata)
    return None if year is None else Deadline(filing.rules.rule_of_law_due(year), ())


def gov_info_due(filing: FilingContext) -> Deadline | None:
    """条例 第四十九条: a department's 年报 by 1月31日, a district government's by 3月31日."""
    year = period_year(filing.metadata)
    return None if year is None else Deadline(filing.rules.gov_info_due(year, filing.level), ())


def budget_due(filing: FilingContext) -> Deadline | None:
    """预算法 第十四条: within 20 days of the finance department's approval (批复)."""
    details = filing.metadata.budget
    if details is None or details.approved_on is None:
        return None
    return Deadline(filing.rules.budget_due(details.approved_on), ())


def change_due(filing: FilingContext) -> Deadline | None:
    """条例 第二十六条: within 20 working days of the item being formed or changed."""
    try:
        changed = date.fromisoformat(filing.metadata.period)
    except ValueError:
        return None
    return filing.rules.change_due(changed)
