"""Running the service's processes: `serve` (API, worker, tick loop and — in development —
simulators of destinations without a URL), `worker` and `tick` (once, or `--every` N
seconds). SIGTERM and Ctrl-C stop them cleanly: the current attempts finish and the
worker's leases are released, so another worker takes the rows over at once."""

from __future__ import annotations

import os
import signal
import threading
import time
from types import FrameType
from typing import Any

import structlog
from prometheus_client import start_http_server
from rich.console import Console

from service import metrics
from service.bootstrap import (
    Container,
    Found,
    build_adapters,
    build_container,
    build_notifier,
    build_worker,
    destinations,
    tick_jobs,
    timestamp_authority,
)
from service.captures import capture_hosts
from service.configured import ConfigurationError
from service.delivery.port import DestinationAdapter
from service.entrypoints.api.app import create_app
from service.entrypoints.http_server import AnnouncedServer, ServerLimits, server_config
from service.orgs import RegistryError
from service.proof.port import TimestampAuthority
from service.settings import Settings
from service.usecases.tick import TickJobs, run_tick

log = structlog.get_logger()


def _container(settings: Settings, console: Console, *, serving_api: bool = False) -> Container:
    try:
        return build_container(settings, serving_api=serving_api)
    except (ConfigurationError, RegistryError) as exc:
        console.print(f"[red]配置有误，拒绝启动 Refusing to start:[/red] {exc}")
        raise SystemExit(2) from exc


def _stop_on_signals(stop: threading.Event) -> None:
    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)


def _tick_loop(
    container: Container,
    adapters: dict[str, DestinationAdapter],
    stop: threading.Event,
    tsa: TimestampAuthority | None,
    hosts: frozenset[str],
) -> None:
    jobs = tick_jobs(container, adapters, None, tsa, hosts)
    while not stop.wait(container.settings.tick_interval_s):
        _tick_logging_failure(jobs)


def _tick_logging_failure(jobs: TickJobs) -> None:
    try:
        run_tick(jobs)
    except Exception:  # one failed tick must not end the loop; the next one retries
        log.exception("tick_failed")


def run_service(settings: Settings, host: str, port: int, console: Console) -> None:
    container = _container(settings, console, serving_api=True)
    stop = threading.Event()
    threads: list[threading.Thread] = []
    with destinations(settings) as found, timestamp_authority(settings) as tsa:
        adapters = build_adapters(container, found.urls)
        if settings.serve_worker:
            worker = build_worker(container, adapters)
            threads.append(threading.Thread(target=worker.run, args=(stop,), name="worker"))
            notifier = build_notifier(container)
            threads.append(threading.Thread(target=notifier.run, args=(stop,), name="notifier"))
        if settings.tick_interval_s > 0:
            threads.append(
                threading.Thread(
                    target=_tick_loop,
                    args=(container, adapters, stop, tsa, capture_hosts(settings, found.urls)),
                    name="tick",
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        _announce(console, container, host, port, found)
        limits = ServerLimits(
            header_timeout_s=settings.http_header_timeout_s,
            keep_alive_s=settings.http_keep_alive_s,
            max_connections=settings.http_max_connections,
        )
        if settings.metrics_port is not None:
            start_http_server(settings.metrics_port, addr=host, registry=metrics.REGISTRY)
        server = AnnouncedServer(
            server_config(
                create_app(container.api(), container.pages()), limits, host=host, port=port
            )
        )
        try:
            server.run()
        finally:
            _wind_down(stop, threads, container)


def _wind_down(
    stop: threading.Event, threads: list[threading.Thread], container: Container
) -> None:
    """The API has stopped taking requests: let the worker finish its attempts and release
    its leases, then close the catalog; say how long it took and what did not finish."""
    started = time.monotonic()
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    container.close()
    log.info(
        "service_stopped",
        wind_down_ms=round((time.monotonic() - started) * 1000),
        unfinished=[t.name for t in threads if t.is_alive()],
    )


def run_worker(settings: Settings) -> None:
    container = _container(settings, Console(stderr=True))
    stop = threading.Event()
    _stop_on_signals(stop)
    with destinations(settings) as found:
        worker = build_worker(container, build_adapters(container, found.urls))
        notifier = threading.Thread(
            target=build_notifier(container).run, args=(stop,), name="notifier"
        )
        notifier.start()
        try:
            worker.run(stop)
        finally:
            stop.set()
            notifier.join(timeout=60)
            container.close()


def run_tick_once(settings: Settings, console: Console) -> Any:
    container = _container(settings, console)
    with destinations(settings) as found, timestamp_authority(settings) as tsa:
        adapters = build_adapters(container, found.urls)
        try:
            worker = build_worker(container, adapters)
            hosts = capture_hosts(settings, found.urls)
            return run_tick(tick_jobs(container, adapters, worker, tsa, hosts))
        finally:
            container.close()


def run_tick_loop(settings: Settings, every_s: float, console: Console) -> None:
    """`tick --every`: a tick at once and then every `every_s` seconds, until SIGTERM or
    Ctrl-C, which let the tick under way finish (a container's own schedule, where no
    CronJob runs it)."""
    container = _container(settings, console)
    stop = threading.Event()
    _stop_on_signals(stop)
    with destinations(settings) as found, timestamp_authority(settings) as tsa:
        adapters = build_adapters(container, found.urls)
        worker = build_worker(container, adapters)
        jobs = tick_jobs(container, adapters, worker, tsa, capture_hosts(settings, found.urls))
        try:
            while not stop.is_set():
                _tick_logging_failure(jobs)
                stop.wait(every_s)
        finally:
            container.close()


def _announce(console: Console, container: Container, host: str, port: int, found: Found) -> None:
    """One `service_started` line in the log, always; the banner for a person only on a
    terminal, so it never lands inside a JSON log. Without a terminal, the demo token
    (development) is written to a file only its owner can read, never to the log."""
    base = f"http://{host}:{port}"
    token_file = None
    if container.demo_token and not console.is_terminal:
        token_file = _write_demo_token(container)
    log.info(
        "service_started",
        url=base,
        docs=f"{base}/docs",
        env=container.settings.env.value,
        pid=os.getpid(),
        destinations={d.value: url for d, url in found.urls.items() if url is not None},
        simulated=sorted(d.value for d in found.simulated),
        archive=container.store.describe(),
        demo_token_file=token_file,
    )
    if console.is_terminal:
        _banner(console, container, base, found)


def _write_demo_token(container: Container) -> str:
    path = container.settings.data_dir / "demo-token"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(f"{container.demo_token}\n")
    return str(path.resolve())


def _banner(console: Console, container: Container, base: str, found: Found) -> None:
    console.print(
        f"[bold]政府信息公开报送服务 Disclosure service[/bold] {base}  (环境 env: {container.settings.env.value})"
    )
    console.print(f"  API 文档 docs: {base}/docs")
    for destination, url in found.urls.items():
        if url is None:
            continue
        note = "  [yellow](模拟器 simulator)[/yellow]" if destination in found.simulated else ""
        console.print(f"  {destination.label_zh} {destination.value}: {url}{note}")
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
