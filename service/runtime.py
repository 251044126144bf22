"""Running the service's processes: `serve` (API, worker, tick loop and — in development —
simulators of destinations without a URL), `worker` and `tick`. SIGTERM and Ctrl-C stop
them cleanly: the current attempts finish and the worker's leases are released, so
another worker takes the rows over at once."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from types import FrameType
from typing import Any

import structlog
import uvicorn
from rich.console import Console

from service.api.app import create_app
from service.bootstrap import (
    ConfigurationError,
    Container,
    DestinationUrls,
    build_adapters,
    build_container,
    build_worker,
)
from service.domain.filing import Destination
from service.orgs import RegistryError
from service.settings import Env, Settings

log = structlog.get_logger()


def _container(settings: Settings, console: Console) -> Container:
    try:
        return build_container(settings)
    except (ConfigurationError, RegistryError) as exc:
        console.print(f"[red]配置有误，拒绝启动 Refusing to start:[/red] {exc}")
        raise SystemExit(2) from exc


@contextmanager
def destinations(settings: Settings) -> Iterator[tuple[DestinationUrls, list[str]]]:
    """The destinations' URLs; in development, a simulator for each one without a URL,
    running in this process until the block ends. Yields the URLs and which are simulated."""
    with ExitStack() as stack:
        simulated: list[str] = []

        def resolve(name: str, url: str | None, start: Callable[[], Any]) -> str | None:
            if url:
                return url
            if not settings.routes_to(Destination(name)):
                return None  # nothing is ever delivered there: no simulator, no adapter
            if settings.env is not Env.DEVELOPMENT:  # production_problems() refused this already
                raise ConfigurationError(f"no URL for {name} in production")
            running = stack.enter_context(start())
            simulated.append(name)
            return str(running.url)

        yield (
            DestinationUrls(
                portal=resolve("portal", settings.portal_url, lambda: _portal_simulator(settings)),
                legal_platform=resolve(
                    "legal_platform",
                    settings.legal_platform_url,
                    lambda: _legal_simulator(settings),
                ),
            ),
            simulated,
        )


def _portal_simulator(settings: Settings) -> Any:
    from service.simulators.portal import SimulatorConfig, start_in_thread

    return start_in_thread(
        "127.0.0.1",
        0,
        SimulatorConfig(
            client_id=settings.portal_client_id,
            client_secret=settings.portal_client_secret.get_secret_value(),
        ),
    )


def _legal_simulator(settings: Settings) -> Any:
    from service.simulators.legal_platform import SimulatorConfig, start_in_thread

    # In the demo a reviewer accepts each report a minute after it arrives.
    return start_in_thread(
        "127.0.0.1",
        0,
        SimulatorConfig(
            apps={
                settings.legal_platform_app_key: settings.legal_platform_app_secret.get_secret_value()
            },
            review_after_s=60.0,
            review_decision="ACCEPTED",
        ),
    )


def _stop_on_signals(stop: threading.Event) -> None:
    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _tick_loop(container: Container, adapters: Any, stop: threading.Event) -> None:
    from service.tick import run_tick

    interval = container.settings.tick_interval_s
    while not stop.wait(interval):
        try:
            run_tick(container, adapters, worker=None)
        except Exception:  # one failed tick must not end the loop; the next one retries
            log.exception("tick_failed")


def run_service(settings: Settings, host: str, port: int, console: Console) -> None:
    container = _container(settings, console)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    with destinations(settings) as (urls, simulated):
        adapters = build_adapters(settings, urls, container.registry)
        if settings.serve_worker:
            worker = build_worker(container, adapters)
            threads.append(threading.Thread(target=worker.run, args=(stop,), name="worker"))
        if settings.tick_interval_s > 0:
            threads.append(
                threading.Thread(
                    target=_tick_loop, args=(container, adapters, stop), name="tick", daemon=True
                )
            )
        for thread in threads:
            thread.start()
        _banner(console, container, host, port, urls, simulated)
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(container), host=host, port=port, log_config=None, access_log=False
            )
        )
        try:
            server.run()
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=60)
            container.close()


def run_worker(settings: Settings) -> None:
    container = _container(settings, Console(stderr=True))
    stop = threading.Event()
    _stop_on_signals(stop)
    with destinations(settings) as (urls, _):
        worker = build_worker(container, build_adapters(settings, urls, container.registry))
        try:
            worker.run(stop)
        finally:
            container.close()


def run_tick_once(settings: Settings, console: Console) -> Any:
    from service.tick import run_tick

    container = _container(settings, console)
    with destinations(settings) as (urls, _):
        adapters = build_adapters(settings, urls, container.registry)
        try:
            return run_tick(container, adapters, build_worker(container, adapters))
        finally:
            container.close()


def _banner(
    console: Console,
    container: Container,
    host: str,
    port: int,
    urls: DestinationUrls,
    simulated: list[str],
) -> None:
    base = f"http://{host}:{port}"
    console.print(
        f"[bold]政府信息公开报送服务 Disclosure service[/bold] {base}  (环境 env: {container.settings.env.value})"
    )
    console.print(f"  API 文档 docs: {base}/docs")
    for name, label, url in (
        ("portal", "门户网站 portal", urls.portal),
        ("legal_platform", "法律顾问平台 legal platform", urls.legal_platform),
    ):
        if url is None:
            continue
        note = "  [yellow](模拟器 simulator)[/yellow]" if name in simulated else ""
        console.print(f"  {label}: {url}{note}")
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
