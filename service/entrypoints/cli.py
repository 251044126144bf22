"""The `disclosure` command. Commands are thin: parse, call one use case, render.

Messages for people are in Chinese with English alongside; logs are English.
"""

from __future__ import annotations

import json
from datetime import date, datetime
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
schemas_app = typer.Typer(
    help="发布的 JSON Schema 与问题代码表 The published JSON Schemas and finding codes.",
    no_args_is_help=True,
)
app.add_typer(schemas_app, name="schemas")
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
    from service.entrypoints.runtime import run_service

    settings = _settings()
    run_service(
        settings, host or settings.host, port if port is not None else settings.port, console
    )


@app.command()
def worker() -> None:
    """只运行投递进程 Run a delivery worker (no API)."""
    from service.entrypoints.runtime import run_worker

    run_worker(_settings())


@app.command()
def tick() -> None:
    """定时任务：投递到期项、查询审核结果、抽查固定性 Run the periodic job once (for cron)."""
    from service.entrypoints.runtime import run_tick_once

    report = run_tick_once(_settings(), err_console)
    console.print(
        f"投递尝试 {report.attempts} 次；查询审核 {report.reviews.polled} 件（通过 {report.reviews.accepted}，"
        f"退回 {report.reviews.returned}）；固定性抽查 {report.fixity_checked} 个版本，受损 {report.fixity_damaged} 个；"
        f"审计日志归档 {report.audit_days_exported} 天"
    )
    console.print(
        f"[dim]attempts {report.attempts}; reviews polled {report.reviews.polled} "
        f"(accepted {report.reviews.accepted}, returned {report.reviews.returned}); "
        f"fixity checked {report.fixity_checked}, damaged {report.fixity_damaged}; "
        f"audit log days exported {report.audit_days_exported}[/dim]"
    )
    raise typer.Exit(1 if report.fixity_damaged else 0)


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

    from service.bootstrap import ConfigurationError, build_checks, document_limits, load_bodies
    from service.domain.errors import Rejected
    from service.domain.time import shanghai_date, utcnow
    from service.orgs import RegistryError
    from service.reading.pool import InProcessReader
    from service.uploads import hashed_upload
    from service.usecases.checking import check_submission

    try:
        registry = load_bodies(settings)
        checks = build_checks(settings, registry, InProcessReader(document_limits(settings)))
    except (ConfigurationError, RegistryError) as exc:
        raise _fail("配置有误 Invalid settings", str(exc)) from exc
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
        _settings(), file, meta, received_on=on, check_review=metadata is not None
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
    from service.usecases.verification import verify_filing

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

    from rich.progress import Progress

    from service.usecases.verification import AuditPlan, audit_versions, plan_versions, write_report

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


@app.command()
def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
    stuck_after: Annotated[
        float,
        typer.Option(min=0, help="预留超过多少分钟视为中断 minutes before a reservation is stuck"),
    ] = 60,
) -> None:
    """核对归档与目录，只报告、不修改；发现问题时退出码为 1 Compare archive and catalog; exit 1 on problems."""
    from datetime import timedelta

    from rich.progress import Progress

    from service.usecases.recovery import reconcile as run_reconcile

    container = _container()
    with Progress(console=err_console, transient=True) as progress:
        task = progress.add_task("核对归档包 checking packages", total=None)
        result = run_reconcile(
            container.restore,
            container.packages,
            now=container.clock(),
            stuck_after=timedelta(minutes=stuck_after),
            progress=lambda _: progress.advance(task),
        )
    if as_json:
        console.print_json(json.dumps(result.to_dict(), ensure_ascii=False))
        raise typer.Exit(0 if result.ok else 1)
    if result.problems:
        table = Table("问题 problem", "报送 filing", "目录状态 catalog", "对象 key")
        for p in result.problems:
            table.add_row(
                f"{p.kind.label_zh}\n[dim]{p.kind.label_en}[/dim]",
                f"{p.filing_id} v{p.version}",
                p.catalog_status or "[red]无 none[/red]",
                p.key + (f"\n[dim]{p.note}[/dim]" if p.note else ""),
            )
        console.print(table)
    colour = "red" if result.problems else "green"
    console.print(
        f"[{colour}]已核对 {result.packages} 个归档包、{result.versions} 个目录版本，"
        f"发现 {len(result.problems)} 个问题[/{colour}] Checked {result.packages} packages and "
        f"{result.versions} catalog versions: {len(result.problems)} problems."
    )
    raise typer.Exit(0 if result.ok else 1)


@app.command("rebuild-catalog")
def rebuild_catalog(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
) -> None:
    """仅凭归档重建空的目录数据库（目录不为空时拒绝） Rebuild an EMPTY catalog from the archive alone."""
    from rich.progress import Progress

    from service.usecases.recovery import rebuild_catalog as run_rebuild

    container = _container()
    try:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("从归档重建目录 rebuilding from the archive", total=None)
            report = run_rebuild(
                container.restore,
                container.store,
                container.packages,
                now=container.clock(),
                progress=lambda _: progress.advance(task),
            )
    except ServiceError as exc:
        raise _fail(exc.message_zh, exc.message_en) from exc
    if as_json:
        console.print_json(json.dumps(report.to_dict(), ensure_ascii=False))
        raise typer.Exit(0 if report.ok else 1)
    if report.skipped:
        table = Table("未按原样恢复 not restored as is", "对象 key", "原因 reason")
        for s in report.skipped:
            table.add_row(s.kind.value, s.key, s.reason)
        console.print(table)
    colour = "green" if report.ok else "red"
    console.print(
        f"[{colour}]已恢复 {report.filings} 项报送、{report.versions} 个版本；投递已送达 "
        f"{report.delivered} 个、待投递 {report.pending} 个；审计日志 {report.audit_days} 天 "
        f"{report.audit_events} 条[/{colour}] Restored {report.filings} filings, {report.versions} "
        f"versions, {report.delivered} delivered and {report.pending} pending deliveries, "
        f"{report.audit_events} audit events from {report.audit_days} days."
    )
    if report.audit_through is not None:
        console.print(
            f"审计日志恢复至 {report.audit_through}（上海时间），此后的事件未曾导出、无法恢复 "
            f"Audit log restored through {report.audit_through}; later events were never exported."
        )
    raise typer.Exit(0 if report.ok else 1)


@app.command("export-audit")
def export_audit(
    day: Annotated[
        str | None,
        typer.Option(
            help="导出某一天 (YYYY-MM-DD，上海时间)；缺省时补齐所有未导出的已结束日期 "
            "one day; by default every finished day not yet exported"
        ),
    ] = None,
) -> None:
    """把审计日志按日导出到归档（只写一次的 JSON Lines） Export audit events to the archive, a day per object."""
    from service.domain.errors import Conflict
    from service.usecases.audit_export import export_audit_day, export_pending_days

    try:
        on = date.fromisoformat(day) if day else None
    except ValueError as exc:
        raise _fail("日期格式应为 YYYY-MM-DD", f"Not a date (YYYY-MM-DD): {day}") from exc
    container = _container()
    restore, now = container.restore, container.clock()
    try:
        if on is None:
            exports = export_pending_days(restore, container.catalog, container.store, now=now)
        else:
            exports = [export_audit_day(restore, container.catalog, container.store, on, now=now)]
    except Conflict as exc:
        err_console.print_json(json.dumps(exc.detail, ensure_ascii=False))
        raise _fail(exc.message_zh, exc.message_en, code=1) from exc
    except ServiceError as exc:
        raise _fail(exc.message_zh, exc.message_en) from exc
    if not exports:
        console.print("没有需要导出的日期 Nothing to export.")
        return
    # A long catch-up lists only the days that had events; the count says the rest.
    shown = exports if len(exports) <= 31 else [e for e in exports if e.events]
    table = Table("日期 day", "对象 key", "事件数 events", "结果 result", "SHA-256")
    for e in shown:
        result = "新导出 exported" if e.created else "已导出，内容一致 already exported"
        table.add_row(e.day.isoformat(), e.key, str(e.events), result, e.sha256)
    console.print(table)
    empty = sum(1 for e in exports if not e.events)
    console.print(
        f"共 {len(exports)} 天，其中无审计事件 {empty} 天 {len(exports)} days, {empty} without events."
    )


@simulate_app.command("portal")
def simulate_portal(
    port: Annotated[int, typer.Option(help="监听端口 port")] = 8100,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    failure_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="注入故障的比例")] = 0.0,
    kinds: Annotated[
        str | None, typer.Option(help="故障种类，逗号分隔 fault kinds, comma-separated")
    ] = None,
    latency_ms: Annotated[
        int, typer.Option(min=0, help="“slow” 故障的延迟 delay of a slow fault")
    ] = 0,
    seed: Annotated[int | None, typer.Option()] = None,
    base_latency_ms: Annotated[
        int, typer.Option(min=0, help="每个请求的基础延迟 delay on every request")
    ] = 0,
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
        base_latency_ms=base_latency_ms,
    )
    console.print(f"门户网站模拟器 Portal simulator: http://{host}:{port}")
    serve_portal(host, port, SimulatorConfig(faults=faults))


@simulate_app.command("legal-platform")
def simulate_legal_platform(
    port: Annotated[int, typer.Option(help="监听端口 port")] = 8200,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    failure_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="注入故障的比例")] = 0.0,
    kinds: Annotated[
        str | None, typer.Option(help="故障种类，逗号分隔 fault kinds, comma-separated")
    ] = None,
    latency_ms: Annotated[int, typer.Option(min=0)] = 0,
    seed: Annotated[int | None, typer.Option()] = None,
    review_after_s: Annotated[
        float | None, typer.Option(help="上传后多少秒自动审核 review after (s)")
    ] = None,
    return_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="退回的比例")] = 0.0,
) -> None:
    """运行法律顾问管理服务平台模拟器 Run the legal-platform simulator."""
    from service.simulators.faults import Faults
    from service.simulators.legal_platform import LEGAL_PLATFORM_FAULT_KINDS, SimulatorConfig
    from service.simulators.legal_platform import serve as serve_legal_platform

    configure_logging("auto")
    try:
        faults = Faults(
            failure_rate=failure_rate,
            kinds=tuple(kinds.split(",")) if kinds else LEGAL_PLATFORM_FAULT_KINDS,
            latency_ms=latency_ms,
            seed=seed,
        )
    except ValueError as exc:
        raise _fail("故障设置有误", str(exc)) from exc
    config = SimulatorConfig(faults=faults, review_after_s=review_after_s, return_rate=return_rate)
    console.print(f"法律顾问管理服务平台模拟器 Legal-platform simulator: http://{host}:{port}")
    serve_legal_platform(host, port, config)


@schemas_app.command("export")
def schemas_export(
    directory: Annotated[Path, typer.Option("--dir", help="JSON Schema 输出目录")] = Path(
        "schemas"
    ),
    findings_table: Annotated[
        Path, typer.Option("--findings-table", help="问题代码表 (Markdown) 输出路径")
    ] = Path("docs/findings.md"),
    check: Annotated[
        bool, typer.Option("--check", help="只检查是否最新；过期时退出码为 1 exit 1 when stale")
    ] = False,
) -> None:
    """导出元数据、问题的 JSON Schema (2020-12) 和问题代码表 Write the schemas and the codes table."""
    from service.schemas import export, stale
    from service.validation.codes import findings_markdown

    table = findings_markdown()
    if check:
        old = findings_table.read_text(encoding="utf-8") if findings_table.is_file() else None
        out_of_date = stale(directory) + ([str(findings_table)] if old != table else [])
        if out_of_date:
            raise _fail(
                "以下文件不是最新，请运行 disclosure schemas export", ", ".join(out_of_date), 1
            )
        console.print("[green]均为最新[/green] Up to date.")
        return
    written = export(directory)
    findings_table.parent.mkdir(parents=True, exist_ok=True)
    findings_table.write_text(table, encoding="utf-8")
    for path in [*written, findings_table]:
        console.print(f"已写入 wrote {path}")


def main() -> None:
    app()
