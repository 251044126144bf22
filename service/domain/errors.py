"""The service's own error tree. Adapters translate SDK errors into these; the API maps
them to HTTP status in one table (service.entrypoints.api.errors).

    ServiceError                      code, message_zh, message_en
    ├── InvalidInput                  the request is malformed (400/422)
    │   └── Rejected                  validation found errors; carries the findings
    ├── Unauthenticated               no or unknown token (401)
    ├── Forbidden                     outside the token's role or bodies (403)
    ├── NotFound                      (404)
    ├── Conflict                      e.g. a version number already taken (409)
    ├── TooLarge                      over a size limit (413)
    ├── Throttled                     too many attempts from one client (429)
    ├── Unavailable                   a store or database cannot be reached (503)
    │   └── ArchiveUnavailable
    └── DamagedArchive                archived bytes fail their fixity check (500, loudly)
    ArchiveError                      the archive refused or lost something
    ├── AlreadyExists                 a write-once key is taken
    ├── ObjectMissing
    └── FixityMismatch                stored bytes do not hash to the recorded SHA-256
"""

from __future__ import annotations

from typing import Any

from service.domain.findings import Finding


class ServiceError(Exception):
    code = "internal_error"
    message_zh = "服务内部错误"
    message_en = "Internal error"

    def __init__(
        self,
        message_zh: str | None = None,
        message_en: str | None = None,
        *,
        code: str | None = None,
        detail: dict[str, Any] | None = None,
        retry_after: int | None = None,
    ) -> None:
        """`retry_after`: seconds after which the same request may succeed (Retry-After)."""
        self.code = code or type(self).code
        self.retry_after = retry_after
        self.message_zh = message_zh or type(self).message_zh
        self.message_en = message_en or type(self).message_en
        self.detail = detail or {}
        super().__init__(f"{self.code}: {self.message_en}")

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "code": self.code,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }
        body.update(self.detail)
        return body


class InvalidInput(ServiceError):
    code = "invalid_input"
    message_zh = "请求内容有误"
    message_en = "The request is invalid"


class Rejected(InvalidInput):
    """Validation found at least one error finding; nothing was stored."""

    code = "validation_failed"
    message_zh = "报送材料未通过校验，未予归档"
    message_en = "The filing failed validation; nothing was archived"

    def __init__(self, findings: list[Finding], *, code: str | None = None) -> None:
        super().__init__(code=code, detail={"findings": [f.to_dict() for f in findings]})
        self.findings = findings


class Unauthenticated(ServiceError):
    code = "unauthenticated"
    message_zh = "缺少或无效的访问令牌"
    message_en = "Missing or invalid bearer token"


class Forbidden(ServiceError):
    code = "forbidden"
    message_zh = "无权执行此操作"
    message_en = "Not permitted"


class NotFound(ServiceError):
    code = "not_found"
    message_zh = "未找到"
    message_en = "Not found"


class Conflict(ServiceError):
    code = "conflict"
    message_zh = "与现有记录冲突"
    message_en = "Conflicts with an existing record"


class TooLarge(ServiceError):
    code = "too_large"
    message_zh = "上传内容超过大小限制"
    message_en = "The upload exceeds the size limit"


class Throttled(ServiceError):
    code = "too_many_requests"
    message_zh = "请求过于频繁，请稍后再试"
    message_en = "Too many requests; retry later"


class TimedOut(ServiceError):
    code = "request_timeout"
    message_zh = "请求超时"
    message_en = "The request took too long to arrive"


class Unavailable(ServiceError):
    code = "unavailable"
    message_zh = "服务暂不可用，请稍后重试"
    message_en = "Temporarily unavailable; retry later"


class ArchiveUnavailable(Unavailable):
    code = "archive_unavailable"
    message_zh = "归档存储暂不可用，未予归档，请稍后重试"
    message_en = "The archive store is unreachable; nothing was archived, retry later"


class DamagedArchive(ServiceError):
    code = "fixity_mismatch"
    message_zh = "归档文件未通过固定性校验（可能已损坏或被篡改），拒绝提供"
    message_en = "Archived bytes failed their fixity check (damaged or tampered); refused"


class ArchiveError(Exception):
    """Base of what the archive refuses or finds wrong."""


class AlreadyExists(ArchiveError):
    """A write-once key already holds an object; it is never replaced."""


class ObjectMissing(ArchiveError):
    pass


class FixityMismatch(ArchiveError):
    pass


def filing_not_found() -> NotFound:
    """No such filing — also for one of a body the principal may not act for, so that its
    existence is not told."""
    return NotFound("未找到该报送", "No such filing", code="filing_not_found")


def duplicate_filing(filing_id: str, version: int) -> Conflict:
    """The same bytes were already filed for this body, kind and period."""
    return Conflict(
        f"该单位同一类别、同一期间已报送过内容完全相同的文件（报送 {filing_id} 第 {version} 版）",
        f"The same file was already filed for this body, kind and period ({filing_id} v{version})",
        code="duplicate_filing",
        detail={"filing_id": filing_id, "version": version},
    )


def already_filed(filing_id: str) -> Conflict:
    """A different report for a body, kind and period that are filed once: it corrects
    the filing there is, as its next version."""
    return Conflict(
        f"该单位同一类别、同一期间已有报送（{filing_id}）；如需修改，请提交更正版本"
        f"（POST /v1/filings/{filing_id}/versions）",
        f"This body already filed this kind for this period ({filing_id}); to change it, "
        f"submit a correction (POST /v1/filings/{filing_id}/versions)",
        code="already_filed",
        detail={"filing_id": filing_id, "corrections": f"/v1/filings/{filing_id}/versions"},
    )


def token_name_taken(name: str) -> Conflict:
    """Token names are never reused, so an audit event's actor always means one token."""
    return Conflict(
        f"令牌名称“{name}”已被使用（已吊销令牌的名称也不再使用）",
        f"The token name {name!r} is taken (a revoked token's name is not reused either)",
        code="token_name_taken",
    )


def token_not_found(name: str) -> NotFound:
    return NotFound(
        f"目录中没有名为“{name}”的令牌",
        f"The catalog has no token named {name!r}",
        code="token_not_found",
    )


def exemption_exists(org_code: str, category: str, period: str) -> Conflict:
    """An exemption (免报) is decided once per body, kind and period; it is never replaced
    (the archive keeps it write-once)."""
    return Conflict(
        f"单位 {org_code} 的 {category}（{period}）已有免报记录，不能重复登记",
        f"Body {org_code} is already exempt from {category} for {period}",
        code="exemption_exists",
        detail={"org_code": org_code, "category": category, "period": period},
    )
