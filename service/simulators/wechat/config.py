"""What the simulated WeChat platform is configured with, its errcodes and its errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from service.simulators.faults import HTTP_FAULTS, Faults

KiB, MiB = 1024, 1024 * 1024
BASE_PATH = "/cgi-bin/"

# The endpoints, named by their path under /cgi-bin/ (the names the faults, the quotas and
# the stats use).
STABLE_TOKEN = "stable_token"
UPLOADIMG = "media/uploadimg"
ADD_MATERIAL = "material/add_material"
DRAFT_ADD = "draft/add"
SUBMIT = "freepublish/submit"
GET = "freepublish/get"
BATCHGET = "freepublish/batchget"
DELETE = "freepublish/delete"
SENDALL = "message/mass/sendall"
ENDPOINTS = (
    STABLE_TOKEN, UPLOADIMG, ADD_MATERIAL, DRAFT_ADD, SUBMIT, GET, BATCHGET, DELETE, SENDALL,
)  # fmt: skip

# The daily quotas (per account, per endpoint, per day in Asia/Shanghai) the simulator
# enforces unless told otherwise: the contract's two.
DEFAULT_DAILY_LIMITS: Mapping[str, int] = MappingProxyType({GET: 100, SUBMIT: 100})
FORCE_REFRESH_PER_DAY = 20
STABLE_TOKEN_GRACE_S = 300  # a token's last 5 minutes: the old and the new one both work

# The contract's limits of a draft's article.
MAX_TITLE_CHARS = 32
MAX_AUTHOR_CHARS = 16
MAX_DIGEST_CHARS = 128
MAX_CONTENT_CHARS = 20_000  # content must be shorter
MAX_CONTENT_BYTES = MiB  # content must be smaller
MAX_SOURCE_URL_CHARS = KiB
MAX_ARTICLES = 8
MAX_UPLOADIMG_BYTES = MiB  # uploadimg: smaller than this
MAX_MATERIAL_BYTES = 10 * MiB  # a permanent image material: at most this
MAX_CLIENTMSGID_CHARS = 64

PUBLISH_STATUSES = (0, 1, 2, 3, 4, 5, 6)
OUTCOME_STATUSES = (0, 2, 3, 4)  # what a publish job may end in (5, 6 come later, by admin)
ACCOUNT_TYPES = ("subscription", "service")

# The fault kinds this platform speaks (service.simulators.faults; see the package docstring).
WECHAT_FAULT_KINDS: tuple[str, ...] = (
    *HTTP_FAULTS,
    "system_busy",
    "token_expired",
    "ip_not_whitelisted",
    "after_commit_503",
    "drop_connection",
    "slow",
)

# errcode → errmsg, as the platform words them (a "rid" is appended, as it does).
ERRMSG: Mapping[int, str] = MappingProxyType({
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40004: "invalid media type",
    40005: "invalid file type",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40013: "invalid appid",
    40060: "invalid article idx",
    40125: "invalid appsecret",
    40164: "invalid ip, not in whitelist",
    41001: "access_token missing",
    41002: "appid missing",
    41004: "appsecret missing",
    41005: "media data missing",
    41006: "media_id missing",
    42001: "access_token expired",
    44003: "empty news data",
    44004: "empty content",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45005: "url size out of limit",
    45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit",
    45110: "author size out of limit",
    47001: "data format error",
    53600: "invalid article_id",
    53601: "invalid publish_id",
})  # fmt: skip


@dataclass(frozen=True)
class SimulatorConfig:
    # appid → secret: one account per body (contracts/wechat.md, Accounts).
    accounts: Mapping[str, str] = field(
        default_factory=lambda: {"wx5c3a9e0d1b2f4a68": "wechat-demo-secret"}, repr=False
    )
    publish_delay_s: float = 0.0  # a publish job answers publish_status 1 this long
    publish_status: int = 0  # then this: 0 published, 2, 3 or 4 failed
    token_ttl_s: int = 7200
    account_type: str = "subscription"  # subscription: 1 mass send a day; service: 4 a month
    account_types: Mapping[str, str] = field(default_factory=dict)  # per appid, overriding
    daily_limits: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_DAILY_LIMITS))
    force_refresh_per_day: int = FORCE_REFRESH_PER_DAY
    clientmsgid_ttl_s: float = 86400.0
    start_time: float | None = None  # the clock's first reading (epoch s); None: real time
    account_name: str = "滨河新区司法局"  # shown on the article pages
    faults: Faults = field(default_factory=lambda: Faults(kinds=WECHAT_FAULT_KINDS))

    def __post_init__(self) -> None:
        if self.publish_status not in OUTCOME_STATUSES:
            raise ValueError(f"publish_status must be one of {OUTCOME_STATUSES}")
        if self.publish_delay_s < 0:
            raise ValueError("publish_delay_s must not be negative")
        for kind in (self.account_type, *self.account_types.values()):
            if kind not in ACCOUNT_TYPES:
                raise ValueError(f"account types are {ACCOUNT_TYPES}, not {kind!r}")
        unknown = set(self.daily_limits) - set(ENDPOINTS)
        if unknown:
            raise ValueError(f"daily_limits names unknown endpoints: {sorted(unknown)}")

    def type_of(self, appid: str) -> str:
        return self.account_types.get(appid, self.account_type)


class WechatError(Exception):
    """An errcode answer: HTTP 200 with `{"errcode", "errmsg"}` (and any `extra` fields)."""

    def __init__(self, errcode: int, detail: str = "", **extra: Any) -> None:
        super().__init__(f"{errcode}: {detail or ERRMSG.get(errcode, '')}")
        self.errcode, self.detail, self.extra = errcode, detail, extra

    def body(self, rid: str) -> dict[str, Any]:
        return error_body(self.errcode, rid, self.detail, **self.extra)


def error_body(errcode: int, rid: str, detail: str = "", **extra: Any) -> dict[str, Any]:
    message = ERRMSG.get(errcode, "error")
    hint = f" hint: [{detail}]" if detail else ""
    return {"errcode": errcode, "errmsg": f"{message}{hint} rid: {rid}", **extra}
