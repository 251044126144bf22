"""Proof of what was received: an RFC 3161 timestamp token (可信时间戳) over a package's
tag manifest, or over any other archived file (a capture's .warc.gz later).

    StampStatus        pending → stamped | failed; not_configured when no TSA is set up
    TOKEN_PROBLEMS     each way a token can fail its check: a stable code, zh and en

A token is checked offline, at its own genTime: the chain to the configured roots, the
TSA certificate's critical timeStamping EKU, the nonce asked for, and the imprint
against the archived file's SHA-256.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

TOKEN_SUFFIX = ".tsr"  # the token lies beside the file it stamps: `<key>.tsr`


class StampStatus(StrEnum):
    PENDING = "pending"
    STAMPED = "stamped"
    FAILED = "failed"
    NOT_CONFIGURED = "not_configured"


@dataclass(frozen=True)
class TokenProblem:
    code: str
    message_zh: str
    message_en: str


def _problem(code: str, zh: str, en: str) -> TokenProblem:
    return TokenProblem(code, zh, en)


TOKEN_PROBLEMS = {
    p.code: p
    for p in (
        _problem(
            "timestamp_malformed", "时间戳响应无法解析", "The timestamp response cannot be parsed"
        ),
        _problem(
            "timestamp_not_granted", "时间戳服务未批准请求", "The TSA did not grant the request"
        ),
        _problem(
            "timestamp_untrusted",
            "时间戳签名或证书链不能验证到受信任的根证书",
            "The token's signature or chain does not verify to a trusted root",
        ),
        _problem(
            "timestamp_eku_invalid",
            "时间戳服务证书缺少关键（critical）的 timeStamping 扩展密钥用途",
            "The TSA certificate lacks a critical timeStamping extended key usage",
        ),
        _problem(
            "timestamp_nonce_mismatch",
            "时间戳随机数（nonce）不符",
            "The token's nonce is not the one asked for",
        ),
        _problem(
            "timestamp_imprint_mismatch",
            "时间戳所盖的摘要与归档的标签清单不符（文件被改动）",
            "The token's message imprint does not match the archived file (it was altered)",
        ),
        _problem(
            "timestamp_hash_algorithm",
            "时间戳所盖的摘要不是 SHA-256（时间戳服务用了别的摘要算法）",
            "The token's message imprint is not a SHA-256 digest (the TSA named another hash)",
        ),
        _problem(
            "timestamp_sm2_unsupported",
            "SM2 签名的时间戳暂不支持验证",
            "SM2-signed timestamp tokens are not supported",
        ),
        _problem(
            "timestamp_no_roots",
            "未配置受信任的时间戳根证书",
            "No trusted TSA roots are configured",
        ),
        _problem(
            "timestamp_missing", "时间戳令牌缺失", "The timestamp token is missing from the archive"
        ),
        _problem("timestamp_invalid", "时间戳令牌无效", "The timestamp token is not valid"),
    )
}


@dataclass(frozen=True)
class TokenFacts:
    """What a verified token says: when, by whom, its serial number."""

    gen_time: datetime
    tsa: str
    serial_number: str


@dataclass(frozen=True)
class TokenCheck:
    """A token's check: its facts when it verified, else the problem."""

    facts: TokenFacts | None
    problem: TokenProblem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None

    @classmethod
    def failed(cls, code: str, facts: TokenFacts | None = None) -> TokenCheck:
        return cls(facts, TOKEN_PROBLEMS[code])
