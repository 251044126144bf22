"""Everything the simulated platform holds: reports, request ids, nonces, reviews."""

from __future__ import annotations

import hmac
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request
from starlette.exceptions import HTTPException

from service.domain.time import SHANGHAI
from service.simulators.faults import (
    Counters,
    FaultDice,
)
from service.simulators.legal_platform.checks import (
    Submission,
    check,
    raw_path,
    signature,
)
from service.simulators.legal_platform.config import (
    ADMIN_FIELDS,
    NONCE,
    PlatformError,
    SimulatorConfig,
)


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
            **{name: getattr(self, name) for name in ADMIN_FIELDS},
            "posts": dict(self.posts),
        }


def _chain_key(filed: Mapping[str, str]) -> tuple[str, str, str]:
    return (filed["org_code"], filed["report_year"], filed.get("report_type", "FZZFJS_ANNUAL"))


@dataclass(frozen=True)
class _RequestRecord:
    fingerprint: tuple[Any, ...]
    receipt_no: str
    payload: dict[str, Any]
    stored_at: float


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
        self.dice.clear_endpoints()

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
        expected = signature(
            secret, request.method, raw_path(request.scope), timestamp, nonce, body
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

    def file_by_hand(self, filed: Mapping[str, str]) -> dict[str, Any]:
        """A report entered at the platform by hand (or by another system): the next version
        of its body, year and type, with no request_id of ours. `filed`: org_code, org_name,
        report_year, file_sha256, and optionally report_type and title."""
        with self.lock:
            chain = self.chains.get(_chain_key(filed), [])
            latest = self.reports[chain[-1]] if chain else None
            now = self.now()
            sequence = self.sequences[now.year] = self.sequences.get(now.year, 0) + 1
            report = Report(
                f"TJFG-{now.year}-{sequence:06d}", "by-hand", f"by-hand-{sequence}",
                filed["org_code"], filed["org_name"], filed["report_year"],
                filed.get("report_type", "FZZFJS_ANNUAL"), filed.get("title", "人工报送的报告"),
                (latest.version if latest else 0) + 1, "by-hand.pdf", filed["file_sha256"], 0,
                now, self.clock(),
            )  # fmt: skip
            self.reports[report.receipt_no] = report
            self.chains.setdefault(_chain_key(filed), []).append(report.receipt_no)
            if latest is not None:
                latest.replaced_by = report.receipt_no
            return report.admin()

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
