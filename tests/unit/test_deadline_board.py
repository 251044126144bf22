"""The deadline board, computed from filings and exemptions: no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from service.catalog.records import BoardFiling, Exemption
from service.domain.org import Level, Organisation
from service.usecases.deadlines import BoardRow, BoardState, DueDates, board_rows
from service.validation.config import ValidationRules
from tests.support.board import shanghai_morning

DEPARTMENT = Organisation("11120104MB00000111", "区司法局", level=Level.DEPARTMENT)
DISTRICT = Organisation(
    "11120104MB00000222",
    "区人民政府",
    level=Level.DISTRICT_GOVERNMENT,
    categories=("gov_info_annual_report",),
)
DUE = DueDates(ValidationRules(), budget_expected_approval=(2, 15))


def _filed(
    org: Organisation,
    category: str,
    day: date,
    period: str = "2023",
    variant: str | None = None,
    approved_on: str | None = None,
) -> BoardFiling:
    return BoardFiling(
        filing_id=f"fil_{category}_{day}",
        org_code=org.org_code,
        category=category,
        period=period,
        variant=variant,
        filed_at=shanghai_morning(day),
        published_at=None,
        approved_on=approved_on,
    )


def _board(
    filings: list[BoardFiling],
    as_of: date,
    bodies: tuple[Organisation, ...] = (DEPARTMENT,),
    exemptions: tuple[Exemption, ...] = (),
) -> dict[tuple[str, str, str | None, str], BoardRow]:
    rows = board_rows(bodies, filings, exemptions, year=2023, as_of=as_of, due=DUE)
    return {(r.org_code, r.category, r.kind, r.period): r for r in rows}


def _state(
    rows: dict[tuple[str, str, str | None, str], BoardRow],
    category: str,
    kind: str | None = None,
    org: Organisation = DEPARTMENT,
) -> tuple[BoardState, date | None]:
    row = rows[(org.org_code, category, kind, "2023")]
    return row.state, row.due_on


def test_a_department_and_a_district_government_have_different_annual_report_deadlines() -> None:
    filings = [
        _filed(DEPARTMENT, "gov_info_annual_report", date(2024, 2, 20)),
        _filed(DISTRICT, "gov_info_annual_report", date(2024, 2, 20)),
    ]
    rows = _board(filings, date(2024, 4, 1), (DEPARTMENT, DISTRICT))
    assert _state(rows, "gov_info_annual_report") == (BoardState.LATE, date(2024, 1, 31))
    assert _state(rows, "gov_info_annual_report", org=DISTRICT) == (
        BoardState.ON_TIME,
        date(2024, 3, 31),
    )
    assert [k for k in rows if k[0] == DISTRICT.org_code] == [
        (DISTRICT.org_code, "gov_info_annual_report", None, "2023")
    ], "a body lists only the kinds its registry entry names"


@pytest.mark.parametrize(
    ("as_of", "state"),
    [
        (date(2024, 3, 31), BoardState.NOT_YET_DUE),  # the due day itself is still in time
        (date(2024, 4, 1), BoardState.MISSING),
    ],
)
def test_nothing_filed_is_not_yet_due_until_the_due_day_has_passed(
    as_of: date, state: BoardState
) -> None:
    assert _state(_board([], as_of), "rule_of_law_report") == (state, date(2024, 3, 31))


def test_a_report_filed_on_its_due_day_is_on_time_and_a_day_later_late() -> None:
    on_the_day = _board(
        [_filed(DEPARTMENT, "rule_of_law_report", date(2024, 3, 31))], date(2024, 6, 1)
    )
    day_after = _board(
        [_filed(DEPARTMENT, "rule_of_law_report", date(2024, 4, 1))], date(2024, 6, 1)
    )
    assert _state(on_the_day, "rule_of_law_report")[0] is BoardState.ON_TIME
    assert _state(day_after, "rule_of_law_report")[0] is BoardState.LATE
    row = day_after[(DEPARTMENT.org_code, "rule_of_law_report", None, "2023")]
    assert (row.filing_id, row.filed_on) == ("fil_rule_of_law_report_2024-04-01", date(2024, 4, 1))


def test_budgets_are_due_twenty_days_after_their_recorded_or_expected_approval() -> None:
    budget = _filed(
        DEPARTMENT,
        "budget_final_accounts",
        date(2023, 3, 5),
        variant="budget",
        approved_on="2023-02-10",
    )
    rows = _board([budget], date(2024, 3, 1))
    assert _state(rows, "budget_final_accounts", "budget") == (BoardState.LATE, date(2023, 3, 2))
    # final accounts of 2023: none recorded, expected 批复 2024-07-31 (the default)
    assert _state(rows, "budget_final_accounts", "final_accounts") == (
        BoardState.NOT_YET_DUE,
        date(2024, 8, 20),
    )
    nothing = _board([], date(2023, 3, 10))
    assert _state(nothing, "budget_final_accounts", "budget") == (
        BoardState.MISSING,
        date(2023, 3, 7),
    )


def test_a_withdrawn_filing_with_nothing_after_it_counts_as_missing() -> None:
    withdrawn = replace(_filed(DEPARTMENT, "rule_of_law_report", date(2024, 1, 5)), withdrawn=True)
    rows = _board([withdrawn], date(2024, 4, 2))
    assert _state(rows, "rule_of_law_report")[0] is BoardState.MISSING
    refiled = _filed(DEPARTMENT, "rule_of_law_report", date(2024, 4, 1))
    row = _board([withdrawn, refiled], date(2024, 4, 2))[
        (DEPARTMENT.org_code, "rule_of_law_report", None, "2023")
    ]
    assert (row.state, row.filing_id) == (BoardState.LATE, refiled.filing_id)


def test_an_exempt_body_shows_exempt_with_the_reason_unless_it_filed_anyway() -> None:
    exemptions = (
        Exemption(
            DEPARTMENT.org_code,
            "rule_of_law_report",
            "2023",
            "机构撤并",
            shanghai_morning(date(2024, 1, 2)),
            "admin",
        ),
        Exemption(
            DEPARTMENT.org_code,
            "gov_info_annual_report",
            "2023",
            "机构撤并",
            shanghai_morning(date(2024, 1, 2)),
            "admin",
        ),
        Exemption(
            DEPARTMENT.org_code,
            "rule_of_law_report",
            "2022",
            "另一年度",
            shanghai_morning(date(2024, 1, 2)),
            "admin",
        ),
    )
    filed = _filed(DEPARTMENT, "gov_info_annual_report", date(2024, 1, 10))
    rows = _board([filed], date(2024, 6, 1), exemptions=exemptions)
    exempt = rows[(DEPARTMENT.org_code, "rule_of_law_report", None, "2023")]
    assert (exempt.state, exempt.exemption_reason) == (BoardState.EXEMPT, "机构撤并")
    assert _state(rows, "gov_info_annual_report")[0] is BoardState.ON_TIME


def test_event_kinds_list_only_their_late_filings() -> None:
    late = _filed(DEPARTMENT, "livelihood", date(2023, 4, 10), period="2023-03-01")
    in_time = _filed(DEPARTMENT, "livelihood", date(2023, 3, 20), period="2023-03-01")
    rows = board_rows([DEPARTMENT], [late, in_time], [], year=2023, as_of=date(2024, 1, 1), due=DUE)
    events = [r for r in rows if r.category == "livelihood"]
    # 20 working days after 2023-03-01 (a Wednesday, no holiday in March) is 2023-03-29
    assert [(r.period, r.state, r.due_on, r.filed_on) for r in events] == [
        ("2023-03-01", BoardState.LATE, date(2023, 3, 29), date(2023, 4, 10))
    ]
