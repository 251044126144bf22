"""Running the service's processes: `serve` (API + worker + development simulators) and
`worker`. SIGTERM and Ctrl-C stop them cleanly: the current attempts finish and the
worker's leases are released, so another worker takes the rows over at once."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import structlog
import uvicorn
from rich.console import Console

from service.api.app import create_app
from service.bootstrap import (
    ConfigurationError,
    Container,
    build_adapters,
    build_container,
    build_worker,
)
from service.orgs import RegistryError
from service.settings import Env, Settings

log = structlog.get_logger()


def _container(settings: Settings, console: Console) -> Container:
    try:
        return build_container(settings)
    except (ConfigurationError, RegistryError) as exc:
        console.print(f"[red]配置有误，拒绝启动 Refusing to start:[/red] {exc}")
        raise SystemExit(2) from exc


def _portal_url(settings: Settings) -> tuple[str, object | None]:
    """The portal to deliver to; in development without a URL, a simulator started here."""
    if settings.portal_url:
        return settings.portal_url, None
    if settings.env is not Env.DEVELOPMENT:  # production_problems() already refused this
        raise ConfigurationError("DISCLOSURE_PORTAL_URL is required in production")
    from service.simulators.portal import SimulatorConfig, start_in_thread

    simulator = start_in_thread(
        "127.0.0.1",
        0,
        SimulatorConfig(
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
        ),
    )
    return simulator.url, simulator


def run_service(settings: Settings, host: str, port: int, console: Console) -> None:
    container = _container(settings, console)
    portal_url, simulator = _portal_url(settings)
    worker = build_worker(container, build_adapters(settings, portal_url))
    stop = threading.Event()
    worker_thread = threading.Thread(target=worker.run, args=(stop,), name="worker", daemon=True)
    worker_thread.start()
    _banner(console, container, host, port, portal_url, simulated=simulator is not None)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(container), host=host, port=port, log_config=None, access_log=False
        )
    )
    try:
        server.run()
    finally:
        stop.set()
        worker_thread.join(timeout=60)
        if simulator is not None:
            simulator.stop()  # type: ignore[attr-defined]
        container.close()


def run_worker(settings: Settings) -> None:
    container = _container(settings, Console(stderr=True))
    portal_url, simulator = _portal_url(settings)
    worker = build_worker(container, build_adapters(settings, portal_url))
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        worker.run(stop)
    finally:
        if simulator is not None:
            simulator.stop()  # type: ignore[attr-defined]
        container.close()


def _banner(
    console: Console,
    container: Container,
    host: str,
    port: int,
    portal_url: str,
    *,
    simulated: bool,
) -> None:
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]政府信息公开报送服务 Disclosure service[/bold] {base}  (环境 env: {container.settings.env.value})"
    )
    console.print(f"  API 文档 docs: {base}/docs")
    console.print(
        f"  门户网站 portal: {portal_url}"
        + ("  [yellow](模拟器 simulator)[/yellow]" if simulated else "")
    )
    console.print(f"  归档 archive: {container.store.describe()}")
    if container.demo_token:
        console.print(
            f"  演示令牌 demo token (operator, all bodies): [bold]{container.demo_token}[/bold]"
        )
        console.print("  提交示例报告 Submit the example report:")
        console.print(
            f"    curl -sS -H 'Authorization: Bearer {container.demo_token}' "
            "-F 'metadata=<examples/metadata.json' "
            "-F 'file=@examples/binhe-2023-fazhi-report.docx' "
            f"{base}/v1/filings",
            soft_wrap=True,
        )
