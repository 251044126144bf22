"""报送列表's filters: what the page's query string may say, and the one function that
turns it into the API's search (`GET /v1/filings`: its Filters and Paging, so a filter
means on the page what it means in the API). Dates are days in Beijing time; 「止」 is
inclusive, as a person reads 「1 月 1 日至 1 月 31 日」.

    /filings?org_name=南开&title=法治&submitted_since=2024-01-01&sort=period&order=asc&page=2

A query parameter the page does not take is refused (400), as the API refuses it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from service.catalog.records import FilingQuery, FilingSort
from service.domain.access import Principal
from service.domain.filing import Category, DeliveryStatus, ReviewState, VersionStatus
from service.domain.metadata import ONE_LINE
from service.domain.time import SHANGHAI
from service.entrypoints.api.params import IsoDay
from service.entrypoints.api.search import Filters, Paging
from service.entrypoints.api.search import filing_query as search_query

PAGE_SIZE = 20
# A day a person may ask for: one whose start and next day are times the catalog can hold.
Day = Annotated[IsoDay, Field(ge=date(1900, 1, 1), le=date(9998, 12, 31))]
MAX_PAGE = 5_000  # beyond that a crawl, not a search
SORTS = {
    FilingSort.CREATED_AT: "提交时间",
    FilingSort.PERIOD: "期间",
    FilingSort.ORG_NAME: "单位名称",
    FilingSort.ORG_CODE: "单位代码",
    FilingSort.CATEGORY: "类别",
}


class FormFilters(BaseModel):
    """A page's query string, as its form sends it: an unknown field is refused (as the
    API refuses one), an empty field (「全部」) is the field's default, text is trimmed."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[str(info.field_name)].default
        return value.strip() if isinstance(value, str) else value


class ListFilters(FormFilters):
    """The list's query string; an empty field (「全部」) is no filter."""

    org_code: str | None = Field(None, pattern=r"^[0-9A-Z]{18}$")
    org_name: str | None = Field(None, min_length=1, max_length=100, pattern=ONE_LINE)
    category: Category | None = None
    period: str | None = Field(None, pattern=r"^\d{4}(-\d{2}-\d{2})?$")
    status: VersionStatus | None = None
    delivery_status: DeliveryStatus | None = None
    review_status: ReviewState | None = None
    title: str | None = Field(None, min_length=1, max_length=100, pattern=ONE_LINE)
    submitted_since: Day | None = None
    submitted_until: Day | None = None
    sort: FilingSort = FilingSort.CREATED_AT
    order: Literal["asc", "desc"] = "desc"
    page: int = Field(1, ge=1, le=MAX_PAGE)

    def query_string(self, **changed: Any) -> str:
        """This search with some fields changed (another page, another sort; None: the
        default), for links; only what differs from the defaults, so links stay short."""
        fields = {**self.model_dump(), **changed}
        other = type(self).model_validate({k: v for k, v in fields.items() if v is not None})
        return urlencode(other.model_dump(exclude_defaults=True, mode="json"))

    def sorted_by(self, sort: str) -> str:
        """The link of a column's heading: sorted by it, ascending first, then reversed."""
        order = "desc" if self.sort == sort and self.order == "asc" else "asc"
        return self.query_string(sort=sort, order=order, page=1)

    def search(self, limit: int = PAGE_SIZE) -> tuple[Filters, Paging]:
        """The API's search for this page (offset paging: a page has a number here)."""
        matching = Filters(
            self.org_code,
            self.org_name,
            self.category,
            self.period,
            self.status,
            self.delivery_status,
            self.review_status,
            self.title,
            _day_start(self.submitted_since),
            _day_start(self.submitted_until + timedelta(days=1) if self.submitted_until else None),
        )
        offset = (self.page - 1) * limit
        return matching, Paging(self.sort, self.order, limit, offset, None)


def filing_query(principal: Principal, filters: ListFilters, limit: int = PAGE_SIZE) -> FilingQuery:
    """The catalog's query, as the API builds it for the same search and token."""
    return search_query(principal, *filters.search(limit))


def export_query(principal: Principal, filters: ListFilters, batch: int, rows: int) -> FilingQuery:
    """The same search, a batch at a time, its total counted up to the export's limit."""
    return replace(filing_query(principal, filters, batch), count_up_to=rows)


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time(), tzinfo=SHANGHAI) if day else None


def page_count(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))
