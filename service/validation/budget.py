"""The rules for 部门预算 / 部门决算 (DOMAIN.md §4, 预算法 第十四条, 实施条例 第六条).

budget_approval_missing          no 批复日期 (metadata budget.approved_on)
budget_late                      received more than 20 days after 批复 (warning)
budget_kind_unknown              neither the metadata nor the title says 预算 or 决算 (warning)
budget_table_missing             one of the tables, looked for by title, is absent (warning)
budget_basic_expenditure_missing / budget_project_expenditure_missing
                                 基本支出 and 项目支出 must both be disclosed
budget_operating_costs_missing   no explanation of 机关运行经费 (warning)
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from service.domain.findings import Finding, error, warning
from service.domain.metadata import BudgetKind
from service.validation.context import FilingContext
from service.validation.documents import Document

WHERE_APPROVAL = "metadata.budget.approved_on"
WHERE_BODY = "正文"
_HEAD_LINES = 3  # the title, possibly split
_QUOTES = re.compile(r"[\"'“”‘’「」『』〝〞\s]")


@dataclass(frozen=True)
class TableSpec:
    title: str
    pattern: re.Pattern[str]


def _spec(title: str, pattern: str) -> TableSpec:
    return TableSpec(title, re.compile(pattern))


# A table's title as real reports vary it: 部门 dropped, 预算 inserted, quotes dropped.
BUDGET_TABLES = (
    _spec("部门收支总表", r"(?<!拨款)收支(预算)?总表"),
    _spec("部门收入总表", r"(?<!拨款)收入(预算)?总表"),
    _spec("部门支出总表", r"(?<!拨款)支出(预算)?总表"),
    _spec("财政拨款收支总表", r"财政拨款收支(预算)?总表"),
    _spec("一般公共预算支出表", r"一般公共预算(财政拨款)?支出(预算)?表"),
    _spec("一般公共预算基本支出表", r"一般公共预算(财政拨款)?基本支出(预算)?表"),
    _spec("一般公共预算“三公”经费支出表", r"三公经费(财政拨款)?支出(预算)?表"),
    _spec("政府性基金预算支出表", r"政府性基金(预算)?(财政拨款)?(收入)?支出(预算)?表"),
    _spec("国有资本经营预算支出表", r"国有资本经营(预算)?(财政拨款)?支出(预算)?表"),
)
FINAL_ACCOUNTS_TABLES = (
    _spec("收入支出决算总表", r"(?<!拨款)收入支出决算总表"),
    _spec("收入决算表", r"收入决算表"),
    _spec("支出决算表", r"(?<!拨款)(?<!基本)(?<!收入)(?<!经费)支出决算表"),
    _spec("财政拨款收入支出决算总表", r"财政拨款收入支出决算总表"),
    _spec("一般公共预算财政拨款支出决算表", r"一般公共预算财政拨款支出决算表"),
    _spec("一般公共预算财政拨款基本支出决算表", r"一般公共预算财政拨款基本支出决算表"),
    _spec("一般公共预算财政拨款“三公”经费支出决算表", r"三公经费支出决算表"),
    _spec("政府性基金预算财政拨款收入支出决算表", r"政府性基金预算财政拨款收入支出决算表"),
    _spec("国有资本经营预算财政拨款支出决算表", r"国有资本经营预算财政拨款支出决算表"),
)
TABLES = {BudgetKind.BUDGET: BUDGET_TABLES, BudgetKind.FINAL_ACCOUNTS: FINAL_ACCOUNTS_TABLES}
KIND_LABELS = {BudgetKind.BUDGET: "部门预算", BudgetKind.FINAL_ACCOUNTS: "部门决算"}


def check_budget(document: Document, filing: FilingContext) -> list[Finding]:
    details = filing.metadata.budget
    text = _plain(document.paragraphs)
    findings = _approval_findings(filing)
    kind = details.kind if details and details.kind else _kind_from_title(document.paragraphs)
    if kind is None:
        findings.append(
            warning(
                "budget_kind_unknown",
                "无法确定是部门预算还是部门决算（请在元数据 budget.kind 中注明），未核对表格",
                "Budget or final accounts? Set budget.kind; the tables were not checked",
                where="metadata.budget.kind",
            )
        )
    else:
        findings += [_table_missing(kind, t) for t in TABLES[kind] if not t.pattern.search(text)]
    # 基本支出 in a table's title ("…基本支出决算表") does not disclose it.
    untitled = text
    for table in (*BUDGET_TABLES, *FINAL_ACCOUNTS_TABLES):
        untitled = table.pattern.sub("", untitled)
    findings += _expenditure_findings(untitled)
    return findings


def _plain(paragraphs: Sequence[str]) -> str:
    return "".join(_QUOTES.sub("", unicodedata.normalize("NFKC", p)) for p in paragraphs)


def _kind_from_title(paragraphs: Sequence[str]) -> BudgetKind | None:
    head = _plain(paragraphs[:_HEAD_LINES])
    if "决算" in head:
        return BudgetKind.FINAL_ACCOUNTS
    if "预算" in head:
        return BudgetKind.BUDGET
    return None


def _approval_findings(filing: FilingContext) -> list[Finding]:
    details = filing.metadata.budget
    approved = details.approved_on if details else None
    if approved is None:
        return [
            error(
                "budget_approval_missing",
                "缺少财政部门批复日期（元数据 budget.approved_on），无法判断是否在批复后20日内公开",
                "The finance department's approval date (budget.approved_on) is required",
                where=WHERE_APPROVAL,
            )
        ]
    due = approved + timedelta(days=filing.rules.budget_publish_days)
    if filing.received_on <= due:
        return []
    days = filing.rules.budget_publish_days
    return [
        warning(
            "budget_late",
            f"报送日期 {filing.received_on} 晚于批复（{approved}）后 {days} 日的公开期限 {due}（逾期，预算法第十四条）",
            f"Late: received on {filing.received_on}, more than {days} days after approval on {approved}",
            where=WHERE_APPROVAL,
        )
    ]


def _table_missing(kind: BudgetKind, table: TableSpec) -> Finding:
    return warning(
        "budget_table_missing",
        f"{KIND_LABELS[kind]}中未找到“{table.title}”",
        f"The {kind.value} table {table.title} was not found",
        where=f"表格：{table.title}",
    )


def _expenditure_findings(text: str) -> list[Finding]:
    findings = []
    if "基本支出" not in text:
        findings.append(
            error(
                "budget_basic_expenditure_missing",
                "未公开基本支出（预算法实施条例第六条：基本支出和项目支出均应公开）",
                "基本支出 (basic expenditure) is not disclosed",
                where=WHERE_BODY,
            )
        )
    if "项目支出" not in text:
        findings.append(
            error(
                "budget_project_expenditure_missing",
                "未公开项目支出（预算法实施条例第六条：基本支出和项目支出均应公开）",
                "项目支出 (project expenditure) is not disclosed",
                where=WHERE_BODY,
            )
        )
    if "机关运行经费" not in text:
        findings.append(
            warning(
                "budget_operating_costs_missing",
                "未说明机关运行经费（预算法第十四条）；没有的也应说明",
                "No explanation of 机关运行经费 (operating costs)",
                where=WHERE_BODY,
            )
        )
    return findings
