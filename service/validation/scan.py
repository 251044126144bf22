"""The personal-data and secrecy scan (DOMAIN.md §6–7) over every paragraph and table
cell, and the free text of the metadata. It assists the 保密审查; it never replaces it.

    pii_id_number              居民身份证号码 passing its check (or an old 15-digit one with a real date)
    pii_mobile                 a mobile number (warning: it may be an office's)
    pii_mobile_personal        a mobile near 姓名/联系人/住址/身份证 or an ID number (error)
    pii_bank_card              16–19 digits passing Luhn, with a card-issuer prefix
    secret_classified_marking  绝密/机密/秘密★, or a 密级 line naming a level
    secret_internal_marking    内部资料 / 内部使用
    scan_truncated             too many hits: the rest are not listed

The body's own USCC (and a 索引号 built from it) is never a finding, nor a masked number
(110105********002X), a landline (022-23456789) or an 18-digit number with a wrong
check digit. Excerpts are masked: never a full number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from stdnum import luhn as _luhn
from stdnum.cn import ric

from service.domain.findings import Finding, error, warning

EXCERPT_CHARS = 40
NEAR_CHARS = 20
MAX_PER_CODE = 50

# 省级行政区划代码: the first two digits of every real ID number.
_PROVINCES = frozenset(
    str(code)
    for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44,
                 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82)
)  # fmt: skip
_ID_18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
_ID_15 = re.compile(r"(?<![0-9A-Za-z])\d{15}(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![\d-])(?:\+?86[- ]?)?(1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?![\d-])")
# 16–19 digits, contiguous or in groups of three or more (6222 0212 3456 7890 123); not
# single digits with spaces between, which is how a PDF table row reads.
_CARD = re.compile(r"(?<![\d-])\d{3,19}(?:[ -]\d{3,19}){0,5}(?![\d-])")
_CARD_PREFIX = re.compile(r"^(?:62|60|9|4|5[1-5]|2[2-7]|3[57])")
_PERSONAL_WORDS = re.compile(r"姓名|联系人|住址|家庭地址|身份证")
_CLASSIFIED = re.compile(r"(绝密|机密|秘密)\s*★")
_LEVEL_LINE = re.compile(r"^\s*密级\s*[:：]?\s*(绝密|机密|秘密)")
_INTERNAL = re.compile(r"内部资料|内部使用")
_LONG_DIGITS = re.compile(r"\d{7,}")


@dataclass(frozen=True)
class Text:
    """One piece of text to scan and where it is; `context` is nearby text for the
    personal-word rule (a table cell's row and column header)."""

    text: str
    where: str
    context: str = ""


@dataclass(frozen=True)
class _Hit:
    code: str
    start: int
    end: int
    mask: str


def scan(texts: Iterable[Text], *, own_codes: Sequence[str], personal: bool) -> list[Finding]:
    """Findings for every text; `personal` scans for personal data (what is bound for the
    public portal), the secrecy markings are always looked for."""
    findings: list[Finding] = []
    counts: dict[str, int] = {}
    truncated: set[str] = set()
    for item in texts:
        for finding in _scan_one(item, own_codes, personal):
            counts[finding.code] = counts.get(finding.code, 0) + 1
            if counts[finding.code] <= MAX_PER_CODE:
                findings.append(finding)
            else:
                truncated.add(finding.code)
    findings += [_truncated(code, counts[code]) for code in sorted(truncated)]
    return findings


def _scan_one(item: Text, own_codes: Sequence[str], personal: bool) -> list[Finding]:
    text = unicodedata.normalize("NFKC", item.text)
    hits = _personal_hits(text, own_codes)
    masked, spans = _masked(text, hits)
    findings = _markings(masked, item.where)
    if not personal:
        return findings
    ids = [h for h in hits if h.code == "pii_id_number"]
    context = unicodedata.normalize("NFKC", item.context)
    for hit, (start, end) in zip(hits, spans, strict=True):
        code = hit.code
        if code == "pii_mobile" and (
            _near_personal(text, hit, ids) or _PERSONAL_WORDS.search(context)
        ):
            code = "pii_mobile_personal"
        findings.append(_finding(code, item.where, _window(masked, start, end)))
    return findings


# -- personal data ----------------------------------------------------------------------


def _personal_hits(text: str, own_codes: Sequence[str]) -> list[_Hit]:
    own = [
        (m.start(), m.end())
        for code in own_codes
        if code
        for m in re.finditer(re.escape(code), text)
    ]
    taken: list[tuple[int, int]] = list(own)
    hits: list[_Hit] = []

    def free(start: int, end: int) -> bool:
        return not any(start < b and a < end for a, b in taken)

    for m in _ID_18.finditer(text):
        if free(m.start(), m.end()) and _id_shaped(m.group()):
            taken.append((m.start(), m.end()))  # an ID-shaped number is never a card
            if valid_id_18(m.group()):
                hits.append(_Hit("pii_id_number", m.start(), m.end(), mask_id(m.group())))
    for m in _ID_15.finditer(text):
        if free(m.start(), m.end()) and valid_id_15(m.group()):
            taken.append((m.start(), m.end()))
            hits.append(_Hit("pii_id_number", m.start(), m.end(), mask_id(m.group())))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if free(m.start(), m.end()) and _card_like(digits):
            taken.append((m.start(), m.end()))
            hits.append(_Hit("pii_bank_card", m.start(), m.end(), mask_card(digits)))
    for m in _MOBILE.finditer(text):
        if free(m.start(), m.end()):
            masked = f"{m.group(1)}****{m.group(3)}"
            hits.append(_Hit("pii_mobile", m.start(), m.end(), masked))
    return sorted(hits, key=lambda h: h.start)


def valid_id_18(number: str) -> bool:
    """GB 11643-1999: a real birth date and the check character (python-stdnum's).

    Not `ric.is_valid`, which also wants the six-digit region code in stdnum's table and
    in use in the birth year: a number issued later in a new district (120116 滨海新区, born
    1985) would be no finding, and a missed ID number is the costly mistake here.
    python-stdnum 2.2 even raises KeyError for some codes (120199...)."""
    return _id_shaped(number) and ric.calc_check_digit(number) == number[17].upper()


def valid_id_15(number: str) -> bool:
    """The old 15-digit number: region, then a real date 19YYMMDD (stdnum.cn.ric reads
    only 18-digit numbers)."""
    return number[:2] in _PROVINCES and _real_date(
        1900 + int(number[6:8]), number[8:10], number[10:12]
    )


def _id_shaped(number: str) -> bool:
    """Region code and a real birth date: what an ID number looks like before its check."""
    return (
        len(number) == 18
        and number[:17].isdigit()
        and number[:2] in _PROVINCES
        and _real_date(int(number[6:10]), number[10:12], number[12:14])
    )


def _real_date(year: int, month: str, day: str) -> bool:
    if not 1900 <= year <= 2100:
        return False
    try:
        date(year, int(month), int(day))
    except ValueError:
        return False
    return True


def luhn(digits: str) -> bool:
    """The Luhn check (python-stdnum's), over decimal digits of any script, as `\\d`
    matches them; stdnum counts only 0–9."""
    if not digits.isascii():
        digits = "".join(str(int(c)) for c in digits)
    return _luhn.is_valid(digits)


def _card_like(digits: str) -> bool:
    return 16 <= len(digits) <= 19 and bool(_CARD_PREFIX.match(digits)) and luhn(digits)


def _near_personal(text: str, hit: _Hit, ids: Sequence[_Hit]) -> bool:
    window = text[max(0, hit.start - NEAR_CHARS) : hit.end + NEAR_CHARS]
    if _PERSONAL_WORDS.search(window):
        return True
    return any(i.start - NEAR_CHARS <= hit.end and hit.start <= i.end + NEAR_CHARS for i in ids)


def mask_id(number: str) -> str:
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_card(digits: str) -> str:
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


# -- secrecy ----------------------------------------------------------------------------


def _markings(text: str, where: str) -> list[Finding]:
    found: list[Finding] = []
    marked = _CLASSIFIED.search(text) or _LEVEL_LINE.search(text)
    if marked:
        found.append(
            _finding(
                "secret_classified_marking", where, _window(text, marked.start(), marked.end())
            )
        )
    internal = _INTERNAL.search(text)
    if internal:
        found.append(
            _finding(
                "secret_internal_marking", where, _window(text, internal.start(), internal.end())
            )
        )
    return found


# -- findings and excerpts --------------------------------------------------------------

_MESSAGES = {
    "pii_id_number": (
        "含有居民身份证号码，公开前须删除或脱敏（个人信息保护法第二十五条）",
        "A resident ID number: remove or mask it before publishing",
    ),
    "pii_mobile": (
        "含有手机号码，请确认是否为对外公开的办公电话",
        "A mobile number: make sure it is an office's public number",
    ),
    "pii_mobile_personal": (
        "含有个人手机号码（紧邻姓名、联系人、住址或身份证号码），公开前须删除或脱敏",
        "A person's mobile number (next to a name, address or ID number): remove or mask it",
    ),
    "pii_bank_card": (
        "含有银行卡号，公开前须删除或脱敏",
        "A bank card number: remove or mask it before publishing",
    ),
    "secret_classified_marking": (
        "含有密级标志（绝密/机密/秘密★ 或密级行），涉密内容不得公开（保守国家秘密法）",
        "A classification marking: classified content must not be published",
    ),
    "secret_internal_marking": (
        "含有“内部资料/内部使用”标志，不得公开",
        "An internal-use marking: not to be published",
    ),
}


def _finding(code: str, where: str, excerpt: str) -> Finding:
    zh, en = _MESSAGES[code]
    make = warning if code == "pii_mobile" else error
    return make(code, zh, en, where=where, excerpt=excerpt)


def _truncated(code: str, count: int) -> Finding:
    return warning(
        "scan_truncated",
        f"“{code}”共 {count} 处，只列出前 {MAX_PER_CODE} 处",
        f"{count} hits of {code}; only the first {MAX_PER_CODE} are listed",
    )


def _masked(text: str, hits: Sequence[_Hit]) -> tuple[str, list[tuple[int, int]]]:
    """`text` with every hit masked, and where each hit's mask now stands."""
    parts: list[str] = []
    spans: list[tuple[int, int]] = []
    at = length = 0
    for hit in hits:
        parts.append(text[at : hit.start])
        length += hit.start - at
        spans.append((length, length + len(hit.mask)))
        parts.append(hit.mask)
        length += len(hit.mask)
        at = hit.end
    parts.append(text[at:])
    return "".join(parts), spans


def _window(text: str, start: int, end: int) -> str:
    room = max(0, EXCERPT_CHARS - (end - start)) // 2
    a, b = max(0, start - room), min(len(text), end + room)
    piece = text[a:b].strip()
    piece = _LONG_DIGITS.sub(lambda m: m.group()[:3] + "*" * (len(m.group()) - 3), piece)
    return piece[:EXCERPT_CHARS]
