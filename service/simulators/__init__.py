"""Runnable fakes of the destinations (the portal; the legal platform later) with fault
injection, for the demo, development mode and end-to-end tests. They know nothing of the
service's internals: each speaks only its contract in `contracts/`.

`run_in_thread` serves any of them as a real HTTP server on a background thread:

    with run_in_thread(create_app(config), "127.0.0.1", 0) as sim:   # port 0: a free port
        httpx.get(f"{sim.url}/_admin/stats")

`tls` serves it over https with uvicorn's ssl_* options (a TSA that asks for a client
certificate: `{"ssl_certfile": …, "ssl_keyfile": …, "ssl_ca_certs": …,
"ssl_cert_reqs": ssl.CERT_REQUIRED}`).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import uvicorn
from starlette.types import ASGIApp

_START_TIMEOUT_S = 10.0


@dataclass
class RunningSimulator:
    url: str
    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout_s: float = 5.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout_s)

    def __enter__(self) -> RunningSimulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def run_in_thread(
    app: ASGIApp, host: str = "127.0.0.1", port: int = 0, *, tls: Mapping[str, Any] | None = None
) -> RunningSimulator:
    """Serve `app` on a daemon thread; return once it accepts connections."""
    # Binding the socket here, not in uvicorn, is how port 0 yields a known port without
    # the race of probing for a free one and binding it again.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say they are TCP;
    # without it every keep-alive response waits ~40 ms on Nagle and delayed ACKs.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    # log_config/log_level None: an embedded simulator must not reconfigure the host
    # process's logging (the service's own uvicorn loggers among it).
    config = uvicorn.Config(
        app, log_config=None, log_level=None, access_log=False, lifespan="off",
        timeout_graceful_shutdown=1, **(tls or {}),
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, daemon=True, name=f"simulator:{port}"
    )
    thread.start()
    _wait_until_started(server, thread)
    bound_port = sock.getsockname()[1]
    netloc = f"[{host}]" if ":" in host else host
    scheme = "https" if tls else "http"
    return RunningSimulator(f"{scheme}://{netloc}:{bound_port}", server, thread)


def _wait_until_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the simulator did not start")
        time.sleep(0.01)
