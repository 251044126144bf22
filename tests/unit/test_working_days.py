"""Working days from the State Council's calendar (chinesecalendar), with 调休, and the
admin's file for years the package does not cover yet. Fixed dates only."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from service.configured import ConfigurationError, validation_rules
from service.settings import Settings
from service.validation.workdays import (
    Deadline,
    WorkingCalendar,
    load_holiday_overrides,
    package_years,
)

CALENDAR = WorkingCalendar()


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2024, 2, 4), True),  # a Sunday worked for the Spring Festival (调休)
        (date(2024, 2, 12), False),  # a Monday off for the Spring Festival
        (date(2024, 10, 1), False),  # National Day
        (date(2024, 10, 12), True),  # a Saturday worked for National Day
        (date(2024, 10, 14), True),
        (date(2024, 10, 13), False),
    ],
)
def test_a_day_is_a_working_day_by_the_state_councils_calendar(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (date(2024, 2, 5), date(2024, 3, 8)),  # across the Spring Festival
        (date(2024, 9, 20), date(2024, 10, 23)),  # across National Day, with two 调休 days
        (date(2024, 3, 20), date(2024, 4, 18)),  # across 清明 (4月4日–6日), 4月7日 worked
    ],
)
def test_twenty_working_days_after_a_change(start: date, due: date) -> None:
    assert CALENDAR.add_working_days(start, 20) == Deadline(due, ())


def test_a_year_the_package_does_not_cover_counts_weekdays_and_says_so() -> None:
    first_uncovered = package_years()[1] + 1
    start = date(first_uncovered, 3, 1)  # whatever weekday: four weeks of weekdays
    deadline = CALENDAR.add_working_days(start, 20)
    assert deadline.uncovered == (first_uncovered,)
    weekdays = sum(
        1 for n in range(1, (deadline.due - start).days + 1)
        if date.fromordinal(start.toordinal() + n).weekday() < 5
    )  # fmt: skip
    assert weekdays == 20


def test_an_admins_file_adds_a_year(tmp_path: Path) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(
        "2031:\n  holidays: [2031-01-01, 2031-01-02]\n  workdays: [2031-01-04]\n", "utf-8"
    )
    calendar = WorkingCalendar(load_holiday_overrides(path))
    assert calendar.covers(2031)
    assert not calendar.is_working_day(date(2031, 1, 2))  # a Thursday off
    assert calendar.is_working_day(date(2031, 1, 4))  # a Saturday worked
    # 2030-12-31 (Tue) + 3: 1月3日 (Fri), 1月4日 (Sat, worked), 1月6日 (Mon)
    assert calendar.add_working_days(date(2030, 12, 31), 3) == Deadline(date(2031, 1, 6), ())


@pytest.mark.parametrize(
    "content",
    [
        "2031: [2031-01-01]",
        "2031:\n  holidays: [2030-12-31]",
        "2031:\n  holidays: [not-a-date]",
        "2031:\n  holidays: [2031-01-01]\n  workdays: [2031-01-01]",
        "next-year:\n  holidays: []",
        "- 2031-01-01",
        "2031:\n  holiday: [2031-01-01]",
    ],
    ids=["no-mapping", "wrong-year", "not-a-date", "both", "not-a-year", "a-list", "typo"],
)
def test_a_bad_holiday_file_is_refused_with_the_reason(tmp_path: Path, content: str) -> None:
    path = tmp_path / "holidays.yaml"
    path.write_text(content, "utf-8")
    with pytest.raises(ValueError):
        load_holiday_overrides(path)
    with pytest.raises(ConfigurationError, match="DISCLOSURE_HOLIDAYS_FILE"):
        validation_rules(Settings.model_validate({"holidays_file": path}))


def test_the_holiday_file_and_deadlines_come_from_settings(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text('{"2031": {"holidays": ["2031-01-01"], "workdays": []}}', "utf-8")
    rules = validation_rules(
        Settings.model_validate(
            {
                "holidays_file": path,
                "gov_info_deadline_department": (2, 15),
                "budget_publish_days": 30,
                "change_publish_working_days": 15,
            }
        )
    )
    assert rules.calendar.covers(2031)
    assert (rules.gov_info_deadline_department, rules.budget_publish_days) == ((2, 15), 30)
    assert rules.change_publish_working_days == 15
