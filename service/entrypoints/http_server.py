"""The HTTP server as `serve` runs it: uvicorn, with what it lacks against slow or
too many clients. A client that takes longer than `header_timeout_s` to send a request
line and its headers is cut off; one connection more than `max_connections` is closed as
soon as it opens (so that no crowd of idle sockets uses up the process's file
descriptors); an idle keep-alive connection closes after `keep_alive_s`. The body's own
timeout is the API's (middleware.BodyLimit), which can answer 408 in the envelope.

    AnnouncedServer(server_config(app, limits, host="127.0.0.1", port=8000)).run()
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from types import FrameType
from typing import Any

import structlog
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

log = structlog.get_logger()


@dataclass(frozen=True)
class ServerLimits:
    header_timeout_s: float = 10.0
    keep_alive_s: float = 5.0
    max_connections: int = 1000


def server_config(app: Any, limits: ServerLimits, *, host: str, port: int) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=_guarded(limits),
        timeout_keep_alive=max(1, round(limits.keep_alive_s)),
        limit_concurrency=limits.max_connections,
        log_config=None,
        access_log=False,
    )


def _guarded(limits: ServerLimits) -> type[H11Protocol]:
    class Guarded(GuardedH11Protocol):
        header_timeout_s = limits.header_timeout_s
        max_connections = limits.max_connections

    return Guarded


class GuardedH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with each request's head bounded in time, from the
    connection's first byte (or the end of its previous response) to its last header."""

    header_timeout_s: float = 10.0
    max_connections: int = 1000
    _head_timer: asyncio.TimerHandle | None = None
    _cycle_timed: object = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            log.warning("connection_refused_too_many", connections=len(self.connections))
            transport.close()
            return
        self._arm_head_timer()

    def handle_events(self) -> None:
        super().handle_events()
        if self._head_timer is not None and self.cycle is not self._cycle_timed:
            self._head_timer.cancel()  # the head is in: the request is the app's now
            self._head_timer = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm_head_timer()  # the next request's head, after the keep-alive wait

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
        self._cycle_timed = self.cycle
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a (pipelined) request is being answered: its head came in time
        if not self.transport.is_closing():
            log.info("connection_closed_slow_head", client=str(self.client))
            self.transport.close()


class AnnouncedServer(uvicorn.Server):
    """uvicorn's server, saying in the log which signal stopped it (uvicorn's own lines are
    off: the service logs through structlog). Unlike uvicorn's, it does not raise the
    signal again once it has stopped: that killed `serve` before its worker had finished
    its attempts and released its leases, and before it could log that it had stopped."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        log.info("stopping", signal=signal.Signals(sig).name, draining=not self.should_exit)
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C: stop waiting for open connections
        self.should_exit = True
