"""The checks of a request, in the contract's order and terms: signature, fields, file;
and the gateway's own answers.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData, UploadFile
from starlette.types import Scope

from service.simulators.legal_platform.config import (
    FORM_FIELDS,
    MAX_REQUEST_ID_CHARS,
    SIGNATURES,
    USCC_ALPHABET,
    MiB,
    PlatformError,
    SimulatorConfig,
)


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


# -- request checks -----------------------------------------------------------------------


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    message = "\n".join((method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def raw_path(scope: Scope) -> str:
    """The path exactly as the client sent it (escapes and the gateway's prefix kept)."""
    raw = scope.get("raw_path") or (scope.get("root_path", "") + scope["path"]).encode()
    return bytes(raw).split(b"?", 1)[0].decode("latin-1")


def is_valid_uscc(code: str) -> bool:
    """统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character."""
    if len(code) != 18 or any(c not in USCC_ALPHABET for c in code):
        return False
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(code[:17]))
    return USCC_ALPHABET[(31 - total % 31) % 31] == code[17]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    if not isinstance(value, str) or not value.strip():
        raise PlatformError(40001, f"缺少参数 {name} ({name} is missing)")
    return value.strip()


async def read_submission(form: FormData) -> Submission:
    """The upload's fields and file as sent; 40001 when one is missing."""
    request_id = _text(form, "request_id")
    if len(request_id) > MAX_REQUEST_ID_CHARS:
        raise PlatformError(40001, f"request_id 至多 {MAX_REQUEST_ID_CHARS} 个字符 (too long)")
    fields = {name: _text(form, name) for name in FORM_FIELDS}
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
    signature = SIGNATURES.get(extension)
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


def gateway_page(status: int) -> bytes:
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
