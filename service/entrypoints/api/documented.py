"""What the OpenAPI document says the API answers: the shapes of its JSON, its errors and
its multipart bodies. The routes build their answers in `views`; these models describe
them (a test holds the two together through schemathesis's response checks)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

_OPEN = ConfigDict(extra="allow")


class FindingOut(BaseModel):
    code: str = Field(examples=["report_part_missing"])
    severity: Literal["error", "warning"]
    message_zh: str
    message_en: str
    where: str | None = None
    excerpt: str | None = None
    waived_by: str | None = None
    waiver_reason: str | None = None


class AttemptOut(BaseModel):
    number: int
    worker: str
    started_at: datetime
    duration_ms: int
    outcome: str
    http_status: int | None
    code: str | None
    message: str | None


class ReviewOut(BaseModel):
    status: str = Field(examples=["PASSED", "RETURNED"])
    reason: str | None
    checked_at: datetime | None


class ConflictOut(BaseModel):
    receipt_no: str = Field(examples=["TJFG-2024-000123"])
    file_sha256: str
    version: int = Field(description="平台版本 The destination's latest version")
    our_sha256: str | None = Field(description="Our file's SHA-256")


class ReplacingOut(BaseModel):
    receipt_no: str | None
    file_sha256: str | None
    version: int | None = Field(description="The replaced report's version at the destination")
    platform_version: int | None = Field(description="The version this delivery sends")
    reason: str | None
    by: str | None


class ReplaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="替换原因（1–200 字）Why our report replaces the platform's")


class DeliveryOut(BaseModel):
    id: str
    version: int
    destination: str = Field(examples=["portal", "legal_platform"])
    action: Literal["publish", "replace", "withdraw"] = Field(
        description="publish: 发布该版本 the version; replace: 替换平台已有报告 send it in place "
        "of the report the destination holds; withdraw: 撤回 take the filing down"
    )
    status: str = Field(
        examples=["pending", "delivered", "failed", "cancelled", "not_enabled"],
        description="not_enabled: 未开通 the body has no account there; never sent, no failure",
    )
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    receipt: dict[str, Any] | None
    receipt_sha256: str | None
    review: ReviewOut | None
    delivered_at: datetime | None
    conflict: ConflictOut | None = Field(
        description="平台已有报告 The destination holds another report (40901) instead of ours"
    )
    replacing: ReplacingOut | None = Field(
        description="替换平台已有报告 A replace delivery: what it replaces, as which version"
    )
    attempt_log: list[AttemptOut]


class WaiverOut(BaseModel):
    code: str
    reason: str | None
    waived_by: str | None


class VersionOut(BaseModel):
    version: int
    status: str = Field(examples=["archived", "superseded", "withdrawn"])
    supersedes: int | None
    filename: str
    kind: str = Field(examples=["docx", "pdf", "ofd"])
    media_type: str
    size: int
    sha256: str
    title: str | None
    publish_at: datetime | None
    review: dict[str, Any] | None = Field(description="保密审查记录 The confidentiality review")
    reason: str | None = Field(description="更正原因 Why this version replaces the one before")
    waivers: list[WaiverOut]
    findings: list[FindingOut] = Field(
        description="校验的问题与提示，及本版本公开页面的内容变更、链接失效"
        " Validation's findings, and this version's published pages' drift or link rot"
    )
    package: str
    created_at: datetime
    created_by: str


class WithdrawalOut(BaseModel):
    """撤回 The filing was withdrawn; by destination, where the takedown stands."""

    reason: str
    by: str
    at: datetime
    destinations: dict[
        str, Literal["withdrawing", "withdrawn", "not_published", "failed", "manual", "cancelled"]
    ] = Field(
        description="manual: 须人工撤回 the destination has no withdraw call; a person must",
        examples=[{"portal": "withdrawn", "legal_platform": "manual"}],
    )


class WithdrawIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)
    ] = Field(description="撤回原因（1–200 字，向公众展示）Why, shown to the public")


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    publish_at: AwareDatetime | None = Field(
        description="发布时间（ISO 8601，带时区，晚于现在）；null 表示暂停发布 "
        "When to release (with offset, in the future); null holds the release",
        examples=["2026-12-31T09:00:00+08:00", None],
    )


class FilingOut(BaseModel):
    """A filing with every acknowledged version, its deliveries and their attempts."""

    id: str = Field(examples=["fil_01JD8Z3Q4W5E6R7T8Y9U0I1O2P"])
    org_code: str = Field(examples=["11120000MB1234567X"])
    org_name: str = Field(examples=["天津市司法局"])
    category: str = Field(examples=["rule_of_law_report"])
    period: str = Field(examples=["2025"])
    version: int
    status: str | None
    sha256: str | None
    title: str | None = Field(examples=["天津市司法局2025年度法治政府建设情况报告"])
    findings: list[FindingOut] = Field(
        description="最新版本的问题与提示，及各版本公开页面的内容变更、链接失效（按最近一次复查）"
        " The latest version's findings, and every published page's drift or link rot"
        " (publication_drift, publication_link_rot) as its latest re-check found it"
    )
    needs_correction: bool = Field(description="A destination RETURNED the latest version")
    created_at: datetime
    created_by: str
    versions: list[VersionOut]
    deliveries: list[DeliveryOut]
    withdrawal: WithdrawalOut | None = Field(description="撤回 Set once the filing is withdrawn")


class FilingsOut(BaseModel):
    filings: list[FilingOut]
    total: int = Field(
        description="符合条件的报送总数，至多 1000 How many filings match, up to 1,000"
    )
    total_exact: bool = Field(
        description="false：超过 1000 条，total 为 1000 false: more than 1,000 match"
    )
    next_cursor: str | None = Field(
        description="下一页的 cursor；null 表示已是最后一页 The next page's cursor; null on the last"
    )


class AuditItemOut(BaseModel):
    at: datetime
    actor: str = Field(examples=["nankai-operator", "worker-1"])
    role: str = Field(examples=["operator", "compliance", "admin", "system"])
    action: str = Field(examples=["filing.submitted", "package.downloaded", "filing.refused"])
    subject: str = Field(examples=["fil_20240112a1b2c3d4e5f6/v1"])
    filing_id: str | None
    org_code: str | None
    source: str | None = Field(description="请求来源地址 Where the request came from")
    request_id: str | None
    detail: dict[str, Any]


class AuditOut(BaseModel):
    items: list[AuditItemOut]
    next_cursor: str | None = Field(
        description="下一页（更早）的 cursor；null 表示没有更早的 The next (older) page's cursor"
    )


class ValidationOut(BaseModel):
    valid: bool
    title: str | None
    findings: list[FindingOut]


class TimestampProblemOut(BaseModel):
    code: str = Field(examples=["timestamp_untrusted"])
    message_zh: str
    message_en: str


class TimestampOut(BaseModel):
    """One version's RFC 3161 timestamp over its tag manifest (可信时间戳)."""

    version: int
    status: Literal["pending", "stamped", "failed", "not_configured"]
    gen_time: str | None = Field(examples=["2025-03-20T02:15:07+00:00"])
    tsa: str | None
    serial_number: str | None
    verified: bool | None  # None: nothing to verify yet
    file: str = Field(examples=["tagmanifest-sha256.txt"])
    problem: TimestampProblemOut | None
    last_error: str | None


class CaptureFindingOut(BaseModel):
    code: Literal["publication_drift", "publication_link_rot"]
    message_zh: str
    message_en: str


class CaptureOut(BaseModel):
    """A published page captured as WARC (网页留存) and its latest re-check."""

    destination: str = Field(examples=["portal"])
    version: int
    url: str = Field(examples=["https://www.example.gov.cn/fzzfjs/art_1.html"])
    status: Literal["pending", "captured", "failed"]
    captured_at: str | None
    http_status: int | None
    text_matches: bool | None  # None: not compared (a 304, the page gone)
    attachments_match: bool | None
    warc_key: str | None
    warc_sha256: str | None
    last_checked_at: str | None
    checks: int
    verdict: Literal["unchanged", "drift", "link_rot", "withdrawn"] | None
    rot_kind: (
        Literal["connection_failure", "sent_home", "not_found", "gone", "soft_404", "http_error"]
        | None
    ) = Field(description="链接失效的类型 How the page is gone, with verdict link_rot")
    finding: CaptureFindingOut | None
    last_error: str | None


class ProofOut(BaseModel):
    """公开证明 Proof of publication: trusted timestamps and captures of published pages."""

    timestamps: list[TimestampOut]
    captures: list[CaptureOut]


class RequeuedOut(BaseModel):
    delivery_id: str
    version: int
    status: str


class VersionFixityOut(BaseModel):
    model_config = _OPEN

    version: int
    package: str
    ok: bool
    complete: bool
    checked: int
    missing: list[str]
    mismatched: list[dict[str, Any]]
    unreadable: list[str]
    extra: list[str]
    foreign: list[str] = Field(description="Versions written over archived keys behind our back")


class FixityOut(BaseModel):
    filing_id: str
    ok: bool
    versions: list[VersionFixityOut]


class ErrorBody(BaseModel):
    """`code` is stable; what else there is depends on it (`problems`, `findings`,
    `filing_id`, `retry_after` …)."""

    model_config = _OPEN

    code: str = Field(examples=["invalid_metadata"])
    message_zh: str = Field(examples=["metadata 部分不是有效的报送元数据（JSON）：period 格式不对"])
    message_en: str = Field(examples=["The metadata part is not valid filing metadata (JSON)"])


class ErrorAnswer(BaseModel):
    error: ErrorBody


Answers = dict[int | str, dict[str, Any]]


def _errors(*statuses: int) -> Answers:
    described = {
        400: "请求有误 Invalid request (code says which field)",
        401: "缺少或无效的令牌 Missing or unknown token",
        403: "角色或单位不符 Outside the token's role or bodies",
        404: "不存在或不可见 No such thing, or not the token's",
        408: "请求体停滞 The body stalled (HTTP_BODY_IDLE_TIMEOUT_S)",
        409: "冲突，可按 Retry-After 重试 Conflict; retry after Retry-After where given",
        413: "文件过大 The file is too large",
        422: "未通过校验 Validation found errors (findings)",
        500: "归档损坏或服务故障 The archive is damaged, or a bug (logged with the request id)",
        503: "暂不可用，按 Retry-After 重试 Unavailable; retry after Retry-After",
    }
    return {s: {"model": ErrorAnswer, "description": described[s]} for s in statuses}


def ok(model: type[BaseModel], description: str, errors: Answers) -> Answers:
    """The 200 answer and the errors beside it."""
    return {200: {"model": model, "description": description}, **errors}


READ_ERRORS = _errors(400, 401, 404, 500, 503)
COMPLIANCE_ERRORS = _errors(400, 401, 403, 404, 500, 503)
WRITE_ERRORS = _errors(400, 401, 403, 404, 409, 500, 503)
UPLOAD_ERRORS = _errors(400, 401, 403, 404, 408, 409, 413, 422, 500, 503)
DECISION_ERRORS = _errors(400, 401, 403, 404, 409, 422, 500, 503)

ZIP_ANSWER: Answers = {
    200: {
        "description": "BagIt 归档包 The version's bag as a zip",
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
    }
}

_METADATA_EXAMPLE = (
    '{"org_code": "11120000MB1234567X", "org_name": "天津市司法局", '
    '"category": "rule_of_law_report", "period": "2025", '
    '"review": {"reviewer": "张三", "reviewed_on": "2026-01-20", "result": "同意公开"}}'
)


def multipart_body(purpose: str) -> dict[str, Any]:
    """The request body a route reads itself (streamed, not through FastAPI's forms)."""
    return {
        "requestBody": {
            "required": True,
            "description": purpose,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["metadata", "file"],
                        "properties": {
                            "metadata": {
                                "$ref": "#/components/schemas/FilingMetadata",
                                "description": "报送元数据（JSON，置于 file 之前）"
                                " The filing's metadata as JSON, sent before the file",
                            },
                            "file": {
                                "type": "string",
                                "format": "binary",
                                "description": "报送文件（DOCX、PDF、OFD、TXT）The document",
                            },
                        },
                    },
                    "encoding": {"metadata": {"contentType": "application/json"}},
                    "example": {"metadata": _METADATA_EXAMPLE},
                }
            },
        }
    }


class DeadlineRowOut(BaseModel):
    """One body × kind (× budget kind) on the deadline board, or one late event item."""

    org_code: str = Field(examples=["11120199000012347E"])
    org_name: str = Field(examples=["天津市滨河区司法局"])
    category: str = Field(examples=["gov_info_annual_report"])
    kind: Literal["budget", "final_accounts"] | None = Field(
        description="部门预算 budget / 部门决算 final_accounts (budget_final_accounts only)"
    )
    period: str = Field(examples=["2023", "2023-05-06"])
    due_on: str | None = Field(examples=["2024-01-31"], description="公开期限 The last day")
    state: Literal["on_time", "late", "missing", "not_yet_due", "exempt"]
    filing_id: str | None
    filed_on: str | None = Field(description="The day its first version was acknowledged")
    published_on: str | None = Field(description="The day the portal first took it")
    exemption_reason: str | None = Field(description="免报原因 Why the body is exempt")


class DeadlinesOut(BaseModel):
    items: list[DeadlineRowOut]


class ExemptionIn(BaseModel):
    """免报: a body excused from an annual kind for one period (admin only)."""

    model_config = ConfigDict(extra="forbid")

    org_code: str = Field(pattern=r"^[0-9A-Z]{18}$", examples=["11120199000012347E"])
    category: str = Field(examples=["gov_info_annual_report"])
    period: str = Field(pattern=r"^[1-9]\d{3}$", examples=["2023"])
    reason: str = Field(
        min_length=2, max_length=500, examples=["机构撤并，本年度由上级部门统一公开"]
    )


class ExemptionOut(BaseModel):
    org_code: str
    category: str
    period: str
    reason: str
    created_at: datetime
    created_by: str


CREATED_ERRORS = _errors(400, 401, 403, 404, 409, 500, 503)
FORBIDDEN = _errors(403)


def created(model: type[BaseModel], description: str, errors: Answers) -> Answers:
    """The 201 answer and the errors beside it."""
    return {201: {"model": model, "description": description}, **errors}


def table_answer(model: type[BaseModel], description: str, errors: Answers) -> Answers:
    """JSON, or the same rows as CSV or XLSX (`format`)."""
    return {
        200: {
            "model": model,
            "description": description,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        },
        **errors,
    }
