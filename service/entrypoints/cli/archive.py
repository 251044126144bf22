"""The archive's care: fixity checks and audits, reconcile, rebuild, the audit export."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from service.domain.errors import ServiceError
from service.entrypoints.cli.app import app, console, err_console, fail, load_container

if TYPE_CHECKING:  # imported where used: the CLI starts without them
    from service.bootstrap import Container
    from service.usecases.recovery.captures import CapturesRestored
    from service.usecases.recovery.rebuild import Rebuild
    from service.usecases.recovery.stamps import StampsRestored


@app.command()
def verify(filing_id: Annotated[str, typer.Argument(help="报送编号 filing id")]) -> None:
    """对一项报送的归档包做固定性校验 Re-hash a filing's packages from storage; exit 1 on damage."""
    from service.bootstrap import proof_setup
    from service.usecases.verification import verify_filing

    container = load_container()
    try:
        results = verify_filing(
            container.catalog,
            container.packages,
            filing_id,
            checked_by="cli",
            now=container.clock(),
            recipients=container.recipients(),
            proof=proof_setup(container.settings, container.store),
        )
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    table = Table("版本 version", "结果 result", "校验文件数 checked", "问题 problems")
    for r in results:
        problems = [
            *r.report["missing"],
            *(m["path"] for m in r.report["mismatched"]),
            *r.report["unreadable"],
            *r.report["extra"],
            *(f"被改写 overwritten: {f}" for f in r.report.get("foreign", [])),
            *(_timestamp_line(t) for t in r.report.get("timestamps", [])),
        ]
        table.add_row(
            str(r.version),
            "[green]完好 ok[/green]" if r.ok else "[red]受损 damaged[/red]",
            str(r.report["checked"]),
            "\n".join(problems),
        )
    console.print(table)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def _timestamp_line(stamp: dict[str, Any]) -> str:
    """A version's timestamp as `verify` prints it: 可信时间戳 status (and why not verified)."""
    line = f"可信时间戳 timestamp: {stamp['status']} {stamp['gen_time'] or ''}".rstrip()
    problem = stamp.get("problem")
    if problem:
        line += f" — {problem['message_zh']} {problem['message_en']} ({problem['code']})"
    return line


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

    from service.usecases.verification import AuditPlan, plan_versions

    if (sample is None) == (not all_versions):
        raise fail("请指定 --sample N 或 --all 之一", "Give exactly one of --sample N or --all")
    container = load_container()
    started = container.clock()
    run_since = _run_since(
        container.settings.data_dir / "audit" / "last-run.json",
        started,
        since=since,
        resume=resume,
        remember=all_versions,
    )
    versions = plan_versions(
        container.catalog, AuditPlan(sample=sample, since=None if sample else run_since)
    )
    report = container.settings.data_dir / "audit" / f"audit-{started:%Y%m%dT%H%M%S}.jsonl"
    checked, failed = _audit_with_progress(container, versions, report)
    colour = "red" if failed else "green"
    console.print(
        f"[{colour}]已校验 {checked} 个版本，受损 {failed} 个[/{colour}] Checked {checked}, damaged {failed}. 报告 report: {report}"
    )
    raise typer.Exit(1 if failed else 0)


def _audit_with_progress(container: Any, versions: list[Any], report: Path) -> tuple[int, int]:
    """Checked and damaged, each version's result written to `report` as it comes."""
    from rich.progress import Progress

    from service.usecases.verification import audit_versions, write_report

    with Progress(console=err_console) as progress:
        task = progress.add_task("固定性巡检 fixity audit", total=len(versions))

        def advancing() -> Any:
            for result in audit_versions(
                container.catalog,
                container.packages,
                versions,
                checked_by="audit",
                clock=container.clock,
                recipients=container.recipients(),
            ):
                progress.advance(task)
                yield result

        return write_report(report, advancing())


def _sweep_spools(settings: Any) -> None:
    from service.configured import spool_root
    from service.spools import sweep

    swept = sweep(spool_root(settings))
    if swept.directories:
        err_console.print(
            f"已清除已退出进程遗留的 {swept.files} 个上传暂存文件（{swept.bytes} 字节） "
            f"Cleared {swept.files} spooled uploads ({swept.bytes} bytes) dead processes left"
        )


def _run_since(
    state: Path, started: datetime, *, since: str | None, resume: bool, remember: bool
) -> datetime:
    """Versions not checked since when: `since`, else the interrupted run's (`resume`),
    else now; an --all run remembers it in `state`, for a later --resume."""
    run_since = started
    if since is not None:
        run_since = datetime.fromisoformat(since)
    elif resume and state.exists():
        run_since = datetime.fromisoformat(json.loads(state.read_text())["since"])
    if remember:
        state.parent.mkdir(parents=True, exist_ok=True)
        state.write_text(json.dumps({"since": run_since.isoformat()}))
    return run_since


@app.command()
def reconcile(
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出 output JSON")] = False,
    stuck_after: Annotated[
        float,
        typer.Option(min=0, help="预留超过多少分钟视为中断 minutes before a reservation is stuck"),
    ] = 60,
) -> None:
    """核对归档与目录（只报告、不修改），并清除已退出进程遗留的上传暂存文件；发现问题时退出码为 1
    Compare archive and catalog (changing neither), and clear uploads dead processes left
    spooled; exit 1 on problems."""
    from datetime import timedelta

    from rich.progress import Progress

    from service.usecases.recovery import reconcile as run_reconcile

    container = load_container()
    _sweep_spools(container.settings)
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

    from service.archive.packages.proof import Proofs
    from service.bootstrap import takedown_destinations
    from service.usecases.recovery import rebuild_catalog as run_rebuild
    from service.usecases.recovery.stamps import restore_stamps

    container = load_container()
    try:
        with Progress(console=err_console, transient=True) as progress:
            task = progress.add_task("从归档重建目录 rebuilding from the archive", total=None)
            report = run_rebuild(
                container.restore,
                container.store,
                container.packages,
                now=container.clock(),
                progress=lambda _: progress.advance(task),
                takedown=takedown_destinations(),
            )
            task = progress.add_task("恢复时间戳 restoring timestamps", total=None)
            stamps = restore_stamps(
                container.catalog, Proofs(container.store), container.restore.version_states(),
                progress=lambda _: progress.advance(task),
            )  # fmt: skip
            captures = _restore_captures(container)
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
    if as_json:
        restored = {**report.to_dict(), "timestamps": dataclasses.asdict(stamps),
                    "captures": dataclasses.asdict(captures)}  # fmt: skip
        console.print_json(json.dumps(restored, ensure_ascii=False))
        raise typer.Exit(0 if report.ok else 1)
    _print_rebuild(report, stamps)
    console.print(
        f"网页留存：已恢复 {captures.captures} 项、复查 {captures.checks} 次 "
        f"Captures: {captures.captures} restored with {captures.checks} re-checks."
    )
    raise typer.Exit(0 if report.ok else 1)


def _restore_captures(container: Container) -> CapturesRestored:
    from service.archive.packages.captures import CaptureFiles
    from service.archive.packages.proof import Proofs
    from service.usecases.recovery.captures import restore_captures

    settings = container.settings
    return restore_captures(
        container.catalog, CaptureFiles(container.store), Proofs(container.store),
        container.restore.version_states(),
        schedule=(tuple(settings.capture_schedule_days), settings.capture_monthly_days),
    )  # fmt: skip


def _print_rebuild(report: Rebuild, stamps: StampsRestored) -> None:
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
    console.print(
        f"可信时间戳：已恢复 {stamps.stamped} 个，待盖 {stamps.pending} 个，无效 {stamps.failed} 个 "
        f"Timestamps: {stamps.stamped} restored, {stamps.pending} to stamp, {stamps.failed} invalid."
    )
    if report.audit_through is not None:
        console.print(
            f"审计日志恢复至 {report.audit_through}（上海时间），此后的事件未曾导出、无法恢复 "
            f"Audit log restored through {report.audit_through}; later events were never exported."
        )


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
        raise fail("日期格式应为 YYYY-MM-DD", f"Not a date (YYYY-MM-DD): {day}") from exc
    container = load_container()
    restore, now = container.restore, container.clock()
    try:
        if on is None:
            exports = export_pending_days(restore, container.catalog, container.store, now=now)
        else:
            exports = [export_audit_day(restore, container.catalog, container.store, on, now=now)]
    except Conflict as exc:
        err_console.print_json(json.dumps(exc.detail, ensure_ascii=False))
        raise fail(exc.message_zh, exc.message_en, code=1) from exc
    except ServiceError as exc:
        raise fail(exc.message_zh, exc.message_en) from exc
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
