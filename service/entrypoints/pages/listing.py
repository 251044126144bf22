"""报送列表's filters: what the page's query string may say, and the one function that
turns it into the catalog's FilingQuery (the API's, with the token's bodies), so a new
filter is one field here and one line there."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, field_validator

from service.catalog.records import FilingQuery
from service.domain.access import Principal
from service.domain.filing import Category, VersionStatus

PAGE_SIZE = 20
MAX_PAGE = 5_000  # beyond that a crawl, not a search (the API's offset limit)


class ListFilters(BaseModel):
    """The list's query string; an empty field (「全部」) is no filter."""

    model_config = ConfigDict(extra="ignore")

    org_code: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$")
    category: Category | None = None
    period: str | None = Field(None, pattern=r"^\d{4}(-\d{2}-\d{2})?$")
    status: VersionStatus | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)

    @field_validator("org_code", "category", "period", "status", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    def query_string(self, page: int) -> str:
        """This search on another page, for the pager's links."""
        given = self.model_dump(exclude_none=True, exclude={"page"}, mode="json")
        return urlencode({**given, "page": page})


def filing_query(principal: Principal, filters: ListFilters) -> FilingQuery:
    """One more row than a page holds: whether there is a next page."""
    return FilingQuery(
        org_codes=principal.visible_bodies(),
        org_code=filters.org_code,
        category=filters.category.value if filters.category else None,
        period=filters.period,
        status=filters.status,
        limit=PAGE_SIZE + 1,
        offset=(filters.page - 1) * PAGE_SIZE,
    )
