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

from service.domain.findings import Finding, error, warning
from service.domain.metadata import BudgetKind
from service.validation.context import FilingContext, ValidationResult
from service.validation.deadlines import budget_due
from service.validation.formats.documents import Document

WHERE_APPROVAL = "metadata.budget.approved_on"
WHERE_BODY = "正文"
_HEAD_LINES = 3  # the title, possibly split
_QUOTES = re.compile(r"[\"'“”‘’「」『』〝〞\s]")


@dataclass(frozen=True)
class TableSpec:
    """A table, known by the core terms of its title (DOMAIN.md §4): every group of
    `all_of` has a term in the title, no term of `none_of` is in it. 「收入决算总表」 is
    the 收入支出决算总表; 「“三公”经费及会议费、培训费支出决算表」 the 三公 table; 部门,
    单位 and the year in front change nothing."""

    title: str
    all_of: tuple[tuple[str, ...], ...]
    none_of: tuple[str, ...] = ()

    def names(self, line: str) -> bool:
        return all(any(t in line for t in group) for group in self.all_of) and not any(
            t in line for t in self.none_of
        )


def _spec(title: str, *all_of: str, none: str = "") -> TableSpec:
    return TableSpec(
        title, tuple(tuple(g.split("|")) for g in all_of), tuple(none.split("|")) if none else ()
    )


_FUNDS = "一般公共|政府性基金|国有资本"
BUDGET_TABLES = (
    _spec("部门收支总表", "收支|收入支出", "总表", none="财政拨款"),
    _spec("部门收入总表", "收入", "总表", none="支出|收支|财政拨款"),
    _spec("部门支出总表", "支出", "总表", none="收入|收支|财政拨款"),
    _spec("财政拨款收支总表", "财政拨款", "收支|收入支出", "总表"),
    _spec("一般公共预算支出表", "一般公共预算", "支出", "表", none="基本|三公|总表"),
    _spec("一般公共预算基本支出表", "一般公共预算", "基本支出", "表"),
    _spec("一般公共预算“三公”经费支出表", "三公", "表"),
    _spec("政府性基金预算支出表", "政府性基金", "表"),
    _spec("国有资本经营预算支出表", "国有资本经营", "表"),
)
FINAL_ACCOUNTS_TABLES = (
    _spec("收入支出决算总表", "收入|收支", "决算", "总表", none="财政拨款"),
    _spec("收入决算表", "收入决算表", none="支出|总表|财政拨款"),
    _spec("支出决算表", "支出决算", "表", none=f"收入|财政拨款|基本|三公|总表|{_FUNDS}"),
    _spec("财政拨款收入支出决算总表", "财政拨款", "收支|收入支出", "决算", "总表"),
    _spec("一般公共预算财政拨款支出决算表", "一般公共预算", "支出决算", "表", none="基本|三公"),
    _spec("一般公共预算财政拨款基本支出决算表", "一般公共预算", "基本支出", "决算"),
    _spec("一般公共预算财政拨款“三公”经费支出决算表", "三公", "决算"),
    _spec("政府性基金预算财政拨款收入支出决算表", "政府性基金", "决算"),
    _spec("国有资本经营预算财政拨款支出决算表", "国有资本经营", "决算"),
)
TABLES = {BudgetKind.BUDGET: BUDGET_TABLES, BudgetKind.FINAL_ACCOUNTS: FINAL_ACCOUNTS_TABLES}
KIND_LABELS = {BudgetKind.BUDGET: "部门预算", BudgetKind.FINAL_ACCOUNTS: "部门决算"}
_TITLE_MAX = 60  # a table's title is a short line that names a table (…表)


def budget_content(document: Document, filing: FilingContext) -> ValidationResult:
    details = filing.metadata.budget
    lines = [_plain((p,)) for p in document.paragraphs]
    titles = [line for line in lines if len(line) <= _TITLE_MAX and "表" in line]
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
        findings += [
            _table_missing(kind, table)
            for table in TABLES[kind]
            if not any(map(table.names, titles))
        ]
    # 基本支出 in a table's title ("…基本支出决算表") does not disclose it.
    findings += _expenditure_findings("".join(line for line in lines if line not in titles))
    return ValidationResult(findings, None)


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
    deadline = budget_due(filing)
    if deadline is None or filing.received_on <= (due := deadline.due):
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
