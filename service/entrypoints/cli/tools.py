"""Simulators of the destinations, and the published schemas."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.entrypoints.cli.app import console, fail, schemas_app, simulate_app
from service.logs import configure_logging

if TYPE_CHECKING:
    from service.simulators.faults import Faults


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
    from service.simulators.faults import FAULT_KINDS
    from service.simulators.portal import SimulatorConfig
    from service.simulators.portal import serve as serve_portal

    configure_logging("auto")
    faults = _faults(failure_rate, kinds, FAULT_KINDS, latency_ms, seed, base_latency_ms)
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
    from service.simulators.legal_platform import LEGAL_PLATFORM_FAULT_KINDS, SimulatorConfig
    from service.simulators.legal_platform import serve as serve_legal_platform

    configure_logging("auto")
    faults = _faults(failure_rate, kinds, LEGAL_PLATFORM_FAULT_KINDS, latency_ms, seed)
    config = SimulatorConfig(faults=faults, review_after_s=review_after_s, return_rate=return_rate)
    console.print(f"法律顾问管理服务平台模拟器 Legal-platform simulator: http://{host}:{port}")
    serve_legal_platform(host, port, config)


@simulate_app.command("wechat")
def simulate_wechat(
    port: Annotated[int, typer.Option(help="监听端口 port")] = 8300,
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    appid: Annotated[str, typer.Option(help="公众号 AppID")] = "wx5c3a9e0d1b2f4a68",
    secret: Annotated[
        str, typer.Option(help="公众号 AppSecret", envvar="WECHAT_SIMULATOR_SECRET")
    ] = "wechat-demo-secret",
    account_type: Annotated[
        str, typer.Option(help="subscription（订阅号）或 service（服务号）")
    ] = "subscription",
    publish_delay_s: Annotated[
        float, typer.Option(min=0.0, help="发布任务多少秒后有结果 publish job delay (s)")
    ] = 0.0,
    publish_status: Annotated[int, typer.Option(help="发布结果 publish_status: 0, 2, 3 or 4")] = 0,
    failure_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="注入故障的比例")] = 0.0,
    kinds: Annotated[
        str | None, typer.Option(help="故障种类，逗号分隔 fault kinds, comma-separated")
    ] = None,
    latency_ms: Annotated[int, typer.Option(min=0)] = 0,
    seed: Annotated[int | None, typer.Option()] = None,
) -> None:
    """运行微信公众平台模拟器 Run the WeChat official-account platform simulator."""
    from service.simulators.wechat import WECHAT_FAULT_KINDS, SimulatorConfig
    from service.simulators.wechat import serve as serve_wechat

    configure_logging("auto")
    faults = _faults(failure_rate, kinds, WECHAT_FAULT_KINDS, latency_ms, seed)
    try:
        config = SimulatorConfig(
            accounts={appid: secret}, account_type=account_type, faults=faults,
            publish_delay_s=publish_delay_s, publish_status=publish_status,
        )  # fmt: skip
    except ValueError as exc:
        raise fail("模拟器设置有误", str(exc)) from exc
    console.print(f"微信公众平台模拟器 WeChat simulator: http://{host}:{port}/cgi-bin/ ({appid})")
    serve_wechat(host, port, config)


def _faults(
    failure_rate: float,
    kinds: str | None,
    default_kinds: tuple[str, ...],
    latency_ms: int,
    seed: int | None,
    base_latency_ms: int = 0,
) -> Faults:
    """The faults a `simulate` command's options ask for; an unknown kind is said, in
    Chinese and English, not raised."""
    from service.simulators.faults import Faults

    try:
        return Faults(
            failure_rate=failure_rate,
            kinds=tuple(kinds.split(",")) if kinds else default_kinds,
            latency_ms=latency_ms,
            seed=seed,
            base_latency_ms=base_latency_ms,
        )
    except ValueError as exc:
        raise fail("故障设置有误", str(exc)) from exc


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
            raise fail(
                "以下文件不是最新，请运行 disclosure schemas export", ", ".join(out_of_date), 1
            )
        console.print("[green]均为最新[/green] Up to date.")
        return
    written = export(directory)
    findings_table.parent.mkdir(parents=True, exist_ok=True)
    findings_table.write_text(table, encoding="utf-8")
    for path in [*written, findings_table]:
        console.print(f"已写入 wrote {path}")
