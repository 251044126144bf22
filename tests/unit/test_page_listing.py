"""报送列表's query string → the catalog's FilingQuery (the API's search): the token's
bodies always, a blank filter none, a page of 20 at its offset, days in Beijing time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from service.catalog.records import FilingSort
from service.domain.access import Principal, Role
from service.domain.filing import Category, VersionStatus
from service.entrypoints.pages.listing import PAGE_SIZE, ListFilters, filing_query
from tests.support.bodies import NANKAI_OFFICE, OTHER_BODY

OFFICE = Principal("office", Role.OPERATOR, frozenset({NANKAI_OFFICE}))
EVERYONE = Principal("auditor", Role.COMPLIANCE, frozenset({"*"}))


def test_a_token_of_one_body_searches_only_that_body_whatever_it_asks() -> None:
    query = filing_query(OFFICE, ListFilters.model_validate({"org_code": OTHER_BODY}))
    assert query.org_codes == frozenset({NANKAI_OFFICE})
    assert query.org_code == OTHER_BODY  # asked for: the catalog intersects, finding none


def test_a_token_for_all_bodies_searches_all() -> None:
    assert filing_query(EVERYONE, ListFilters()).org_codes is None


def test_blank_fields_are_no_filter_and_the_others_are_typed() -> None:
    filters = ListFilters.model_validate(
        {"org_code": "", "category": "livelihood", "period": " ", "status": "published"}
    )
    query = filing_query(EVERYONE, filters)
    assert (query.org_code, query.period) == (None, None)
    assert query.category == Category.LIVELIHOOD.value
    assert query.status is VersionStatus.PUBLISHED


def test_page_three_starts_after_two_pages() -> None:
    query = filing_query(EVERYONE, ListFilters(page=3))
    assert (query.offset, query.limit) == (2 * PAGE_SIZE, PAGE_SIZE)


def test_the_pager_keeps_the_search_and_changes_only_the_page() -> None:
    filters = ListFilters.model_validate({"category": "livelihood", "period": "2024", "page": "2"})
    assert filters.query_string(page=3) == "category=livelihood&period=2024&page=3"


def test_submitted_days_are_beijing_days_and_the_last_one_is_included() -> None:
    filters = ListFilters.model_validate(
        {"submitted_since": "2024-01-12", "submitted_until": "2024-01-12"}
    )
    query = filing_query(EVERYONE, filters)
    assert query.submitted_since == datetime(2024, 1, 11, 16, 0, tzinfo=UTC)
    assert query.submitted_until == datetime(2024, 1, 12, 16, 0, tzinfo=UTC)


def test_words_sort_and_order_reach_the_search() -> None:
    filters = ListFilters.model_validate(
        {"org_name": " 南开 ", "title": "法治", "sort": "period", "order": "asc", "page": ""}
    )
    query = filing_query(EVERYONE, filters)
    assert (query.org_name, query.title) == ("南开", "法治")
    assert (query.sort, query.descending, query.offset) == (FilingSort.PERIOD, False, 0)


def test_a_column_heading_sorts_ascending_first_then_reverses_and_starts_again() -> None:
    filters = ListFilters.model_validate({"title": "法治", "page": "4"})
    assert filters.sorted_by("period") == "title=%E6%B3%95%E6%B2%BB&sort=period&order=asc"
    reversed_ = ListFilters.model_validate({"sort": "period", "order": "asc"})
    assert reversed_.sorted_by("period") == "sort=period"  # desc is the default


@pytest.mark.parametrize(
    "given",
    [
        {"period": "23"},
        {"org_code": "not-a-uscc"},
        {"status": "lost"},
        {"page": "0"},
        {"delivery_status": "lost"},
        {"sort": "sha256"},
        {"order": "up"},
        {"submitted_since": "2024-13-01"},
        {"submitted_since": "0001-01-01"},  # its start is no time in UTC
        {"submitted_until": "9999-12-31"},  # nor the day after it
        {"title": "x" * 101},
        {"orgcode": "11120104MB00000012"},  # a misspelt filter is refused, not ignored
    ],
)
def test_a_malformed_filter_is_refused(given: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ListFilters.model_validate(given)
