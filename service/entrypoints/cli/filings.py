"""Checking and submitting a filing from the command line."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.table import Table

from service.domain.filing import Category
from service.domain.findings import Finding, has_errors
from service.domain.metadata import FilingMetadata
from service.entrypoints.cli.app import NO_ORG_CODE, app, console, err_console, fail, load_settings
from service.settings import Settings


def _metadata(
    metadata_file: Path | None, category: Category | None, overrides: dict[str, Any]
) -> FilingMetadata:
    data: dict[str, Any] = {}
    if metadata_file is not None:
        data = json.loads(metadata_file.read_text(encoding="utf-8"))
    if category is not None:
        data["category"] = category.value
    data.update({k: v for k, v in overrides.items() if v is not None})
    data.setdefault("org_code", NO_ORG_CODE)
    try:
        return FilingMetadata.model_validate(data)
    except ValidationError as exc:
        raise fail("报送元数据有误", f"Invalid filing metadata:\n{exc}") from exc


def _print_findings(findings: list[Finding]) -> None:
    if not findings:
        console.print("[green]校验通过，没有问题或提示。[/green] No findings.")
        return
    table = Table("级别", "代码 code", "说明", "位置 where")
    for f in findings:
        level = "[red]错误[/red]" if f.is_error else "[yellow]提示[/yellow]"
        table.add_row(level, f.code, f"{f.message_zh}\n[dim]{f.message_en}[/dim]", f.where or "")
    console.print(table)


def _check_file(
    settings: Settings,
    file: Path,
    meta: FilingMetadata,
    *,
    received_on: date | None,
    check_review: bool,
) -> tuple[Any, list[Finding], str | None]:
    """Check `file` as the service checks a submission (service.usecases.checking: the
    installation's rules, limits, registry and routes, destinations' file types
    included), read in this process; no catalog, so no cross-year check; no principal,
    so no waiver."""
    from dataclasses import replace

    from service.bootstrap import checks_in_process
    from service.configured import ConfigurationError
    from service.domain.errors import Rejected
    from service.domain.time import shanghai_date, utcnow
    from service.orgs import RegistryError
    from service.uploads import hashed_upload
    from service.usecases.checking import check_submission

    try:
        checks = checks_in_process(settings)
    except (ConfigurationError, RegistryError) as exc:
        raise fail("配置有误 Invalid settings", str(exc)) from exc
    today = received_on or shanghai_date(utcnow())
    upload = hashed_upload(file, file.name)
    try:
        check = check_submission(checks, meta, upload, received_on=today, review=check_review)
    except Rejected as rejected:
        return None, list(rejected.findings), None
    if meta.org_code == NO_ORG_CODE:  # no body named: there is none to look up
        check = replace(
            check, findings=[f for f in check.findings if f.code != "org_not_registered"]
        )
    return check.document, check.findings, check.title


@app.command()
def validate(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    category: Annotated[Category | None, typer.Option(help="类别 category")] = None,
    org_code: Annotated[str | None, typer.Option(help="统一社会信用代码")] = None,
    org_name: Annotated[str | None, typer.Option(help="单位名称")] = None,
    period: Annotated[str | None, typer.Option(help="期间，如 2023")] = None,
    metadata: Annotated[Path | None, typer.Option(help="元数据 JSON 文件")] = None,
    received_on: Annotated[
        str | None, typer.Option(help="按此日期判断是否逾期 (YYYY-MM-DD)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """校验报送文件，不归档；有错误时退出码为 1 Validate a file; exit 1 on errors.

    With --metadata the file's 保密审查 record is checked as a submission's would be
    (for categories routed to the portal); waivers are honoured only when submitting."""
    meta = _metadata(
        metadata, category, {"org_code": org_code, "org_name": org_name, "period": period}
    )
    on = date.fromisoformat(received_on) if received_on else None
    document, findings, title = _check_file(
        load_settings(), file, meta, received_on=on, check_review=metadata is not None
    )
    if as_json:
        body = {
            "valid": document is not None and not has_errors(findings),
            "title": title,
            "findings": [f.to_dict() for f in findings],
        }
        console.print_json(json.dumps(body, ensure_ascii=False))
    else:
        if title:
            console.print(f"标题 Title: {title}")
        _print_findings(findings)
    raise typer.Exit(1 if document is None or has_errors(findings) else 0)


@app.command()
def submit(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    server: Annotated[str, typer.Option(help="服务地址 e.g. http://127.0.0.1:8000")],
    token: Annotated[str, typer.Option(help="访问令牌 bearer token", envvar="DISCLOSURE_TOKEN")],
    category: Annotated[Category | None, typer.Option()] = None,
    org_code: Annotated[str | None, typer.Option()] = None,
    org_name: Annotated[str | None, typer.Option()] = None,
    period: Annotated[str | None, typer.Option()] = None,
    metadata: Annotated[Path | None, typer.Option(help="元数据 JSON 文件")] = None,
) -> None:
    """向服务提交报送 Submit a filing to a running service."""
    import httpx

    meta = _metadata(
        metadata, category, {"org_code": org_code, "org_name": org_name, "period": period}
    )
    with file.open("rb") as f:
        try:
            response = httpx.post(
                f"{server.rstrip('/')}/v1/filings",
                headers={"Authorization": f"Bearer {token}"},
                data={"metadata": meta.model_dump_json(exclude_none=True)},
                files={"file": (file.name, f)},
                timeout=600,
            )
        except httpx.HTTPError as exc:
            raise fail("无法连接服务", f"Cannot reach {server}: {exc}") from exc
    body = response.json()
    if response.status_code == 201:
        console.print(
            f"[green]已受理[/green] Accepted: {body['id']} v{body['version']} ({body['status']})"
        )
        _print_findings([Finding.from_dict(f) for f in body.get("findings", [])])
        return
    error = body.get("error", {})
    err_console.print(
        f"[red]{error.get('message_zh')}[/red] {error.get('message_en')} ({response.status_code})"
    )
    _print_findings([Finding.from_dict(f) for f in error.get("findings", [])])
    raise typer.Exit(1)
