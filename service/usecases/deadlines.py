"""The deadline board (公开期限看板): for a year reported on, each body of the registry ×
each kind it must publish — on time, late, missing, not yet due, or exempt (免报) — with
the due day. Due days come from the same `ValidationRules` the late warnings use
(service.validation.config), so the board and validation never disagree.

    year 2023, as_of 2024-02-10, a department:
      rule_of_law_report       due 2024-03-31   not_yet_due (nothing filed yet)
      gov_info_annual_report   due 2024-01-31   missing | on_time | late (by v1's day)
      budget_final_accounts    budget: 批复 + 20 days (or the expected 批复 day), and
                               final_accounts the same, one row each
      leadership, organization, livelihood     only the filings published late

A filing counts by the day its first version was acknowledged (Asia/Shanghai). A
withdrawn filing with nothing after it counts as missing. An exemption shows as `exempt`
unless the body filed anyway, when the filing's state shows with the exemption's reason.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from service.catalog.ports import Deadlines
from service.catalog.records import BoardFiling, Exemption
from service.categories import category_specs
from service.domain.filing import Category
from service.domain.metadata import BudgetKind
from service.domain.org import Level, Organisation, OrgRegistry
from service.domain.time import shanghai_date
from service.validation.config import ValidationRules

BUDGET = "budget_final_accounts"


class BoardState(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    MISSING = "missing"
    NOT_YET_DUE = "not_yet_due"
    EXEMPT = "exempt"


@dataclass(frozen=True)
class BoardRow:
    org_code: str
    org_name: str
    category: str
    kind: str | None  # budget | final_accounts for budget_final_accounts
    period: str
    due_on: date | None
    state: BoardState
    filing_id: str | None = None
    filed_on: date | None = None
    published_on: date | None = None
    exemption_reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "org_code": self.org_code,
            "org_name": self.org_name,
            "category": self.category,
            "kind": self.kind,
            "period": self.period,
            "due_on": _iso(self.due_on),
            "state": self.state.value,
            "filing_id": self.filing_id,
            "filed_on": _iso(self.filed_on),
            "published_on": _iso(self.published_on),
            "exemption_reason": self.exemption_reason,
        }


@dataclass(frozen=True)
class DueDates:
    """When each kind falls due. Budgets are due `budget_publish_days` after their 批复;
    where none is recorded, after the day it is expected: a budget's in its own year, a
    final account's in the year after (DISCLOSURE_BUDGET_EXPECTED_APPROVAL,
    DISCLOSURE_FINAL_ACCOUNTS_EXPECTED_APPROVAL, (month, day))."""

    rules: ValidationRules
    budget_expected_approval: tuple[int, int] = (2, 15)
    final_accounts_expected_approval: tuple[int, int] = (7, 31)

    def annual(self, category: str, year: int, level: Level) -> date | None:
        if category == Category.RULE_OF_LAW_REPORT.value:
            return self.rules.rule_of_law_due(year)
        if category == Category.GOV_INFO_ANNUAL_REPORT.value:
            return self.rules.gov_info_due(year, level)
        return None

    def budget(self, kind: str, year: int, approved_on: date | None) -> date:
        return self.rules.budget_due(approved_on or self.expected_approval(kind, year))

    def expected_approval(self, kind: str, year: int) -> date:
        if kind == BudgetKind.FINAL_ACCOUNTS.value:
            return _day_in(year + 1, self.final_accounts_expected_approval)
        return _day_in(year, self.budget_expected_approval)

    def change(self, period: str) -> date | None:
        try:
            return self.rules.change_due(date.fromisoformat(period)).due
        except ValueError:
            return None


def counts_as_filed(filing: BoardFiling) -> bool:
    """WITHDRAWAL CHECK: a filing withdrawn with nothing after it counts as missing. The
    catalog says which are (`BoardFiling.withdrawn`, service.catalog.sql.deadlines)."""
    return not filing.withdrawn


@dataclass(frozen=True)
class DeadlineBoard:
    """The board's use case: `DeadlineBoard(catalog, registry, due).rows(2023, …)`."""

    catalog: Deadlines
    registry: OrgRegistry
    due: DueDates
    clock: Callable[[], datetime]

    def today(self) -> date:
        return shanghai_date(self.clock())

    def rows(
        self, year: int, *, visible: frozenset[str] | None, as_of: date, org_code: str | None = None
    ) -> list[BoardRow]:
        """The board of the bodies `visible` (None: every body), or of one of them."""
        bodies = [
            b
            for b in self.registry.bodies.values()
            if (visible is None or b.org_code in visible)
            and (org_code is None or b.org_code == org_code)
        ]
        codes = frozenset(b.org_code for b in bodies)
        asked = None if visible is None and org_code is None else codes
        filings = self.catalog.board_filings(asked, year) if bodies else []
        exemptions = self.catalog.exemptions(asked, str(year)) if bodies else []
        return board_rows(bodies, filings, exemptions, year=year, as_of=as_of, due=self.due)


def board_rows(
    bodies: Sequence[Organisation],
    filings: Iterable[BoardFiling],
    exemptions: Iterable[Exemption],
    *,
    year: int,
    as_of: date,
    due: DueDates,
) -> list[BoardRow]:
    """The board, computed: no I/O, so a test can give it any filings."""
    by_body: dict[tuple[str, str], list[BoardFiling]] = defaultdict(list)
    for filing in filings:
        by_body[(filing.org_code, filing.category)].append(filing)
    exempt = {(e.org_code, e.category): e.reason for e in exemptions if e.period == str(year)}
    board = _Board(year, as_of, due)
    rows: list[BoardRow] = []
    for body in bodies:
        for category in _kinds(body):
            found = by_body.get((body.org_code, category), [])
            rows.extend(board.rows(body, category, found, exempt.get((body.org_code, category))))
    return rows


def _kinds(body: Organisation) -> list[str]:
    """The kinds the body must publish, in the registry's order of kinds (all of them
    when its entry names none)."""
    known = [spec.category.value for spec in category_specs()]
    return [c for c in known if c in body.categories] if body.categories else known


@dataclass(frozen=True)
class _Board:
    year: int
    as_of: date
    due: DueDates
    # an event's due day by its period: bodies share days, and each costs ~20 working days
    changes: dict[str, date | None] = field(default_factory=dict)

    def rows(
        self, body: Organisation, category: str, filings: list[BoardFiling], exempt: str | None
    ) -> list[BoardRow]:
        if category == BUDGET:
            return [
                self._budget(body, kind.value, filings, exempt)
                for kind in (BudgetKind.BUDGET, BudgetKind.FINAL_ACCOUNTS)
            ]
        if Category(category).annual:
            due_on = self.due.annual(category, self.year, body.level)
            return [self._row(body, category, None, due_on, _counting(filings), exempt)]
        return self._late_events(body, category, filings)

    def _budget(
        self, body: Organisation, kind: str, filings: list[BoardFiling], exempt: str | None
    ) -> BoardRow:
        filed = _counting([f for f in filings if f.variant == kind])
        approved = _day(filed.approved_on) if filed else None
        due_on = self.due.budget(kind, self.year, approved)
        return self._row(body, BUDGET, kind, due_on, filed, exempt)

    def _row(
        self,
        body: Organisation,
        category: str,
        kind: str | None,
        due_on: date | None,
        filed: BoardFiling | None,
        exempt: str | None,
    ) -> BoardRow:
        filed_on = shanghai_date(filed.filed_at) if filed else None
        return BoardRow(
            org_code=body.org_code,
            org_name=body.name,
            category=category,
            kind=kind,
            period=str(self.year),
            due_on=due_on,
            state=_state(filed_on, due_on, self.as_of, exempt is not None),
            filing_id=filed.filing_id if filed else None,
            filed_on=filed_on,
            published_on=_published(filed),
            exemption_reason=exempt,
        )

    def _change_due(self, period: str) -> date | None:
        if period not in self.changes:
            self.changes[period] = self.due.change(period)
        return self.changes[period]

    def _late_events(
        self, body: Organisation, category: str, filings: list[BoardFiling]
    ) -> list[BoardRow]:
        rows = []
        for filing in filings:
            due_on, filed_on = self._change_due(filing.period), shanghai_date(filing.filed_at)
            if counts_as_filed(filing) and due_on is not None and filed_on > due_on:
                rows.append(
                    BoardRow(
                        org_code=body.org_code,
                        org_name=body.name,
                        category=category,
                        kind=None,
                        period=filing.period,
                        due_on=due_on,
                        state=BoardState.LATE,
                        filing_id=filing.filing_id,
                        filed_on=filed_on,
                        published_on=_published(filing),
                    )
                )
        return rows


def _state(filed_on: date | None, due_on: date | None, as_of: date, exempt: bool) -> BoardState:
    if filed_on is not None:
        return BoardState.LATE if due_on is not None and filed_on > due_on else BoardState.ON_TIME
    if exempt:
        return BoardState.EXEMPT
    if due_on is not None and as_of > due_on:
        return BoardState.MISSING
    return BoardState.NOT_YET_DUE


def _counting(filings: Iterable[BoardFiling]) -> BoardFiling | None:
    """The filing the key counts by: the first filed that still counts."""
    counted = [f for f in filings if counts_as_filed(f)]
    return min(counted, key=lambda f: f.filed_at, default=None)


def _published(filing: BoardFiling | None) -> date | None:
    return shanghai_date(filing.published_at) if filing and filing.published_at else None


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _day_in(year: int, month_day: tuple[int, int]) -> date:
    """(2, 29) in a year without one is the 28th."""
    month, day = month_day
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


# -- what falls due soon, and what is overdue (tick, notifications) ---------------


@dataclass(frozen=True)
class DeadlineWatch:
    due_soon: list[BoardRow]  # not yet due, due within the notice period
    overdue: list[BoardRow]  # due, and nothing filed


def watch_deadlines(board: DeadlineBoard, *, as_of: date, notice_days: int) -> DeadlineWatch:
    """Every body's rows that fall due within `notice_days` of `as_of`, and those past
    due with nothing filed: the reports on last year and this year's budgets."""
    rows = [
        row
        for year in (as_of.year - 1, as_of.year)
        for row in board.rows(year, visible=None, as_of=as_of)
    ]
    return DeadlineWatch(
        due_soon=[r for r in rows if _due_within(r, as_of, notice_days)],
        overdue=[r for r in rows if r.state is BoardState.MISSING],
    )


def _due_within(row: BoardRow, as_of: date, days: int) -> bool:
    return (
        row.state is BoardState.NOT_YET_DUE
        and row.due_on is not None
        and (row.due_on - as_of).days <= days
    )
