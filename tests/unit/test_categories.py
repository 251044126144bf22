"""The kinds of filing as their registry states them: each statutory kind has its entry,
and each entry's due rule gives the day the statutes set (DOMAIN.md §1)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from service.categories import category_spec, category_specs, default_routes, portal_channels
from service.domain.filing import Category, Destination
from service.domain.metadata import FilingMetadata
from service.domain.org import Level, Organisation
from service.validation.config import ValidationRules
from service.validation.context import FilingContext
from service.validation.workdays import WorkingCalendar
from tests.support.bodies import sample_metadata

RULES = ValidationRules(calendar=WorkingCalendar())


def _context(level: Level = Level.DEPARTMENT, **metadata: Any) -> FilingContext:
    org = Organisation(str(sample_metadata()["org_code"]), "南开区合作交流办", level=level)
    return FilingContext(
        FilingMetadata.model_validate(sample_metadata(**metadata)), org, date(2024, 1, 5), RULES
    )


def test_every_kind_the_service_knows_has_its_entry() -> None:
    assert [spec.category for spec in category_specs()] == list(Category)
    assert len(set(portal_channels().values())) == len(Category)  # no two share a channel


def test_the_rule_of_law_report_goes_to_the_legal_platform_too_and_the_others_to_the_portal() -> (
    None
):
    routes = default_routes()
    assert routes.pop(Category.RULE_OF_LAW_REPORT) == [
        Destination.PORTAL,
        Destination.LEGAL_PLATFORM,
    ]
    assert set(map(tuple, routes.values())) == {(Destination.PORTAL,)}


@pytest.mark.parametrize(
    ("category", "level", "metadata", "due"),
    [
        (Category.RULE_OF_LAW_REPORT, Level.DEPARTMENT, {"period": "2023"}, date(2024, 3, 31)),
        (Category.GOV_INFO_ANNUAL_REPORT, Level.DEPARTMENT, {"period": "2023"}, date(2024, 1, 31)),
        (
            Category.GOV_INFO_ANNUAL_REPORT,
            Level.DISTRICT_GOVERNMENT,
            {"period": "2023"},
            date(2024, 3, 31),
        ),
        (
            Category.BUDGET_FINAL_ACCOUNTS,
            Level.DEPARTMENT,
            {"period": "2024", "budget": {"kind": "budget", "approved_on": "2024-02-05"}},
            date(2024, 2, 25),
        ),
        # 20 working days from 2024-02-05 skip the Spring Festival (2月10日–17日): 3月8日
        (Category.LEADERSHIP, Level.DEPARTMENT, {"period": "2024-02-05"}, date(2024, 3, 8)),
        (Category.ORGANIZATION, Level.DEPARTMENT, {"period": "2024-02-05"}, date(2024, 3, 8)),
        (Category.LIVELIHOOD, Level.DEPARTMENT, {"period": "2024-02-05"}, date(2024, 3, 8)),
    ],
)
def test_each_kind_is_due_on_the_day_its_statute_sets(
    category: Category, level: Level, metadata: dict[str, Any], due: date
) -> None:
    deadline = category_spec(category).due(_context(level, category=category.value, **metadata))
    assert deadline is not None and deadline.due == due


@pytest.mark.parametrize(
    ("category", "metadata"),
    [
        (Category.RULE_OF_LAW_REPORT, {"period": "2024-01-01"}),  # a day, not a year
        (Category.BUDGET_FINAL_ACCOUNTS, {"period": "2024", "budget": {"kind": "budget"}}),
        (Category.LEADERSHIP, {"period": "2024"}),
    ],
)
def test_no_due_day_is_made_up_when_the_metadata_cannot_give_one(
    category: Category, metadata: dict[str, Any]
) -> None:
    assert category_spec(category).due(_context(category=category.value, **metadata)) is None
