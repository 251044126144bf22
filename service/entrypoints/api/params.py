"""Query parameters the list routes share: times with their offset, words to search for,
and page cursors.

    ZonedTime    2024-03-05T08:00:00+08:00 (or …Z); a time without an offset is ambiguous
                 and refused, as is a number of seconds
    IsoDay       2024-03-05, and only that: pydantic alone would read `0` as 1970-01-01
    SearchText   1–100 characters of one line, matched as a part of the text
    Cursor       what the previous page answered as `next_cursor`, unchanged

A cursor is base64url JSON of where the previous page ended; the service reads back only
what it wrote, and anything else is 400 `invalid_cursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

from service.domain.errors import InvalidInput
from service.domain.metadata import ONE_LINE

ZONED_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"


_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_day(value: object) -> object:
    if isinstance(value, str) and not _ISO_DAY.fullmatch(value):
        raise PydanticCustomError("date_parsing", "Input should be a date as YYYY-MM-DD")
    if isinstance(value, int | float):
        raise PydanticCustomError("date_type", "Input should be a date as YYYY-MM-DD")
    return value


IsoDay = Annotated[date, BeforeValidator(_iso_day)]


def zoned_time(description: str) -> Any:
    return Query(
        pattern=ZONED_PATTERN,
        description=f"{description}（ISO 8601，须带时区 with its offset）",
        examples=["2024-01-01T00:00:00+08:00"],
    )


def search_text(description: str) -> Any:
    return Query(min_length=1, max_length=100, pattern=ONE_LINE, description=description)


CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
Cursor = Annotated[
    str | None,
    Query(
        pattern=CURSOR_PATTERN,
        description="上一页答复中的 next_cursor The previous page's next_cursor, unchanged",
    ),
]


def parse_zoned(value: str | None, name: str) -> datetime | None:
    """The time in a `ZonedTime` parameter; one that matches the pattern but is no
    date (month 13), or no time in UTC (0001-01-01T00:00+08:00, the catalog's zone), is
    refused too."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
        moment.astimezone(UTC)
        return moment
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{name} 不是有效的时间（ISO 8601，须带时区，如 2024-01-01T00:00:00+08:00）",
            f"{name} is not a valid time (ISO 8601 with an offset, e.g. 2024-01-01T00:00:00+08:00)",
            code="invalid_time",
        ) from None


def encode_cursor(fields: dict[str, Any]) -> str:
    raw = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> dict[str, Any]:
    """The fields of a cursor this service wrote; anything else is `invalid_cursor`."""
    try:
        fields = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, RecursionError):
        raise invalid_cursor() from None
    if not isinstance(fields, dict):
        raise invalid_cursor()
    return fields


def invalid_cursor() -> InvalidInput:
    return InvalidInput(
        "cursor 无效：请原样使用上一页答复中的 next_cursor，且排序方式不变",
        "Invalid cursor: pass the previous page's next_cursor unchanged, with the same sort",
        code="invalid_cursor",
    )
