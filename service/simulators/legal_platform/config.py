"""What the simulated platform is configured with, and its answers' envelope."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.simulators.faults import (
    HTTP_FAULTS,
    Faults,
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
SIGNATURES = {"pdf": b"%PDF", "ofd": _ZIP, "docx": _ZIP}
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
FORM_FIELDS = (
    "org_code", "org_name", "report_year", "report_type", "title", "file_sha256", "version",
)  # fmt: skip
ADMIN_FIELDS = (
    "org_code", "org_name", "report_year", "report_type", "title", "version", "request_id",
    "app_key", "filename", "file_sha256", "file_size", "replaced_by",
)  # fmt: skip
GATEWAY_STATUS = {"http_500": 502, "http_502": 502, "http_503": 503, "http_504": 504}


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
