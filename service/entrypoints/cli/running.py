"""Running the service: serve, worker, tick, migrate."""

from __future__ import annotations

from typing import Annotated

import typer

from service.entrypoints.cli.app import app, console, err_console, load_settings


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="listen address")] = None,
    port: Annotated[int | None, typer.Option(help="listen port")] = None,
) -> None:
    """启动服务（API、投递进程；开发模式下含门户网站模拟器） Run the API and a worker."""
    from service.entrypoints.runtime import run_service

    settings = load_settings()
    run_service(
        settings, host or settings.host, port if port is not None else settings.port, console
    )


@app.command()
def worker() -> None:
    """只运行投递进程 Run a delivery worker (no API)."""
    from service.entrypoints.runtime import run_worker

    run_worker(load_settings())


@app.command()
def tick(
    every: Annotated[
        float | None,
        typer.Option(
            min=1.0,
            help="每隔若干秒运行一次，直到收到 SIGTERM Repeat every this many seconds until "
            "SIGTERM (a container's own schedule); without it, once",
        ),
    ] = None,
) -> None:
    """定时任务：投递到期项、查询审核结果、抽查固定性 Run the periodic job once (for cron)."""
    from service.entrypoints.runtime import run_tick_loop, run_tick_once

    if every is not None:
        run_tick_loop(load_settings(), every, err_console)
        return

    report = run_tick_once(load_settings(), err_console)
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
    from service.bootstrap import migrate_catalog

    migrate_catalog(load_settings())
    console.print("目录数据库已是最新结构 Catalog schema is up to date.")
