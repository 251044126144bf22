"""What the platform's contract fixes (contracts/wechat.md): its errcodes as what a sender
does, the adapter's configuration, the article a delivery publishes, the images it may
carry and the built-in cover.
"""

from __future__ import annotations

import functools
import hashlib
import html
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO

from service.delivery.port import DeliveryJob
from service.delivery.quick_retry import Permanent, QuickRetryPolicy, Transient
from service.domain.time import SHANGHAI

Log = Any  # a structlog bound logger

MAX_TITLE_CHARS = 32
MAX_AUTHOR_CHARS = 16
MAX_DIGEST_CHARS = 128
MAX_CONTENT_CHARS = 19_999  # "< 20,000 characters"
MAX_IMAGE_BYTES = 1024 * 1024 - 1  # "< 1 MB"
MAX_CLIENT_MSG_ID = 64
FULL_TEXT_NOTE = "全文见阅读原文"
# publish_status 1: still publishing; the waits between polls (freepublish/get: 100 a day)
POLL_BACKOFF_S = (30.0, 120.0, 600.0, 3600.0)


class Answer(StrEnum):
    """What a sender does on an errcode (the contract's table)."""

    RETRY = "retry"  # transient: retry with back-off
    TOKEN = "token"  # a new token (not force_refresh), retried once
    TOMORROW = "tomorrow"  # the daily quota: nothing before 00:00 Asia/Shanghai
    CONFIGURATION = "configuration"  # permanent until an operator acts
    PERMANENT = "permanent"


ERRCODES: Mapping[int, Answer] = MappingProxyType(
    {
        -1: Answer.RETRY,
        40001: Answer.TOKEN,
        40014: Answer.TOKEN,
        42001: Answer.TOKEN,
        45009: Answer.TOMORROW,
        45028: Answer.TOMORROW,  # no mass-send quota left today
        40164: Answer.CONFIGURATION,
        89503: Answer.CONFIGURATION,
        48001: Answer.CONFIGURATION,
        40013: Answer.CONFIGURATION,  # invalid appid
        40125: Answer.CONFIGURATION,  # invalid secret
        40005: Answer.PERMANENT,
        40009: Answer.PERMANENT,
        40007: Answer.PERMANENT,
        53503: Answer.PERMANENT,
        53504: Answer.PERMANENT,
        53505: Answer.PERMANENT,
    }
)

# What an operator reads on the filing's page and in the notice (Chinese; English in logs).
REASONS: Mapping[int, str] = MappingProxyType(
    {
        40164: "微信公众平台拒绝了本服务的出口 IP（40164：IP 不在白名单）。请公众号管理员在"
        "“设置与开发—基本配置—IP 白名单”中加入本服务的出口 IP，然后重新报送。",
        89503: "本次调用需要公众号管理员确认（89503：风险 IP 待确认）。请管理员在公众号安全助手"
        "中确认后重新报送。",
        48001: "公众号没有该接口的权限（48001：API 未授权）。请确认公众号已认证并开通发布能力，"
        "然后重新报送。",
        40013: "公众号 AppID 无效（40013）。请检查单位登记中的 appid。",
        40125: "公众号 AppSecret 无效（40125）。请检查单位登记中 secret 所指的环境变量。",
        40005: "图片格式不被接受（40005）。",
        40009: "图片过大（40009）。",
        40007: "素材 media_id 无效（40007）。",
        53503: "草稿未通过平台发布检查（53503），需人工在公众号后台处理。",
        53504: "该草稿需在公众号后台手动发布（53504）。",
        53505: "该草稿需在公众号后台手动发布（53505）。",
        45009: "公众号今日接口调用次数已达上限（45009），已顺延至次日 00:00（北京时间）重试。",
        45028: "公众号今日群发次数已用完（45028），已顺延至次日 00:00（北京时间）重试。",
    }
)

PUBLISH_FAILURES: Mapping[int, str] = MappingProxyType(
    {
        2: "原创声明审核未通过（publish_status 2），不会自动重新发布；请人工处理。",
        3: "公众号发布失败（publish_status 3），不会自动重新发布；请人工处理。",
        4: "文章未通过平台审核（publish_status 4），不会自动重新发布；请人工处理。",
        5: "文章已被公众号删除（publish_status 5），不会自动重新发布。",
        6: "文章发布后被平台封禁（publish_status 6），不会自动重新发布。",
    }
)


class QuotaReached(Exception):
    """45009 (and the mass-send quota): no call to this account before `until`."""

    def __init__(self, code: str, message: str, until: datetime) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.until = until


NEVER_PUBLISHED = frozenset({2, 3, 4})  # originality check, failed, refused by review
IMAGE_REFUSALS = frozenset({"wechat_40005", "wechat_40009"})  # bad type, too large
# Answers that say a submit was refused before the platform accepted anything: the
# credentials, the media id, the account's rights, the day's quota. Others (-1 busy, 5xx,
# a lost answer) may hide a job queued anyway.
REFUSED_BEFORE_ACCEPTANCE = frozenset(
    f"wechat_{code}" for code in (40001, 40014, 42001, 40007, 48001, 40164, 89503, 45009)
)


def refused_before_acceptance(exc: Exception) -> bool:
    return isinstance(exc, QuotaReached) or getattr(exc, "code", None) in REFUSED_BEFORE_ACCEPTANCE


def classified(errcode: int, errmsg: str, endpoint: str, now: datetime) -> Exception:
    """The exception an errcode other than 0 raises (the token's codes are handled before)."""
    answer = ERRCODES.get(errcode)
    summary = f"{endpoint}: errcode {errcode} {errmsg}".strip()
    reason = REASONS.get(errcode)
    code = f"wechat_{errcode}".replace("-", "minus_")
    if answer is Answer.TOMORROW:
        return QuotaReached(code, f"{reason} ({summary})", next_midnight(now))
    if answer in (Answer.RETRY, Answer.TOKEN):
        return Transient(code, summary, http_status=200)
    if answer is Answer.CONFIGURATION:
        return Permanent(code, f"{reason} ({summary})", http_status=200)
    # The table's permanent rows, and errcodes it does not name: a person looks first.
    return Permanent(code, f"{reason or '微信公众平台拒绝了请求。'} ({summary})", http_status=200)


def next_midnight(now: datetime) -> datetime:
    """The next 00:00 Asia/Shanghai after `now` (an aware time)."""
    local = now.astimezone(SHANGHAI)
    return datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), SHANGHAI)


# -- configuration ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeChatAccount:
    """A body's official account: its appid and secret (never in a repr), and whether a
    published article is also sent to the followers (a mass message, off by default)."""

    appid: str
    secret: str = field(repr=False)
    mass_send: bool = False


@dataclass(frozen=True)
class Cover:
    """The image an article's cover is made from: its bytes and a name for the upload."""

    data: bytes = field(repr=False)
    filename: str
    media_type: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class WeChatConfig:
    base_url: str
    accounts: Mapping[str, WeChatAccount] = field(default_factory=dict)  # org_code → account
    cover: Cover | None = None  # None: the built-in cover
    covers: Mapping[str, Cover] = field(default_factory=dict)  # org_code → its own cover
    timeout_s: float = 30.0
    quick_tries: int = 3
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 60.0
    token_refresh_margin_s: float = 300.0
    max_images: int = 10
    poll_backoff_s: Sequence[float] = POLL_BACKOFF_S
    # A submit whose answer was lost and that freepublish/batchget does not list yet may
    # still be publishing: it is looked for again for this long before it is resubmitted.
    lost_submit_grace_s: float = 7200.0

    @property
    def retry_policy(self) -> QuickRetryPolicy:
        return QuickRetryPolicy(
            self.quick_tries, self.backoff_initial_s, self.backoff_max_s, self.retry_after_cap_s
        )

    def cover_for(self, org_code: str) -> Cover:
        return self.covers.get(org_code) or self.cover or built_in_cover()


def cover_from_file(path: Path) -> Cover:
    """A configured cover: a JPEG or PNG under 1 MB (ValueError otherwise)."""
    data = path.read_bytes()
    media_type = image_type(data)
    if media_type is None or len(data) > MAX_IMAGE_BYTES:
        raise ValueError(f"{path}: a cover must be a JPEG or PNG under 1 MB")
    return Cover(data, path.name, media_type)


# -- the article --------------------------------------------------------------------------------


def reference(job: DeliveryJob) -> str:
    """The end of every digest, unique per filing version: what finds a publication whose
    submit answer was lost (freepublish/batchget lists titles and digests only)."""
    return f"编号 {job.filing_id}-v{job.version}"


def article_title(job: DeliveryJob) -> str:
    title = (job.title or job.file.filename.rsplit(".", 1)[0]).strip() or job.filing_id
    return _cut(title, MAX_TITLE_CHARS)


def article_digest(job: DeliveryJob) -> str:
    """The opening words of the document, cut to fit, then the reference: never a summary
    the service invented."""
    ref = reference(job)
    title = (job.title or "").strip()
    text = [p.strip() for p in job.paragraphs if p.strip() and p.strip() != title]
    opening = " ".join(text[:3])
    room = MAX_DIGEST_CHARS - len(ref) - 1
    return f"{_cut(opening, room)} {ref}".strip() if room > 1 else ref[:MAX_DIGEST_CHARS]


def article_content(
    paragraphs: Sequence[str], images: Sequence[str], source_url: str | None
) -> str:
    """`<p>` per paragraph (HTML-escaped), then the body's images; a document longer than
    the platform takes gives its opening paragraphs, then 「全文见阅读原文」 (the portal
    article is the 阅读原文 link), and no images."""
    blocks = [f"<p>{html.escape(p.strip())}</p>" for p in paragraphs if p.strip()]
    blocks += [f'<p><img src="{html.escape(url, quote=True)}"/></p>' for url in images]
    whole = "".join(blocks)
    if len(whole) <= MAX_CONTENT_CHARS:
        return whole
    note = _full_text_note(source_url)
    room = MAX_CONTENT_CHARS - len(note)
    kept: list[str] = []
    used = 0
    for paragraph in (p.strip() for p in paragraphs if p.strip()):
        block = f"<p>{html.escape(paragraph)}</p>"
        if used + len(block) > room:
            if not kept:  # one paragraph longer than the platform takes: its opening
                kept.append(_opening_block(paragraph, room))
            break
        kept.append(block)
        used += len(block)
    return "".join(kept) + note


def _full_text_note(source_url: str | None) -> str:
    if not source_url:
        return f"<p>（{FULL_TEXT_NOTE}）</p>"
    href = html.escape(source_url, quote=True)
    return f'<p>（<a href="{href}">{FULL_TEXT_NOTE}</a>）</p>'


def _opening_block(paragraph: str, room: int) -> str:
    text = paragraph
    while text and len(f"<p>{html.escape(text)}……</p>") > room:
        text = text[: max(0, len(text) - max(1, len(text) // 10))]
    return f"<p>{html.escape(text)}……</p>" if text else ""


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def client_msg_id(idempotency_key: str) -> str:
    """message/mass/sendall's clientmsgid (at most 64 characters): stable per delivery."""
    if len(idempotency_key) <= MAX_CLIENT_MSG_ID:
        return idempotency_key
    return hashlib.sha256(idempotency_key.encode()).hexdigest()


# -- images -------------------------------------------------------------------------------------


def image_type(data: bytes) -> str | None:
    """image/jpeg or image/png by the bytes' signature; None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


@dataclass(frozen=True)
class Image:
    name: str
    data: bytes = field(repr=False)
    media_type: str


def docx_images(stream: BinaryIO, limit: int, *, max_members: int = 10_000) -> list[Image]:
    """The JPEG and PNG images a DOCX embeds (word/media/…), in the package's order, at most
    `limit`, each under 1 MB by its declared and its read size; others are left out. Bounded:
    a package of more than `max_members` members gives none, nothing is read whole beyond
    1 MB. Paragraphs carry no image positions, so the article shows them after the text."""
    try:
        with zipfile.ZipFile(stream) as package:
            members = package.infolist()
            if len(members) > max_members:
                return []
            media = sorted(
                (m for m in members if m.filename.startswith("word/media/") and not m.is_dir()),
                key=lambda m: _natural(m.filename),
            )
            return _read_images(package, media, limit)
    except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
        return []


def _read_images(
    package: zipfile.ZipFile, media: Sequence[zipfile.ZipInfo], limit: int
) -> list[Image]:
    found: list[Image] = []
    for member in media[: 4 * limit]:  # a package of many non-images is not inflated whole
        if len(found) >= limit:
            break
        if member.file_size > MAX_IMAGE_BYTES:
            continue
        with package.open(member) as part:
            if image_type(part.read(8)) is None:  # the signature before the rest
                continue
        with package.open(member) as part:
            data = part.read(MAX_IMAGE_BYTES + 1)
        media_type = image_type(data)
        if media_type is not None and len(data) <= MAX_IMAGE_BYTES:
            found.append(Image(member.filename.rsplit("/", 1)[-1], data, media_type))
    return found


def _natural(name: str) -> tuple[str, int]:
    """image2.png before image10.png."""
    stem = name.rsplit(".", 1)[0]
    digits = "".join(c for c in reversed(stem) if c.isdigit())[::-1]
    return (stem[: len(stem) - len(digits)], int(digits) if digits else 0)


def _solid_png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, made here so the built-in cover needs no file."""
    row = b"\x00" + bytes(rgb) * width
    raw = zlib.compress(row * height, 9)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


@functools.cache
def built_in_cover() -> Cover:
    """900×383, the 2.35:1 cover the platform shows: a plain red a body replaces with its
    own (made on first use, not on import)."""
    return Cover(_solid_png(900, 383, (178, 34, 34)), "cover.png", "image/png")
