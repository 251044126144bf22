"""Capture of what was published (公开证明): the words, the verdicts and the rules that
judge a fetched page against the archived filing. No I/O here.

    normalise_text("一、 主要工作，") == normalise_text("一、主要工作,")
    judge(Seen(...), Expected(...)) -> Verdict
    next_check_at(captured_at, checks_done, schedule_days, monthly_days) -> datetime
    publication_finding(PageVerdict(...)) -> Finding | None   # drift and rot, on the filing
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from service.domain.findings import Finding, error


class CaptureStatus(StrEnum):
    PENDING = "pending"  # the first capture is due (or retried: a 404 in its grace period)
    CAPTURED = "captured"  # archived; re-checked on the schedule
    FAILED = "failed"  # the first capture gave up (the page never came: link rot)


class Verdict(StrEnum):
    UNCHANGED = "unchanged"  # 未变化: the page shows what was filed
    DRIFT = "drift"  # 内容变更: the main text or an attachment differs from the filing
    LINK_ROT = "link_rot"  # 链接失效: 404/410, soft 404, sent home, unreachable
    WITHDRAWN = "withdrawn"  # 已撤回: a withdrawn filing's page shows the notice


VERDICT_TEXT: Mapping[Verdict, tuple[str, str]] = {
    Verdict.UNCHANGED: ("公开页面与报送内容一致", "The published page matches the filing"),
    Verdict.DRIFT: (
        "公开页面的正文或附件与报送内容不一致",
        "The published page's main text or an attachment differs from the filing",
    ),
    Verdict.LINK_ROT: (
        "公开页面已无法访问（链接失效）",
        "The published page can no longer be reached (link rot)",
    ),
    Verdict.WITHDRAWN: ("公开页面显示撤回公告", "The published page shows the withdrawal notice"),
}

# Drift and link rot are findings on the filing (its `findings`, the version's on its
# page), with these stable codes; an unchanged or withdrawn page is none.
FINDING_CODES: Mapping[Verdict, str] = {
    Verdict.DRIFT: "publication_drift",
    Verdict.LINK_ROT: "publication_link_rot",
}

CORRECTION_MARKERS = ("已更正",)  # a corrected article's banner above its text
SOFT_404_MARKERS = ("页面不存在", "页面未找到", "您访问的页面不存在", "404 Not Found")
WITHDRAWAL_MARKERS = ("该信息已撤回", "已撤回")

# Full-width and CJK punctuation folded to one form (NFKC folds the full-width ASCII forms).
_PUNCTUATION = str.maketrans(
    {"。": ".", "、": ",", "“": '"', "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]",
     "《": "<", "》": ">", "〈": "<", "〉": ">", "「": '"', "」": '"', "『": '"', "』": '"',
     "—": "-", "－": "-", "…": "...", "·": "."}
)  # fmt: skip
_SPACE = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    """The text as compared: NFKC, punctuation folded, every whitespace removed (Chinese
    text does not separate words; pages re-wrap and indent freely)."""
    folded = unicodedata.normalize("NFKC", text).translate(_PUNCTUATION)
    return _SPACE.sub("", folded)


@dataclass(frozen=True)
class Seen:
    """What one fetch of the page found (the adapter's answer, already parsed)."""

    http_status: int | None  # None: no answer (connection failure, timeout)
    main_text: str = ""
    sent_home: bool = False  # redirected to the site's home page
    not_modified: bool = False  # 304 to a conditional request
    attachments: Mapping[str, str] = field(default_factory=dict)  # link → sha256


@dataclass(frozen=True)
class Expected:
    text: str  # the archived document's text, normalised
    attachment_sha256: frozenset[str]  # the archived files published as attachments
    withdrawn: bool = False


class RotKind(StrEnum):
    """How a page is gone (链接失效的类型)."""

    CONNECTION_FAILURE = "connection_failure"  # no answer: refused, timed out, no such host
    SENT_HOME = "sent_home"  # redirected to the site's home page
    NOT_FOUND = "not_found"  # 404
    GONE = "gone"  # 410
    SOFT_404 = "soft_404"  # 200, but the page says 「页面不存在」
    HTTP_ERROR = "http_error"  # another status: 5xx, 403, redirects beyond the bound


ROT_TEXT: Mapping[RotKind, tuple[str, str]] = {
    RotKind.CONNECTION_FAILURE: ("无法连接", "connection failure"),
    RotKind.SENT_HOME: ("跳转到网站首页", "redirected to the home page"),
    RotKind.NOT_FOUND: ("页面不存在（HTTP 404）", "not found (HTTP 404)"),
    RotKind.GONE: ("页面已删除（HTTP 410）", "gone (HTTP 410)"),
    RotKind.SOFT_404: ("页面显示「页面不存在」", "the page says it does not exist (soft 404)"),
    RotKind.HTTP_ERROR: ("服务器返回错误", "the server answered with an error"),
}


def rot_kind(seen: Seen) -> RotKind | None:
    """How the page is gone, or None when it is there (a 304 is there: unchanged)."""
    if seen.http_status is None:
        return RotKind.CONNECTION_FAILURE
    if seen.sent_home:
        return RotKind.SENT_HOME
    if seen.not_modified:
        return None
    if seen.http_status >= 300:  # gone, or redirected beyond the bound (a loop)
        named = {404: RotKind.NOT_FOUND, 410: RotKind.GONE}
        return named.get(seen.http_status, RotKind.HTTP_ERROR)
    if any(m in seen.main_text for m in SOFT_404_MARKERS):
        return RotKind.SOFT_404
    return None


def is_rot(seen: Seen) -> bool:
    return rot_kind(seen) is not None


def compares_text(seen: Seen) -> bool:
    """Whether judging this fetch reads the filing's text: not for a page gone, nor a
    304 (unchanged since the visit that read it)."""
    return not is_rot(seen) and not seen.not_modified


def text_matches(seen: Seen, expected: Expected) -> bool:
    """The page's main text is the filing's — below a 已更正 banner, if the portal put one
    on an article a correction superseded."""
    shown = normalise_text(seen.main_text)
    for marker in CORRECTION_MARKERS:
        shown = shown.removeprefix(normalise_text(marker))
    return bool(expected.text) and shown == expected.text


def attachments_match(seen: Seen, expected: Expected) -> bool:
    return set(seen.attachments.values()) == set(expected.attachment_sha256)


def judge(seen: Seen, expected: Expected, previous: Verdict | None = None) -> Verdict:
    """A fetch's verdict. A 304 keeps the previous verdict (nothing changed since)."""
    if is_rot(seen):
        return Verdict.LINK_ROT
    if seen.not_modified:
        return previous or Verdict.UNCHANGED
    if expected.withdrawn:
        shown = any(m in seen.main_text for m in WITHDRAWAL_MARKERS)
        return Verdict.WITHDRAWN if shown else Verdict.DRIFT
    if text_matches(seen, expected) and attachments_match(seen, expected):
        return Verdict.UNCHANGED
    return Verdict.DRIFT


def next_check_at(
    captured_at: datetime, checks_done: int, schedule_days: Sequence[int], monthly_days: int
) -> datetime:
    """When re-check number `checks_done + 1` is due: the schedule's days after the
    capture (default 1, 7, 30), then every `monthly_days` after the last of them."""
    if checks_done < len(schedule_days):
        return captured_at + timedelta(days=schedule_days[checks_done])
    last = schedule_days[-1] if schedule_days else 0
    extra = checks_done - len(schedule_days) + 1
    return captured_at + timedelta(days=last + extra * monthly_days)


def in_grace(first_attempt_at: datetime, now: datetime, grace: timedelta) -> bool:
    """A first capture that meets a 404 is tried again until the grace period ends
    (portals publish their static pages with a lag)."""
    return now - first_attempt_at < grace


@dataclass(frozen=True)
class PageVerdict:
    """A capture's latest verdict: which version, where it is published, what was found."""

    version: int
    destination: str
    url: str
    verdict: str | None  # a Verdict; None before the first capture is archived
    rot_kind: str | None = None  # a RotKind, with LINK_ROT


def publication_finding(page: PageVerdict) -> Finding | None:
    """The finding a page's latest verdict makes: drift or link rot, else none — so a
    re-check that finds the page right again clears it (a finding is the latest verdict,
    never a history: that is the audit trail and the archived WARCs)."""
    verdict = Verdict(page.verdict) if page.verdict else None
    if verdict is None or verdict not in FINDING_CODES:
        return None
    zh, en = VERDICT_TEXT[verdict]
    if verdict is Verdict.LINK_ROT and page.rot_kind in set(RotKind):
        kind_zh, kind_en = ROT_TEXT[RotKind(page.rot_kind)]
        zh, en = f"{zh}：{kind_zh}", f"{en}: {kind_en}"
    where = f"{page.destination} {page.url}（第{page.version}版 v{page.version}）"
    return error(FINDING_CODES[verdict], zh, en, where=where)
