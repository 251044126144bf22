"""Working days per the State Council's holiday calendar, with its adjusted working
weekends (调休), from the maintained `chinesecalendar` package — never a hand-written
table. For a year the package does not cover yet, an admin may add that year's
holidays in a local file (DISCLOSURE_HOLIDAYS_FILE); a year in neither counts Monday to
Friday, and the caller says so in a warning.

    calendar = WorkingCalendar()
    calendar.add_working_days(date(2024, 2, 5), 20)   # Deadline(date(2024, 3, 8), uncovered=())

The override file (YAML or JSON), one entry per year:

    2027:
      holidays: [2027-01-01, 2027-02-06, …]      # days off that would be working days
      workdays: [2027-02-14]                     # weekends that are working days (调休)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import yaml

_MAX_DAYS = 400  # no deadline counts more than a year of days


@dataclass(frozen=True)
class YearOverride:
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()


@dataclass(frozen=True)
class Deadline:
    due: date
    uncovered: tuple[int, ...]  # years counted as Monday–Friday, for want of a calendar


@dataclass(frozen=True)
class WorkingCalendar:
    overrides: Mapping[int, YearOverride] = field(default_factory=dict)

    def covers(self, year: int) -> bool:
        return year in self.overrides or _package_covers(year)

    def is_working_day(self, day: date) -> bool:
        override = self.overrides.get(day.year)
        if override is not None:
            if day in override.workdays:
                return True
            return day.weekday() < 5 and day not in override.holidays
        if _package_covers(day.year):
            return _package_workday(day)
        return day.weekday() < 5

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The `days`-th working day after `start` (start itself not counted)."""
        day, counted, uncovered = start, 0, set()
        for _ in range(_MAX_DAYS):
            if counted >= days or day == date.max:
                break
            day += timedelta(days=1)
            if not self.covers(day.year):
                uncovered.add(day.year)
            if self.is_working_day(day):
                counted += 1
        return Deadline(day, tuple(sorted(uncovered)))


@functools.lru_cache(maxsize=4096)
def _package_workday(day: date) -> bool:
    """chinesecalendar's answer, remembered: it checks every call's date against the
    range of its whole table (~0.3 ms), and the deadline board asks about the same days
    for every body."""
    return bool(chinese_calendar.is_workday(day))


def _package_covers(year: int) -> bool:
    first, last = package_years()
    return first <= year <= last


@functools.cache
def package_years() -> tuple[int, int]:
    """The first and last year the installed chinesecalendar knows."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


def load_holiday_overrides(path: Path) -> dict[int, YearOverride]:
    """The override file; ValueError saying what is wrong with it."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the holiday file {path}: {exc}") from exc
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a mapping of year → holidays/workdays")
    return {_year(key): _year_override(_year(key), value, path) for key, value in raw.items()}


def _year(key: Any) -> int:
    try:
        year = int(key)
    except (TypeError, ValueError):
        raise ValueError(f"not a year: {key!r}") from None
    if not 1900 <= year <= 2200:
        raise ValueError(f"not a plausible year: {year}")
    return year


def _year_override(year: int, value: Any, path: Path) -> YearOverride:
    if not isinstance(value, dict) or set(value) - {"holidays", "workdays"}:
        raise ValueError(f"{path}: year {year} needs only 'holidays' and 'workdays' lists")
    holidays = frozenset(_dates(year, value.get("holidays") or [], path))
    workdays = frozenset(_dates(year, value.get("workdays") or [], path))
    if holidays & workdays:
        raise ValueError(f"{path}: {sorted(holidays & workdays)} are both holidays and workdays")
    return YearOverride(holidays, workdays)


def _dates(year: int, values: Any, path: Path) -> list[date]:
    if not isinstance(values, list):
        raise ValueError(f"{path}: year {year}: expected a list of dates")
    out = []
    for value in values:
        try:
            day = value if isinstance(value, date) else date.fromisoformat(str(value))
        except ValueError:
            raise ValueError(f"{path}: not a date: {value!r}") from None
        if day.year != year:
            raise ValueError(f"{path}: {day} is listed under year {year}")
        out.append(day)
    return out
