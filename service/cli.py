"""The `disclosure` command. Commands are thin: parse, call one use case, render.

Messages for people are in Chinese with English alongside; logs are English.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from service.domain.errors import ServiceError
from service.domain.filing import Category
from service.domain.findings import Finding, has_errors
from service.domain.metadata import FilingMetadata
from service.logs import configure_logging
from service.settings import Settings

app = typer.Typer(help="政府信息公开报送服务 The disclosure service.", no_args_is_help=True)
simulate_app = typer.Typer(
    help="运行目的地模拟器 Run a simulator of a destination.", no_args_is_help=True
)
app.add_typer(simulate_app, name="simulate")
console = Console()
err_console = Console(stderr=True)

# A USCC of all zeros passes the check; it stands in when validating without a body.
NO_ORG_CODE = "0" * 18


def _settings() -> Settings:
    try:
        settings = Settings()
    except ValidationError as exc:
        err_console.print(f"[red]配置有误 Invalid settings:[/red]\n{exc}")
        raise typer.Exit(2) from exc
    configure_logging(settings.log_format, settings.log_level)
    return settings


def _fail(message_zh: str, message_en: str, code: int = 2) -> typer.Exit:
    err_console.print(f"[red]{message_zh}[/red]\n{message_en}")
    return typer.Exit(code)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
) -> None:
    """启动服务（API、投递进程；开发模式下含门户网站模拟器） Run the API and a worker."""
    from service.runtime import run_service

    settings = _settings()
    run_service(
        settings, host or settings.host, port if port is not None else settings.port, console
    )


@app.command()
def worker() -> None:
    """只运行投递进程 Run a delivery worker (no API)."""
    from service.runtime import run_worker

    run_worker(_settings())


@app.command()
def migrate() -> None:
    """升级目录数据库结构 Bring the catalog database to the newest schema."""
    from service.catalog.database import migrate as upgrade

    settings = _settings()
    upgrade(settings.resolved_database_url)
    console.print("目录数据库已是最新结构 Catalog schema is up to date.")


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
        raise _fail("报送元数据有误", f"Invalid filing metadata:\n{exc}") from exc


def _print_findings(findings: list[Finding]) -> None:
    if not findings:
        console.print("[green]校验通过，没有问题或提示。[/green] No findings.")
        return
    table = Table("级别", "代码 code", "说明", "位置 where")
    for f in findings:
        level = "[red]错误[/red]" if f.is_error else "[yellow]提示[/yellow]"
        table.add_row(level, f.code, f"{f.message_zh}\n[dim]{f.message_en}[/dim]", f.where or "")
    console.print(table)


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
    """校验报送文件，不归档；有错误时退出码为 1 Validate a file; exit 1 on errors."""
    from service.validation import ValidationRules, validate_filing
    from service.validation.documents import read_document

    meta = _metadata(
        metadata, category, {"org_code": org_code, "org_name": org_name, "period": period}
    )
    document, findings = read_document(file, file.name)
    title = None
    if document is not None:
        on = date.fromisoformat(received_on) if received_on else date.today()
        result = validate_filing(document, meta, None, received_on=on, rules=ValidationRules())
        findings = findings + result.findings
        title = result.title
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
            raise _fail("无法连接服务", f"Cannot reach {server}: {exc}") from exc
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


def _container() -> Any:
    from service.bootstrap import ConfigurationError, build_container
    from service.orgs import RegistryError

    try:
        return build_container(_settings())
    except (ConfigurationError, RegistryError) as exc:
        raise _fail("配置有误", str(exc)) from exc


@app.command()
def verify(filing_id: Annotated[str, typer.Argument(help="报送编号 filing id")]) -> None:
    """对一项报送的归档包做固定性校验 Re-hash a filing's packages from storage; exit 1 on damage."""
    from service.verification import verify_filing

    container = _container()
    try:
        results = verify_filing(
            container.catalog,
            container.packages,
            filing_id,
            checked_by="cli",
            now=container.clock(),
        )
    except ServiceError as exc:
        raise _fail(exc.message_zh, exc.message_en) from exc
    table = Table("版本 version", "结果 result", "校验文件数 checked", "问题 problems")
    for r in results:
        problems = [
            *r.report["missing"],
            *(m["path"] for m in r.report["mismatched"]),
            *r.report["unreadable"],
            *r.report["extra"],
        ]
        table.add_row(
            str(r.version),
            "[green]完好 ok[/green]" if r.ok else "[red]受损 damaged[/red]",
            str(r.report["checked"]),
            "\n".join(problems),
        )
    console.print(table)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


@app.command()
def audit(
    sample: Annotated[
        int | None, typer.Option(min=1, help="随机抽查 N 个版本 check a random sample")
    ] = None,
    all_versions: Annotated[
        bool, typer.Option("--all", help="校验全部 check every version")
    ] = False,
    resume: Annotated[
        bool, typer.Option(help="继续上次中断的 --all 校验 resume an interrupted --all run")
    ] = False,
    since: Annotated[str | None, typer.Option(help="只校验此时间后未校验过的 (ISO 8601)")] = None,
) -> None:
    """巡检归档固定性并写出报告 Walk the archive re-hashing packages; write a report; exit 1 on damage."""
    from datetime import datetime

    from rich.progress import Progress

    from service.verification import AuditPlan, audit_versions, plan_versions, write_report

    if (sample is None) == (not all_versions):
        raise _fail("请指定 --sample N 或 --all 之一", "Give exactly one of --sample N or --all")
    container = _container()
    state = container.settings.data_dir / "audit" / "last-run.json"
    started = container.clock()
    run_since = started
    if since is not None:
        run_since = datetime.fromisoformat(since)
    elif resume and state.exists():
        run_since = datetime.fromisoformat(json.loads(state.read_text())["since"])
    if all_versions:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"since": run_since.isoformat()}))
    versions = plan_versions(
        container.catalog, AuditPlan(sample=sample, since=None if sample else run_since)
    )
    report = container.settings.data_dir / "audit" / f"audit-{started:%Y%m%dT%H%M%S}.jsonl"
    with Progress(console=err_console) as progress:
        task = progress.add_task("固定性巡检 fixity audit", total=len(versions))

        def advancing() -> Any:
            for result in audit_versions(
                container.catalog,
                container.packages,
                versions,
                checked_by="audit",
                clock=container.clock,
            ):
                progress.advance(task)
                yield result

        checked, failed = write_report(report, advancing())
    colour = "red" if failed else "green"
    console.print(
        f"[{colour}]已校验 {checked} 个版本，受损 {failed} 个[/{colour}] Checked {checked}, damaged {failed}. 报告 report: {report}"
    )
    raise typer.Exit(1 if failed else 0)


@simulate_app.command("portal")
def simulate_portal(
    port: Annotated[int, typer.Option(help="监听端口 port")] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    failure_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="注入故障的比例")] = 0.0,
    kinds: Annotated[
        str | None, typer.Option(help="故障种类，逗号分隔 fault kinds, comma-separated")
    ] = None,
    latency_ms: Annotated[int, typer.Option(min=0)] = 0,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """运行门户网站模拟器 Run the portal simulator."""
    from service.simulators.faults import FAULT_KINDS, Faults
    from service.simulators.portal import SimulatorConfig
    from service.simulators.portal import serve as serve_portal

    configure_logging("auto")
    faults = Faults(
        failure_rate=failure_rate,
        kinds=tuple(kinds.split(",")) if kinds else FAULT_KINDS,
        latency_ms=latency_ms,
        seed=seed,
    )
    console.print(f"门户网站模拟器 Portal simulator: http://{host}:{port}")
    serve_portal(host, port, SimulatorConfig(faults=faults))


def main() -> None:
    app()
