"""报送列表's query string → the catalog's FilingQuery: the token's bodies always, a blank
filter none, a page of 20 with one more row to tell whether a next page exists."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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


def test_page_three_starts_after_two_pages_and_asks_for_one_row_more() -> None:
    query = filing_query(EVERYONE, ListFilters(page=3))
    assert (query.offset, query.limit) == (2 * PAGE_SIZE, PAGE_SIZE + 1)


def test_the_pager_keeps_the_search_and_changes_only_the_page() -> None:
    filters = ListFilters.model_validate({"category": "livelihood", "period": "2024", "page": "2"})
    assert filters.query_string(3) == "category=livelihood&period=2024&page=3"


@pytest.mark.parametrize(
    "given", [{"period": "23"}, {"org_code": "not-a-uscc"}, {"status": "lost"}, {"page": "0"}]
)
def test_a_malformed_filter_is_refused(given: dict[str, str]) -> None:
    with pytest.raises(ValidationError):
        ListFilters.model_validate(given)
