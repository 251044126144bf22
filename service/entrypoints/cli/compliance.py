"""Exemptions (免报) for admins on the installation itself: `disclosure exemptions add`
and `list`, on the catalog and archive the settings name (like `rebuild-catalog`)."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from service.domain.access import ALL_BODIES, Principal, Role
from service.domain.errors import ServiceError
from service.entrypoints.cli.app import app, console, fail, load_container

exemptions_app = typer.Typer(
    help="免报：单位某一年度类别免于报送 Exemptions: a body excused from an annual kind.",
    no_args_is_help=True,
)
app.add_typer(exemptions_app, name="exemptions")
CLI_ADMIN = Principal("cli", Role.ADMIN, frozenset({ALL_BODIES}))


@exemptions_app.command("add")
def add(
    org_code: Annotated[str, typer.Option("--org", help="单位统一社会信用代码 the body's USCC")],
    category: Annotated[str, typer.Option(help="年度类别 e.g. gov_info_annual_report")],
    period: Annotated[str, typer.Option(help="报告年度 the year, e.g. 2023")],
    reason: Annotated[str, typer.Option(help="免报原因（2–500 字） why")],
) -> None:
    """登记免报（写入归档并审计） Record an exemption, archived write-once and audited."""
    from service.usecases.exemptions import ExemptionRequest, grant_exemption

    container = load_container()
    try:
        exemption = grant_exemption(
            container.catalog,
            container.store,
            container.registry,
            ExemptionRequest(org_code, category, period, reason),
            principal=CLI_ADMIN,
            now=container.clock(),
        )
    except ServiceError as exc:
        raise fail(exc.message_zh, f"{exc.message_en} ({exc.code})") from exc
    finally:
        container.close()
    console.print(
        f"[green]已登记免报[/green] Exempt: {exemption.org_code} {exemption.category} "
        f"{exemption.period}"
    )


@exemptions_app.command("list")
def list_exemptions(
    period: Annotated[str | None, typer.Option(help="报告年度 only this year")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
) -> None:
    """列出免报 List exemptions."""
    container = load_container()
    try:
        found = container.catalog.exemptions(None, period)
    finally:
        container.close()
    if as_json:
        rows = [
            {
                "org_code": e.org_code,
                "category": e.category,
                "period": e.period,
                "reason": e.reason,
                "created_at": e.created_at.isoformat(),
                "created_by": e.created_by,
            }
            for e in found
        ]
        console.print_json(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("单位 org", "类别 category", "年度 period", "原因 reason", "登记 by", "时间 at")
    for e in found:
        table.add_row(
            e.org_code, e.category, e.period, e.reason, e.created_by, e.created_at.isoformat()
        )
    console.print(table)
