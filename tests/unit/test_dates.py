from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.validation.dates import chinese_number, chinese_year, find_dates, parse_date

_DIGITS = "〇一二三四五六七八九"


def _chinese_small(n: int) -> str:
    tens, units = divmod(n, 10)
    if tens == 0:
        return _DIGITS[units]
    return ("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[units] if units else "")


def _chinese_date(d: date) -> str:
    year = "".join(_DIGITS[int(c)] for c in str(d.year))
    return f"{year}年{_chinese_small(d.month)}月{_chinese_small(d.day)}日"


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2024年1月10日", date(2024, 1, 10)),
        ("2024年01月05日", date(2024, 1, 5)),
        ("2024 年 1 月 10 日", date(2024, 1, 10)),
        ("２０２４年１月１０日", date(2024, 1, 10)),
        ("二〇二四年一月十日", date(2024, 1, 10)),
        ("二○二四年一月十日", date(2024, 1, 10)),
        ("二零二四年三月一日", date(2024, 3, 1)),
        ("二〇二四年十一月十一日", date(2024, 11, 11)),
        ("二〇二四年十二月二十一日", date(2024, 12, 21)),
        ("二〇二四年一月三十一日", date(2024, 1, 31)),
        ("二〇二四年一月二十日", date(2024, 1, 20)),
        ("二〇二四年元月三十日", date(2024, 1, 30)),
    ],
)
def test_a_written_date_parses_to_its_calendar_date(written: str, expected: date) -> None:
    assert parse_date(written) == expected


@pytest.mark.parametrize("written", ["2024年2月30日", "二〇二三年二月二十九日", "2024年13月1日"])
def test_a_date_that_is_not_on_the_calendar_parses_to_none(written: str) -> None:
    assert parse_date(written) is None
    assert find_dates(written)[0].value is None


def test_parse_date_wants_the_whole_text_to_be_one_date() -> None:
    assert parse_date("于2024年1月10日召开") is None
    assert parse_date("2024年1月") is None


def test_find_dates_returns_every_date_in_order_with_its_position() -> None:
    text = "南开区合作交流办党组 二〇二四年一月十日，另见2023年12月31日"
    found = find_dates(text)
    assert [d.value for d in found] == [date(2024, 1, 10), date(2023, 12, 31)]
    assert text[found[0].start : found[0].end] == "二〇二四年一月十日"


def test_a_longer_number_is_not_read_as_a_year() -> None:
    assert find_dates("12024年1月1日") == []


@pytest.mark.parametrize(
    ("text", "n"),
    [("一", 1), ("十", 10), ("十一", 11), ("二十", 20), ("二十一", 21), ("三十一", 31)],
)
def test_chinese_numbers_for_months_and_days(text: str, n: int) -> None:
    assert chinese_number(text) == n


def test_chinese_year_reads_each_character_as_a_digit() -> None:
    assert chinese_year("二〇二四") == 2024
    assert chinese_year("二零一九") == 2019


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_any_date_written_in_chinese_numerals_parses_back(d: date) -> None:
    assert parse_date(_chinese_date(d)) == d
    assert parse_date(f"{d.year}年{d.month}月{d.day}日") == d
