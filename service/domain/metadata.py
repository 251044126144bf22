"""The metadata an operator submits with a filing (the `metadata` part of a submission)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from service.domain.filing import Category


class Review(BaseModel):
    """The 保密审查 record: who reviewed the item for secrets, when, with what result."""

    model_config = ConfigDict(extra="forbid")

    reviewer: str = Field(min_length=1, max_length=100)
    reviewed_on: date
    result: str = Field(min_length=1, max_length=200, description="e.g. 同意公开")


class FilingMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Category
    org_code: str = Field(min_length=18, max_length=18, description="统一社会信用代码")
    org_name: str = Field(min_length=1, max_length=200)
    period: str = Field(
        min_length=4,
        max_length=10,
        pattern=r"^\d{4}(-\d{2}-\d{2})?$",
        description='"2023" for annual kinds; "2024-03-05" for items formed or changed on a date',
    )
    title: str | None = Field(default=None, max_length=300)
    publish_at: datetime | None = None
    review: Review | None = None
