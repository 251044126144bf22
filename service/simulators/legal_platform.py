"""The legal-platform simulator: an in-memory 天津市法律顾问管理服务平台 speaking the whole of
`contracts/legal-platform.md`, with fault injection (service.simulators.faults) and an
/_admin API for tests and the demo.

    POST {prefix}/openapi/v1/reports                 file a report (multipart, signed)
    GET  {prefix}/openapi/v1/reports/{receipt_no}    its review status (signed)

    POST /_admin/faults   GET /_admin/faults   POST /_admin/reset   GET /_admin/stats
    GET  /_admin/reports  POST /_admin/reviews/{receipt_no}  {"status": "ACCEPTED"|"RETURNED",
                                                               "return_reason": "…"}

`prefix` (config `path_prefix`, e.g. "/gw") stands for a gateway's path in front of the
platform: signatures cover it. Every business answer is HTTP 200 with the envelope
`{"code", "message", "data"}`; the checks run in the contract's order — app key, timestamp,
signature, nonce; then request_id replay; then everything else. A request_id's first
success (code 0) is kept `request_id_ttl_s` per app key and replayed for the same content
(the form's fields and the file's SHA-256; not the bytes, so a sender may rebuild the body
with another boundary); other content under it is 40001.

A report is RECEIVED on upload; a reviewer ACCEPTS or RETURNS it by an admin call, or by
itself `review_after_s` after upload (the explicit `review_decision`, else RETURNED with
probability `return_rate`), decided when it is next read.

Faults (the portal's `Faults`, mapped to this platform; token_expired does not apply — there
are no tokens — and is never drawn here):

    http_500 … 504     the gateway's HTML error page: 502 (for http_500 and http_502), 503, 504
    rate_limit         HTTP 200, code 42901, data.retry_after
    platform_busy      HTTP 200, code 50001 or 50301 (in turn)
    after_commit_503   the request IS processed (the report stored), then the gateway's 503
    drop_connection    the request IS processed, then the connection is cut
    slow               the handler waits `latency_ms`
    clock_skew         the request meets a platform node whose clock is `clock_skew_s` off:
                       40102 with that node's server_time (a client that learns the offset
                       from it then meets 40102 from the right clocks, and corrects back)

`clock_offset_s` instead sets every clock of the platform off, so an unsynchronised client
meets 40102 until it corrects its offset from server_time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.types import Scope

from service.domain.time import SHANGHAI
from service.simulators import RunningSimulator, run_in_thread
from service.simulators.faults import (
    HTTP_FAULTS,
    Counters,
    FaultAnswer,
    FaultAnswers,
    FaultDice,
    FaultMiddleware,
    FaultPlan,
    Faults,
    add_fault_admin_routes,
    pause,
)

MiB = 1024 * 1024
REPORTS_PATH = "/openapi/v1/reports"
MAX_REQUEST_ID_CHARS = 64
NONCE = re.compile(r"[A-Za-z0-9]{16,64}")
REVIEW_OUTCOMES = ("ACCEPTED", "RETURNED")
DEFAULT_RETURN_REASON = "报告未按要求载明年度主要工作和下一年度工作安排，请补充后重新报送"

# The fault kinds this platform speaks (see the module docstring).
LEGAL_PLATFORM_FAULT_KINDS: tuple[str, ...] = (
    *HTTP_FAULTS,
    "rate_limit",
    "platform_busy",
    "after_commit_503",
    "drop_connection",
    "slow",
    "clock_skew",
)

# What the platform takes: the extension names the type, the first bytes must agree.
_ZIP = b"PK\x03\x04"
_SIGNATURES = {"pdf": b"%PDF", "ofd": _ZIP, "docx": _ZIP}
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_FORM_FIELDS = (
    "org_code", "org_name", "report_year", "report_type", "title", "file_sha256", "version",
)  # fmt: skip
_ADMIN_FIELDS = (
    "org_code", "org_name", "report_year", "report_type", "title", "version", "request_id",
    "app_key", "filename", "file_sha256", "file_size", "replaced_by",
)  # fmt: skip
_GATEWAY_STATUS = {"http_500": 502, "http_502": 502, "http_503": 503, "http_504": 504}


@dataclass(frozen=True)
class SimulatorConfig:
    # App key → secret; `app_orgs` limits a key to some org codes (a key absent there: any).
    apps: Mapping[str, str] = field(
        default_factory=lambda: {"legal-demo": "legal-demo-secret"}, repr=False
    )
    app_orgs: Mapping[str, frozenset[str]] = field(default_factory=dict)
    path_prefix: str = ""
    report_types: frozenset[str] = frozenset({"FZZFJS_ANNUAL"})
    timestamp_window_s: float = 300.0
    nonce_ttl_s: float = 600.0
    request_id_ttl_s: float = 30 * 86400.0
    max_file_bytes: int = 20 * MiB
    gateway_max_bytes: int = 32 * MiB  # larger requests get the gateway's HTTP 413
    review_after_s: float | None = None  # None: only an admin call reviews
    review_decision: str | None = None  # "ACCEPTED" | "RETURNED"; None: drawn by return_rate
    return_rate: float = 0.0
    return_reason: str = DEFAULT_RETURN_REASON
    review_seed: int | None = None
    clock_offset_s: float = 0.0
    clock_skew_s: float = 900.0  # how far off the clock_skew fault's node is
    rate_limit_retry_after_s: int = 1
    faults: Faults = field(default_factory=lambda: Faults(kinds=LEGAL_PLATFORM_FAULT_KINDS))

    def __post_init__(self) -> None:
        if self.review_decision not in (None, *REVIEW_OUTCOMES):
            raise ValueError(f"review_decision must be one of {REVIEW_OUTCOMES} or None")
        if not 0.0 <= self.return_rate <= 1.0:
            raise ValueError("return_rate must be between 0 and 1")
        if self.path_prefix and not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", self.path_prefix):
            raise ValueError('path_prefix must look like "/gw" (no trailing slash)')


class PlatformError(Exception):
    """A business answer other than success: HTTP 200 with the envelope's code."""

    def __init__(self, code: int, message: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.data = code, message, dict(data) if data else None


def envelope(code: int, message: str, data: Mapping[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "data": dict(data) if data is not None else None}


# -- state --------------------------------------------------------------------------------


@dataclass
class Report:
    receipt_no: str
    app_key: str
    request_id: str
    org_code: str
    org_name: str
    report_year: str
    report_type: str
    title: str
    version: int
    filename: str
    file_sha256: str
    file_size: int
    received_at: datetime
    received_mono: float
    status: str = "RECEIVED"
    return_reason: str | None = None
    updated_at: datetime | None = None
    replaced_by: str | None = None
    posts: dict[str, int] = field(
        default_factory=lambda: {"created": 1, "replayed": 0, "conflicts": 0}
    )

    def answer(self) -> dict[str, Any]:
        """What a successful upload answers (and a replay repeats)."""
        return {
            "receipt_no": self.receipt_no,
            "received_at": self.received_at.isoformat(),
            "status": "RECEIVED",
        }

    def review(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "receipt_no": self.receipt_no,
            "status": self.status,
            "updated_at": (self.updated_at or self.received_at).isoformat(),
        }
        if self.status == "RETURNED":
            data["return_reason"] = self.return_reason
        return data

    def admin(self) -> dict[str, Any]:
        return {
            **self.review(),
            "return_reason": self.return_reason,
            "received_at": self.received_at.isoformat(),
            **{name: getattr(self, name) for name in _ADMIN_FIELDS},
            "posts": dict(self.posts),
        }


@dataclass(frozen=True)
class _RequestRecord:
    fingerprint: tuple[Any, ...]
    receipt_no: str
    payload: dict[str, Any]
    stored_at: float


@dataclass(frozen=True)
class Submission:
    """A report as uploaded: its fields as sent (checked by `check`, after replay)."""

    request_id: str
    org_code: str
    org_name: str
    report_year: str
    report_type: str
    title: str
    version: str
    filename: str
    file_sha256: str  # as declared
    received_sha256: str  # of the bytes received
    file_size: int
    head: bytes

    @property
    def fingerprint(self) -> tuple[Any, ...]:
        """ "The same content" for request_id replay: everything but the request_id."""
        return (
            self.org_code, self.org_name, self.report_year, self.report_type, self.title,
            self.version, self.filename, self.file_sha256, self.received_sha256,
        )  # fmt: skip


class PlatformState:
    """Everything the platform holds, behind one lock."""

    def __init__(
        self,
        config: SimulatorConfig,
        wall: Callable[[], float] = time.time,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.wall = wall
        self.clock = clock
        self.lock = threading.Lock()
        self.counters = Counters()
        self.dice = FaultDice(config.faults)
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.reports: dict[str, Report] = {}
            self.chains: dict[tuple[str, str, str], list[str]] = {}  # (org, year, type) → receipts
            self.request_ids: dict[tuple[str, str], _RequestRecord] = {}  # (app key, request_id)
            self.nonces: dict[tuple[str, str], float] = {}  # (app key, nonce) → expiry
            self.sequences: dict[int, int] = {}  # receipt year → last number
            self.review_rng = random.Random(self.config.review_seed)
            self.busy_answers = 0
        self.counters.reset()
        self.dice.set(self.config.faults)

    # clocks

    def now_ms(self) -> int:
        return round((self.wall() + self.config.clock_offset_s) * 1000)

    def now(self) -> datetime:
        moment = datetime.fromtimestamp(self.now_ms() / 1000, SHANGHAI)
        return moment.replace(microsecond=0)

    # signatures

    def authenticate(self, request: Request, body: bytes) -> str:
        """The request's app key once its timestamp, signature and nonce pass; else raises."""
        headers, config = request.headers, self.config
        app_key = headers.get("x-app-key", "")
        secret = config.apps.get(app_key)
        if secret is None:
            raise PlatformError(40101, f"未知的 app key (unknown X-App-Key {app_key!r})")
        timestamp, now_ms = headers.get("x-timestamp", ""), self.now_ms()
        if (
            not timestamp.isdigit()
            or abs(int(timestamp) - now_ms) > config.timestamp_window_s * 1000
        ):
            raise PlatformError(
                40102, "时间戳超出允许范围 (X-Timestamp out of range)", {"server_time": now_ms}
            )
        nonce = headers.get("x-nonce", "")
        if not NONCE.fullmatch(nonce):
            raise PlatformError(40001, "X-Nonce 须为 16–64 位字母或数字 (X-Nonce is invalid)")
        expected = _signature(
            secret, request.method, _raw_path(request.scope), timestamp, nonce, body
        )
        if not hmac.compare_digest(expected, headers.get("x-signature", "")):
            raise PlatformError(40101, "签名错误 (bad X-Signature)")
        self._remember_nonce(app_key, nonce, now_ms)
        return app_key

    def _remember_nonce(self, app_key: str, nonce: str, now_ms: int) -> None:
        with self.lock:
            now = self.clock()
            while self.nonces and next(iter(self.nonces.values())) <= now:
                del self.nonces[next(iter(self.nonces))]  # oldest first: insertion order
            if (app_key, nonce) in self.nonces:
                raise PlatformError(40102, "随机数已使用 (X-Nonce reused)", {"server_time": now_ms})
            self.nonces[(app_key, nonce)] = now + self.config.nonce_ttl_s

    # reports

    def file(self, app_key: str, submission: Submission) -> dict[str, Any]:
        """Replay, refuse or file `submission`: the data of a code-0 answer, else raises."""
        with self.lock:
            replay = self._replay(app_key, submission)
            if replay is not None:
                return replay
            version = check(submission, self.config)
            self._check_allowed(app_key, submission.org_code)
            report = self._add(app_key, submission, version)
            self.request_ids[(app_key, submission.request_id)] = _RequestRecord(
                submission.fingerprint, report.receipt_no, report.answer(), self.clock()
            )
        self.counters.inc("reports_created")
        return report.answer()

    def _replay(self, app_key: str, submission: Submission) -> dict[str, Any] | None:
        key = (app_key, submission.request_id)
        record = self.request_ids.get(key)
        if record is not None and self.clock() - record.stored_at >= self.config.request_id_ttl_s:
            del self.request_ids[key]  # forgotten: a repeat is judged as new (40901 …)
            record = None
        if record is None:
            return None
        if record.fingerprint != submission.fingerprint:
            raise PlatformError(
                40001, "request_id 已用于不同的内容 (request_id was used with other content)"
            )
        self.reports[record.receipt_no].posts["replayed"] += 1
        self.counters.inc("replays")
        return dict(record.payload)

    def _check_allowed(self, app_key: str, org_code: str) -> None:
        allowed = self.config.app_orgs.get(app_key)
        if allowed is not None and org_code not in allowed:
            raise PlatformError(
                40301, f"该 app key 无权报送 {org_code} (this app key may not file for it)"
            )

    def _add(self, app_key: str, submission: Submission, version: int) -> Report:
        chain_key = (submission.org_code, submission.report_year, submission.report_type)
        chain = self.chains.setdefault(chain_key, [])
        latest = self.reports[chain[-1]] if chain else None
        if version == 1 and latest is not None:
            latest.posts["conflicts"] += 1
            raise PlatformError(
                40901,
                "该单位该年度该类报告已存在 (a report for this org, year and type exists)",
                {
                    "receipt_no": latest.receipt_no,
                    "file_sha256": latest.file_sha256,
                    "version": latest.version,
                    "status": latest.status,
                    "received_at": latest.received_at.isoformat(),
                },
            )
        expected = (latest.version if latest else 0) + 1
        if version != expected:
            raise PlatformError(
                40001,
                f"version 须为上一版本加一，即 {expected} (version must be {expected})",
            )
        now = self.now()
        sequence = self.sequences[now.year] = self.sequences.get(now.year, 0) + 1
        report = Report(
            f"TJFG-{now.year}-{sequence:06d}", app_key, submission.request_id,
            submission.org_code, submission.org_name, submission.report_year,
            submission.report_type, submission.title, version, submission.filename,
            submission.received_sha256, submission.file_size, now, self.clock(),
        )  # fmt: skip
        self.reports[report.receipt_no] = report
        chain.append(report.receipt_no)
        if latest is not None:
            latest.replaced_by = report.receipt_no
        return report

    # reviews

    def review_of(self, app_key: str, receipt_no: str) -> dict[str, Any]:
        with self.lock:
            report = self.reports.get(receipt_no)
            if report is None:
                raise PlatformError(40401, f"回执号不存在 (unknown receipt_no {receipt_no})")
            self._check_allowed(app_key, report.org_code)
            self._settle(report)
            return report.review()

    def decide(self, receipt_no: str, status: str, reason: str | None) -> dict[str, Any]:
        """The admin's review decision."""
        with self.lock:
            report = self.reports.get(receipt_no)
            if report is None:
                raise HTTPException(404, f"no report {receipt_no}")
            report.status = status
            report.return_reason = (
                (reason or self.config.return_reason) if status == "RETURNED" else None
            )
            report.updated_at = self.now()
            return report.admin()

    def listed(self) -> list[dict[str, Any]]:
        with self.lock:
            for report in self.reports.values():
                self._settle(report)
            return [report.admin() for report in self.reports.values()]

    def _settle(self, report: Report) -> None:
        """The reviewer's own decision, once `review_after_s` have passed (under the lock)."""
        after = self.config.review_after_s
        if report.status != "RECEIVED" or after is None:
            return
        if self.clock() - report.received_mono < after:
            return
        decision = self.config.review_decision or (
            "RETURNED" if self.review_rng.random() < self.config.return_rate else "ACCEPTED"
        )
        report.status = decision
        report.return_reason = self.config.return_reason if decision == "RETURNED" else None
        report.updated_at = report.received_at + timedelta(seconds=after)

    def next_busy_code(self) -> int:
        with self.lock:
            self.busy_answers += 1
            return 50001 if self.busy_answers % 2 else 50301


# -- request checks -----------------------------------------------------------------------


def _signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join((method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def _raw_path(scope: Scope) -> str:
    """The path exactly as the client sent it (escapes and the gateway's prefix kept)."""
    raw = scope.get("raw_path") or (scope.get("root_path", "") + scope["path"]).encode()
    return bytes(raw).split(b"?", 1)[0].decode("latin-1")


def is_valid_uscc(code: str) -> bool:
    """统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character."""
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    total = sum(_USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    return _USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PlatformError(40001, f"缺少参数 {name} ({name} is missing)")
    return value.strip()


async def _submission(form: FormData) -> Submission:
    """The upload's fields and file as sent; 40001 when one is missing."""
    request_id = _text(form, "request_id")
    if len(request_id) > MAX_REQUEST_ID_CHARS:
        raise PlatformError(40001, f"request_id 至多 {MAX_REQUEST_ID_CHARS} 个字符 (too long)")
    fields = {name: _text(form, name) for name in _FORM_FIELDS}
    part = form.get("file")
    if not isinstance(part, UploadFile) or not part.filename:
        raise PlatformError(40001, "缺少参数 file (a file part with a filename is missing)")
    sha256, size, head = await _digest(part)
    return Submission(
        request_id, fields["org_code"], fields["org_name"], fields["report_year"],
        fields["report_type"], fields["title"], fields["version"], part.filename,
        fields["file_sha256"].lower(), sha256, size, head,
    )  # fmt: skip


def check(submission: Submission, config: SimulatorConfig) -> int:
    """Everything after replay, in the contract's terms (40001, 40003); returns the version."""
    version = _version(submission.version)
    _check_fields(submission, config)
    _check_file(submission.filename, submission.file_size, submission.head, config)
    if submission.file_sha256 != submission.received_sha256:
        raise PlatformError(
            40001,
            f"file_sha256 与文件不符，文件为 {submission.received_sha256} "
            "(file_sha256 does not match the file)",
        )
    return version


def _version(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise PlatformError(40001, "version 须为正整数 (version must be 1, 2, …)")
    return int(value)


def _check_fields(submission: Submission, config: SimulatorConfig) -> None:
    if not is_valid_uscc(submission.org_code):
        raise PlatformError(40001, "org_code 不是有效的统一社会信用代码 (org_code is invalid)")
    if not re.fullmatch(r"(19|20)\d\d", submission.report_year):
        raise PlatformError(40001, "report_year 须为四位年份 (report_year is invalid)")
    if submission.report_type not in config.report_types:
        raise PlatformError(
            40001, f"report_type 不支持 (unknown report_type {submission.report_type})"
        )
    if not re.fullmatch(r"[0-9a-f]{64}", submission.file_sha256):
        raise PlatformError(40001, "file_sha256 须为 64 位十六进制 (file_sha256 is invalid)")


def _check_file(filename: str, size: int, head: bytes, config: SimulatorConfig) -> None:
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    signature = _SIGNATURES.get(extension)
    if signature is None or not head.startswith(signature):
        raise PlatformError(40003, f"仅接受 PDF、OFD、DOCX 文件 ({filename!r} is not one)")
    if size == 0 or size > config.max_file_bytes:
        raise PlatformError(
            40003, f"文件大小须在 1 至 {config.max_file_bytes} 字节之间 (the file is {size} bytes)"
        )


async def _digest(part: UploadFile) -> tuple[str, int, bytes]:
    digest, size, head = hashlib.sha256(), 0, b""
    await part.seek(0)
    while chunk := await part.read(MiB):
        digest.update(chunk)
        size += len(chunk)
        head = head or chunk[:16]
    return digest.hexdigest(), size, head


def _gateway_page(status: int) -> bytes:
    reason = {413: "Request Entity Too Large", 502: "Bad Gateway", 503: "Service Unavailable",
              504: "Gateway Time-out"}.get(status, "Error")  # fmt: skip
    title = f"{status} {reason}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    ).encode()


class GatewayError(Exception):
    """An answer of the gateway in front of the platform: an HTML page, not the envelope."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


# -- routes -------------------------------------------------------------------------------


def _api_router(state: PlatformState) -> APIRouter:
    router = APIRouter(prefix=f"{state.config.path_prefix}{REPORTS_PATH}")

    @router.post("")
    async def submit(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > state.config.gateway_max_bytes:
            raise GatewayError(413)
        body = await request.body()
        app_key = state.authenticate(request, body)
        try:
            async with request.form() as form:  # parses the body read above
                submission = await _submission(form)
        except HTTPException as exc:  # Starlette's answer to a garbled multipart body
            raise PlatformError(
                40001, f"请求体不是有效的 multipart/form-data ({exc.detail})"
            ) from exc
        await pause(request)
        return _success(state, state.file(app_key, submission))

    @router.get("/{receipt_no}")
    async def review(receipt_no: str, request: Request) -> JSONResponse:
        app_key = state.authenticate(request, await request.body())
        await pause(request)
        return _success(state, state.review_of(app_key, receipt_no))

    return router


def _success(state: PlatformState, data: dict[str, Any]) -> JSONResponse:
    state.counters.inc("answers.0")
    return JSONResponse(envelope(0, "成功", data))


def _admin_router(state: PlatformState) -> APIRouter:
    router = APIRouter(prefix="/_admin")
    add_fault_admin_routes(
        router, state.dice, state.counters, state.reset, default_kinds=LEGAL_PLATFORM_FAULT_KINDS
    )

    @router.get("/reports")
    def reports() -> dict[str, Any]:
        return {"reports": state.listed()}

    @router.post("/reviews/{receipt_no}")
    async def decide(receipt_no: str, request: Request) -> dict[str, Any]:
        try:
            data = json.loads(await request.body())
        except ValueError as exc:
            raise HTTPException(400, f"the body is not JSON: {exc}") from exc
        status = data.get("status") if isinstance(data, dict) else None
        if status not in REVIEW_OUTCOMES:
            raise HTTPException(400, f"status must be one of {REVIEW_OUTCOMES}")
        reason = data.get("return_reason")
        return state.decide(receipt_no, status, reason if isinstance(reason, str) else None)

    return router


# -- faults -------------------------------------------------------------------------------


def _fault_plan(prefix: str) -> Callable[[Scope], FaultPlan | None]:
    reports, kinds = f"{prefix}{REPORTS_PATH}", frozenset(LEGAL_PLATFORM_FAULT_KINDS)

    def plan(scope: Scope) -> FaultPlan | None:
        path = scope["path"]
        if path == reports and scope["method"] == "POST":
            return FaultPlan("submit", kinds)
        if path.startswith(f"{reports}/"):
            return FaultPlan("review", kinds)
        return None  # /_admin is never faulted

    return plan


def _fault_answers(state: PlatformState) -> FaultAnswers:
    def answer(kind: str, scope: Scope) -> FaultAnswer | None:
        if kind in _GATEWAY_STATUS or kind == "after_commit_503":
            status = _GATEWAY_STATUS.get(kind, 503)
            return FaultAnswer(status, _gateway_page(status), "text/html; charset=utf-8")
        if kind == "rate_limit":
            data = {"retry_after": state.config.rate_limit_retry_after_s}
            return _envelope_answer(42901, "请求过于频繁，请稍后再试 (rate limited)", data)
        if kind == "platform_busy":
            return _envelope_answer(state.next_busy_code(), "系统繁忙，请稍后再试 (busy)")
        if kind == "clock_skew":
            server_time = state.now_ms() + round(state.config.clock_skew_s * 1000)
            message = "时间戳超出允许范围 (X-Timestamp out of range)"
            return _envelope_answer(40102, message, {"server_time": server_time})
        return None

    return answer


def _envelope_answer(code: int, message: str, data: Mapping[str, Any] | None = None) -> FaultAnswer:
    return FaultAnswer(200, json.dumps(envelope(code, message, data), ensure_ascii=False).encode())


# -- the app ------------------------------------------------------------------------------


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    state = PlatformState(config or SimulatorConfig())
    app = FastAPI(title="Legal platform simulator (法律顾问管理服务平台 模拟器)", openapi_url=None)
    app.state.legal_platform = state
    app.include_router(_api_router(state))
    app.include_router(_admin_router(state))

    async def platform_error(request: Request, exc: PlatformError) -> JSONResponse:
        state.counters.inc(f"answers.{exc.code}")
        return JSONResponse(envelope(exc.code, exc.message, exc.data))

    async def gateway_error(request: Request, exc: GatewayError) -> HTMLResponse:
        return HTMLResponse(_gateway_page(exc.status), exc.status)

    app.add_exception_handler(PlatformError, platform_error)  # type: ignore[arg-type]
    app.add_exception_handler(GatewayError, gateway_error)  # type: ignore[arg-type]
    app.add_middleware(
        FaultMiddleware, dice=state.dice, counters=state.counters,
        plan=_fault_plan(state.config.path_prefix), error_body=_gateway_error_body,
        answers=_fault_answers(state),
    )  # fmt: skip
    return app


def _gateway_error_body(code: str, message: str) -> dict[str, Any]:
    # Only for kinds `_fault_answers` leaves to the middleware's defaults (none it draws).
    return {"code": 50301, "message": f"{code}: {message}", "data": None}


def serve(host: str, port: int, config: SimulatorConfig | None = None) -> None:
    """Run the simulator in the foreground (the CLI's `simulate legal-platform`)."""
    uvicorn.run(create_app(config), host=host, port=port)


def start_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: SimulatorConfig | None = None
) -> RunningSimulator:
    """Serve the simulator on a background thread; port 0 picks a free port (see `.url`)."""
    return run_in_thread(create_app(config), host, port)
