"""Dates as written in Chinese documents: 2024年1月10日 and 二〇二四年一月十日.

find_dates("南开区合作交流办党组 2024年1月10日")   # [DateMention("2024年1月10日", 2024, 1, 10)]
parse_date("二〇二四年一月十日")                    # date(2024, 1, 10)
parse_date("2024年2月30日")                        # None: written like a date, not a real one
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# 〇 is the proper zero; ○ (a circle) and a Latin O are common stand-ins in real documents.
_CN_DIGITS = {
    "〇": 0, "○": 0, "零": 0, "O": 0, "0": 0,
    "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
}  # fmt: skip

CN_YEAR = r"[〇○零O0一二三四五六七八九]{4}"
_CN_MONTH = r"十[一二]?|[一二三四五六七八九]|元"
_CN_DAY = r"三十一?|二十[一二三四五六七八九]?|十[一二三四五六七八九]?|[一二三四五六七八九]"

_ARABIC = re.compile(r"(?<!\d)(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日")
_CHINESE = re.compile(rf"(?P<y>{CN_YEAR})\s*年\s*(?P<m>{_CN_MONTH})\s*月\s*(?P<d>{_CN_DAY})\s*日")


@dataclass(frozen=True)
class DateMention:
    """A date as written; `value` is None when it is not a real calendar date."""

    text: str
    year: int
    month: int
    day: int
    start: int
    end: int

    @property
    def value(self) -> date | None:
        try:
            return date(self.year, self.month, self.day)
        except ValueError:
            return None


def chinese_year(text: str) -> int:
    """二〇二四 → 2024 (each character one digit)."""
    return int("".join(str(_CN_DIGITS[c]) for c in text))


def chinese_number(text: str) -> int:
    """一 … 三十一 as used for months and days (元 is the first month)."""
    if text == "元":
        return 1
    tens, sep, units = text.partition("十")
    if not sep:
        return _CN_DIGITS[text]
    return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[units] if units else 0)


def find_dates(text: str) -> list[DateMention]:
    """Every 年月日 date in `text`, in order, Arabic and Chinese numerals alike."""
    found = [_arabic(m) for m in _ARABIC.finditer(text)]
    found += [_chinese(m) for m in _CHINESE.finditer(text)]
    return sorted(found, key=lambda d: d.start)


def parse_date(text: str) -> date | None:
    """The date when `text` (spaces aside) is exactly one date, else None."""
    stripped = text.strip()
    found = find_dates(stripped)
    if len(found) != 1 or (found[0].start, found[0].end) != (0, len(stripped)):
        return None
    return found[0].value


def _arabic(m: re.Match[str]) -> DateMention:
    return DateMention(m.group(), int(m["y"]), int(m["m"]), int(m["d"]), m.start(), m.end())


def _chinese(m: re.Match[str]) -> DateMention:
    return DateMention(
        m.group(),
        chinese_year(m["y"]),
        chinese_number(m["m"]),
        chinese_number(m["d"]),
        m.start(),
        m.end(),
    )
