"""What the simulated portal is configured with, and its errors."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.simulators.faults import (
    Faults,
)

MiB = 1024 * 1024
DEFAULT_CHANNEL_CODES = ("fzzfjs", "zfxxgknb", "ldxx", "jgzn", "czyjs", "zdmsxx")
MAX_KEY_CHARS = 128
MAX_WITHDRAW_REASON_CHARS = 200
MAX_SUMMARY_CHARS = 500
# The endpoints as the fault plan names them (an endpoint may have faults of its own).
FAULT_ENDPOINTS = ("token", "upload", "publish", "find", "withdraw", "read")

# Allowed attachment types: the extension names the type, the first bytes must agree.
_ZIP, _OLE = b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SIGNATURES = {
    "pdf": b"%PDF",
    "ofd": _ZIP,
    "docx": _ZIP,
    "xlsx": _ZIP,
    "doc": _OLE,
    "xls": _OLE,
    "jpg": b"\xff\xd8\xff",
    "jpeg": b"\xff\xd8\xff",
    "png": b"\x89PNG\r\n\x1a\n",
}


@dataclass(frozen=True)
class SimulatorConfig:
    client_id: str = "portal-demo"
    client_secret: str = field(default="portal-demo-secret", repr=False)
    token_ttl_s: float = 7200
    key_ttl_s: float = 86400
    channels: tuple[str, ...] = DEFAULT_CHANNEL_CODES
    forbidden_channels: frozenset[str] = frozenset()  # answered 403, to exercise that row
    max_attachment_bytes: int = 50 * MiB
    faults: Faults = field(default_factory=Faults)


class PortalError(Exception):
    """An answer in the contract's nested error shape; one handler renders every one."""

    def __init__(
        self, status: int, code: str, message: str = "", headers: Mapping[str, str] | None = None,
        **extra: Any,
    ) -> None:  # fmt: skip
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message or code
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message, **self.extra)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, **extra}}


BEARER = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
