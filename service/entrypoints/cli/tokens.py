"""`disclosure tokens`: create, list and revoke the catalog's bearer tokens.

`create` prints the secret alone on stdout (`TOKEN=$(disclosure tokens create …)` keeps it
out of the terminal's scrollback) and what a person must know on stderr: it is shown once.
"""

from __future__ import annotations

import getpass
import json
import socket
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table

from service.domain.access import Role
from service.domain.errors import NotFound, ServiceError
from service.domain.time import shanghai
from service.entrypoints.cli.app import app, console, err_console, fail, load_settings

tokens_app = typer.Typer(
    help="访问令牌：创建、列出、吊销 Bearer tokens: create, list, revoke.", no_args_is_help=True
)
app.add_typer(tokens_app, name="tokens")


def _actor() -> str:
    """Who ran the command, as the audit log names them: the system user."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no user name for this uid (a bare container)
        return "cli"


def _when(moment: datetime | None) -> str:
    return shanghai(moment).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _bodies(orgs: frozenset[str]) -> str:
    return "全部 all (*)" if "*" in orgs else "\n".join(sorted(orgs))


@tokens_app.command("create")
def create(
    name: Annotated[str, typer.Option(help="令牌名称（审计日志中的操作人） name, as audited")],
    role: Annotated[Role, typer.Option(help="角色 role", case_sensitive=False)],
    org: Annotated[
        list[str] | None,
        typer.Option(
            help="可代表的单位（统一社会信用代码，可重复；'*' 为全部） a body it may act for "
            "(repeatable; '*' for all)"
        ),
    ] = None,
) -> None:
    """创建令牌，只显示一次 Create a token; its secret is shown once."""
    from service.bootstrap import token_admin

    try:
        with token_admin(load_settings()) as admin:
            issued = admin.issue(name, role, org or [], by=_actor(), source=socket.gethostname())
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    token = issued.token
    err_console.print(
        f"[green]已创建令牌“{token.name}”[/green]（角色 {token.role.value}，单位 "
        f"{_bodies(token.orgs)}） Created token {token.name!r} (role {token.role.value})."
    )
    typer.echo(issued.secret)
    err_console.print(
        "[bold yellow]此令牌只显示这一次，不会再次显示：请立即妥善保存。服务只保存其哈希，无法找回；"
        "遗失时请吊销并新建。[/bold yellow]\nThis token will not be shown again: store it "
        "safely now. The service keeps only its hash and cannot recover it; if it is lost, "
        "revoke it and create another."
    )


@tokens_app.command("list")
def list_tokens(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
) -> None:
    """列出令牌（从不显示密钥） List tokens, never their secrets."""
    from service.bootstrap import token_admin

    settings = load_settings()
    try:
        with token_admin(settings) as admin:
            catalog = admin.list_tokens()
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    rows = [*(_settings_row(g) for g in settings.tokens), *(_catalog_row(t) for t in catalog)]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table(
        "名称 name", "来源 source", "角色 role", "单位 bodies", "创建 created", "最近使用 last used",
        "吊销 revoked",
    )  # fmt: skip
    for row in rows:
        table.add_row(*_cells(row))
    console.print(table)
    console.print(
        "时间为上海时间；配置中的令牌 (DISCLOSURE_TOKENS) 只能在配置中修改。 Times are Asia/Shanghai; "
        "tokens from DISCLOSURE_TOKENS are changed in the settings only."
    )


def _settings_row(grant: Any) -> dict[str, Any]:
    return {
        "name": grant.name, "source": "settings", "role": grant.role.value,
        "orgs": sorted(grant.orgs), "created_at": None, "created_by": None,
        "last_used_at": None, "revoked_at": None, "revoked_by": None,
    }  # fmt: skip


def _catalog_row(token: Any) -> dict[str, Any]:
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "name": token.name, "source": "catalog", "role": token.role.value,
        "orgs": sorted(token.orgs), "created_at": iso(token.created_at),
        "created_by": token.created_by, "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at), "revoked_by": token.revoked_by,
    }  # fmt: skip


def _cells(row: dict[str, Any]) -> list[str]:
    def when(value: str | None) -> str:
        return _when(datetime.fromisoformat(value) if value else None)

    source = "目录 catalog" if row["source"] == "catalog" else "配置 settings"
    created = f"{when(row['created_at'])}\n{row['created_by']}" if row["created_by"] else "—"
    revoked = (
        f"[red]{when(row['revoked_at'])}\n{row['revoked_by']}[/red]" if row["revoked_at"] else "—"
    )
    return [
        row["name"], source, row["role"], _bodies(frozenset(row["orgs"])), created,
        when(row["last_used_at"]), revoked,
    ]  # fmt: skip


@tokens_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="令牌名称 token name")]) -> None:
    """吊销令牌，所有 API 进程立即拒绝它 Revoke a token: every API process refuses it at once."""
    from service.bootstrap import token_admin

    try:
        with token_admin(load_settings()) as admin:
            token, now = admin.revoke(name, by=_actor(), source=socket.gethostname())
    except NotFound as exc:
        raise fail(exc.message_zh, exc.message_en, code=1) from exc
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    if now:
        console.print(
            f"[green]已吊销令牌“{token.name}”[/green]（{_when(token.revoked_at)}），所有 API 进程"
            f"自下一个请求起拒绝它。 Revoked token {token.name!r}: every API process refuses "
            "it from its next request."
        )
    else:
        console.print(
            f"令牌“{token.name}”早已于 {_when(token.revoked_at)} 被 {token.revoked_by} 吊销，未作改动。"
            f" Token {token.name!r} was already revoked; nothing changed."
        )
