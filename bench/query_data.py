"""The catalog of a city's bodies over eight years, made up for bench/query.py: about 2,000
bodies (the municipal and 16 district governments' departments, their streets and
towns), each kind of filing at its own rhythm (the annual reports once a year, budget and
final accounts twice, leadership, organisation and livelihood items as they happen),
periods 2019–2026, corrections, failed and pending deliveries, reviews and the audit
events that went with them. Deterministic for a seed; rows come in batches as tuples in
the column order of `COLUMNS`, ready for executemany or COPY.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

AREAS = [
    "天津市", "和平区", "河东区", "河西区", "南开区", "河北区", "红桥区", "东丽区", "西青区",
    "津南区", "北辰区", "武清区", "宝坻区", "宁河区", "静海区", "蓟州区", "滨海新区",
]  # fmt: skip
UNITS = [
    "人民政府办公室", "发展和改革委员会", "教育局", "科学技术局", "工业和信息化局", "民政局",
    "司法局", "财政局", "人力资源和社会保障局", "规划和自然资源局", "生态环境局",
    "住房和城乡建设委员会", "交通运输局", "水务局", "农业农村委员会", "商务局", "文化和旅游局",
    "卫生健康委员会", "退役军人事务局", "应急管理局", "审计局", "市场监督管理局", "体育局",
    "统计局", "医疗保障局", "城市管理委员会", "合作交流办", "信访办", "政务服务办",
    "国有资产监督管理委员会", "民族宗教事务委员会", "档案馆", "地方金融管理局",
    "数据发展中心", "粮食和物资储备局",
]  # fmt: skip
SYLLABLES = "东西中新华兴安宁和平春光明长丰富康泰盛庆福瑞祥金玉青杨柳梅桃李"
TOPICS = [
    "城镇老旧小区改造", "义务教育入学", "公共租赁住房分配", "最低生活保障标准调整",
    "医疗救助", "就业补贴发放", "养老服务补贴", "冬季供暖", "道路施工交通管制", "防汛应急",
    "法治宣传教育月活动", "消费券发放", "生活垃圾分类", "燃气安全检查", "疫苗接种安排",
]  # fmt: skip
START, END = datetime(2019, 1, 1), datetime(2026, 6, 30, 18)
YEARS = range(2019, 2027)
NAMED_BODY = ("11120004MB00000270", "南开区合作交流办")  # the sample's body, findable by name

COLUMNS: dict[str, tuple[str, ...]] = {
    "filings": (
        "id", "org_code", "org_name", "category", "period", "latest_version", "created_at",
        "created_by", "latest_status", "latest_title",
    ),
    "filing_versions": (
        "filing_id", "version", "status", "supersedes", "filename", "kind", "media_type", "size",
        "sha256", "title", "package_prefix", "manifest_sha256", "metadata_json", "findings_json",
        "publish_at", "created_at", "created_by",
    ),
    "deliveries": (
        "id", "filing_id", "version", "destination", "idempotency_key", "status", "attempts",
        "next_attempt_at", "first_attempt_at", "state_json", "receipt_json", "receipt_key",
        "receipt_sha256", "last_error", "review_status", "review_reason", "review_checked_at",
        "created_at", "updated_at", "delivered_at",
    ),
    "audit_events": (
        "at", "actor", "role", "action", "subject", "org_code", "source", "request_id", "detail",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Body:
    org_code: str
    org_name: str
    weight: float


@dataclass(frozen=True)
class Planned:
    """One filing before its rows: who, what kind, which period, when first filed."""

    created_at: datetime
    body: int
    category: str
    period: str
    title: str


def bodies(rng: random.Random) -> list[Body]:
    """About 2,000 bodies: each area's departments, each district's streets and towns;
    departments file more than streets (weights fall with rank)."""
    names = [
        f"{area}{unit}" for area in AREAS for unit in UNITS if f"{area}{unit}" != NAMED_BODY[1]
    ]
    for area in AREAS[1:]:
        places = {rng.choice(SYLLABLES) + rng.choice(SYLLABLES) for _ in range(200)}
        for place in sorted(places)[:88]:
            names.append(f"{area}{place}{rng.choice(['街道办事处', '镇人民政府'])}")
    found = [Body(NAMED_BODY[0], NAMED_BODY[1], 1.0)]
    for n, name in enumerate(names, start=1):
        area = next(i for i, a in enumerate(AREAS) if name.startswith(a))
        found.append(Body(f"1112{area:02d}{n:011d}X", name, 1.0 / (1 + n % 400) ** 0.5))
    return found


def plan(rng: random.Random, count: int) -> tuple[list[Body], list[Planned]]:
    """`count` filings, oldest first: the annual kinds for every body and year, and
    event kinds (leadership, organisation, livelihood) to make up the rest."""
    found = bodies(rng)
    planned = [p for b in range(len(found)) for p in _annual(rng, b, found[b].org_name)]
    rng.shuffle(planned)  # a smaller catalog keeps the annual kinds' share of a million
    planned = planned[: int(len(planned) * min(1.0, count / 1_000_000))]
    weights = [b.weight for b in found]
    picks = rng.choices(range(len(found)), weights=weights, k=count - len(planned))
    planned.extend(_event(rng, b, found[b].org_name) for b in picks)
    planned.sort(key=lambda p: p.created_at)
    return found, planned


def _annual(rng: random.Random, body: int, name: str) -> Iterator[Planned]:
    for year in YEARS:
        due = datetime(year + 1, 1, 5)
        for category, title, first in (
            ("rule_of_law_report", f"{name}{year}年度法治政府建设情况报告", due),
            ("gov_info_annual_report", f"{name}{year}年政府信息公开工作年度报告", due),
            ("budget_final_accounts", f"{name}{year}年部门预算", datetime(year, 2, 1)),
            ("budget_final_accounts", f"{name}{year}年部门决算", due + timedelta(days=200)),
        ):
            at = first + timedelta(minutes=rng.randrange(60 * 24 * 80))
            if at < END:
                yield Planned(at, body, category, str(year), title)


def _event(rng: random.Random, body: int, name: str) -> Planned:
    at = START + timedelta(seconds=rng.randrange(int((END - START).total_seconds())))
    roll = rng.random()
    if roll < 0.1:
        category, title = "leadership", f"{name}领导信息调整"
    elif roll < 0.2:
        category, title = "organization", f"{name}机构职能和内设机构调整"
    else:
        category, title = "livelihood", f"{name}关于{rng.choice(TOPICS)}的公示"
    return Planned(at, body, category, f"{at:%Y-%m-%d}", title)


def stamp(at: datetime) -> str:
    """A time as the catalog stores it (naive UTC, microseconds always written)."""
    return at.isoformat(sep=" ", timespec="microseconds")


class Rows:
    """Turns planned filings into table rows: versions, deliveries, audit events."""

    def __init__(self, rng: random.Random, found: list[Body]) -> None:
        self._rng = rng
        self._bodies = found
        self._deliveries = 0

    def of(self, n: int, p: Planned) -> dict[str, list[tuple[Any, ...]]]:
        body = self._bodies[p.body]
        filing_id = f"fil_{p.created_at:%Y%m%d}{n:012x}"
        count = 1 if self._rng.random() < 0.92 else (2 if self._rng.random() < 0.87 else 3)
        unacknowledged = self._rng.random() < 0.001
        rows: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
        at = p.created_at
        for number in range(1, count + 1):
            latest = number == count
            status = self._status(at, latest, unacknowledged)
            rows["filing_versions"].append(self._version(filing_id, number, status, at, body, p))
            self._deliver(rows, filing_id, number, status, at, body, p)
            at = min(at + timedelta(days=self._rng.randint(1, 30)), END)
        latest_version = 0 if unacknowledged else count
        actor = f"op-{body.org_code}"
        listed = (None, None) if unacknowledged else (status, p.title)
        rows["filings"].append(
            (filing_id, body.org_code, body.org_name, p.category, p.period, latest_version,
             stamp(p.created_at), actor, *listed)
        )  # fmt: skip
        return rows

    def _status(self, at: datetime, latest: bool, unacknowledged: bool) -> str:
        if unacknowledged:
            return "abandoned"
        if not latest:
            return "superseded" if self._rng.random() < 0.5 else "published"
        if at > END - timedelta(days=2):
            return "archived"
        return "delivery_failed" if self._rng.random() < 0.012 else "published"

    def _version(
        self, filing_id: str, number: int, status: str, at: datetime, body: Body, p: Planned
    ) -> tuple[Any, ...]:
        digest = hashlib.sha256(f"{filing_id}/{number}".encode()).hexdigest()
        metadata = (  # JSON by hand: a million json.dumps calls are a third of the load
            f'{{"category": "{p.category}", "org_code": "{body.org_code}", '
            f'"org_name": "{body.org_name}", "period": "{p.period}", "title": "{p.title}", '
            f'"review": {{"reviewer": "张三", "reviewed_on": "{at.date().isoformat()}", '
            f'"result": "同意公开"}}}}'
        )
        findings = "[]" if self._rng.random() < 0.8 else _WARNING
        prefix = f"filings/{body.org_code}/{p.category}/{p.period}/{filing_id}/v{number}/"
        return (
            filing_id, number, status, number - 1 if number > 1 else None, "report.pdf", "pdf",
            "application/pdf", 180_000 + self._rng.randrange(2_000_000), digest, p.title, prefix,
            digest, metadata, findings,
            None, stamp(at), f"op-{body.org_code}",
        )  # fmt: skip

    def _deliver(
        self,
        rows: dict[str, list[tuple[Any, ...]]],
        filing_id: str,
        number: int,
        status: str,
        at: datetime,
        body: Body,
        p: Planned,
    ) -> None:
        subject = f"{filing_id}/v{number}"
        if status == "abandoned":
            return
        rows["audit_events"].append(_event_row(at, body, "filing.submitted", subject, p))
        targets = ["portal", "legal_platform"] if p.category == "rule_of_law_report" else ["portal"]
        failing = self._rng.choice(targets) if status == "delivery_failed" else None
        for destination in targets:
            outcome = _delivery_status(status, destination == failing)
            row = self._delivery(filing_id, number, destination, outcome, at)
            rows["deliveries"].append(row)
            if outcome in ("delivered", "failed"):
                done = at + timedelta(minutes=2)
                action = f"delivery.{outcome}"
                rows["audit_events"].append(
                    _event_row(done, body, action, f"{subject}/{destination}", p, worker=True)
                )

    def _delivery(
        self, filing_id: str, number: int, destination: str, status: str, at: datetime
    ) -> tuple[Any, ...]:
        self._deliveries += 1
        delivered = status == "delivered"
        done = stamp(at + timedelta(minutes=2))
        receipt = f"R{self._deliveries:09d}" if delivered else None
        review = self._review(destination, delivered, at)
        return (
            f"dlv_{self._deliveries:016x}", filing_id, number, destination,
            f"{filing_id}-v{number}-{destination}", status, 0 if status == "pending" else 1,
            stamp(at), None if status == "pending" else stamp(at), "{}",
            f'{{"receipt_no": "{receipt}"}}' if receipt else None,
            f"{filing_id}/v{number}/receipts/{destination}.json" if delivered else None,
            hashlib.sha256(receipt.encode()).hexdigest() if receipt else None,
            "HTTP 503 after 72 h" if status == "failed" else None, review,
            "缺少第四部分" if review == "RETURNED" else None, done if review else None,
            stamp(at), done, done if delivered else None,
        )  # fmt: skip

    def _review(self, destination: str, delivered: bool, at: datetime) -> str | None:
        if destination != "legal_platform" or not delivered:
            return None
        if at > END - timedelta(days=20):
            return "RECEIVED"
        return "RETURNED" if self._rng.random() < 0.03 else "ACCEPTED"


_WARNING = json.dumps(
    [
        {
            "code": "annual_report_prose_mismatch",
            "severity": "warning",
            "message_zh": "正文所述数字与表格不一致",
            "message_en": "A count in the text differs from the table",
            "where": "第12段",
        }
    ],
    ensure_ascii=False,
)


def _delivery_status(version_status: str, failing: bool) -> str:
    if version_status == "archived":
        return "pending"
    if version_status == "superseded":
        return "superseded"
    return "failed" if failing else "delivered"


def _event_row(
    at: datetime, body: Body, action: str, subject: str, p: Planned, *, worker: bool = False
) -> tuple[Any, ...]:
    actor, role = ("worker-1", "system") if worker else (f"op-{body.org_code}", "operator")
    detail = f'{{"category": "{p.category}", "period": "{p.period}"}}'
    return (stamp(at), actor, role, action, subject, body.org_code, "10.0.0.7", None, detail)


def batches(
    count: int, seed: int, size: int = 20_000
) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Every table's rows for `count` filings, `size` filings at a time, oldest first."""
    rng = random.Random(seed)
    found, planned = plan(rng, count)
    rows = Rows(rng, found)
    for start in range(0, len(planned), size):
        batch: dict[str, list[tuple[Any, ...]]] = {k: [] for k in COLUMNS}
        for n, p in enumerate(planned[start : start + size], start=start):
            for table, found_rows in rows.of(n, p).items():
                batch[table].extend(found_rows)
        yield batch
