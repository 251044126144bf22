"""Real servers for tests, on 127.0.0.1: an ASGI app in a thread, or `disclosure` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import uvicorn

DISCLOSURE = str(Path(sys.executable).with_name("disclosure"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(
    url: str, timeout_s: float = 30.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} came up")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} did not come up in {timeout_s} s")


@contextmanager
def app_in_thread(app: Any) -> Iterator[str]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise TimeoutError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Process:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill_hard(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill_hard()

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISCLOSURE_")}
    env.update({"COLUMNS": "250", "DISCLOSURE_LOG_FORMAT": "json"})
    env.update(extra)
    return env


def start_process(
    args: list[str], env: Mapping[str, str], log: Path, health_url: str, timeout_s: float = 60
) -> Process:
    out = log.open("ab")
    proc = subprocess.Popen(
        [DISCLOSURE, *args],
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    parts = urlsplit(health_url)
    process = Process(proc, f"{parts.scheme}://{parts.netloc}", log)
    try:
        wait_until_up(health_url, timeout_s, proc)
    except Exception:
        process.stop()
        raise RuntimeError(f"could not start {args}:\n{process.output()}") from None
    return process


def run_command(
    args: list[str], env: Mapping[str, str], timeout_s: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [DISCLOSURE, *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout_s,
        stdin=subprocess.DEVNULL,
    )


def start_worker(
    env: Mapping[str, str], log: Path, timeout_s: float = 30
) -> subprocess.Popen[bytes]:
    """`disclosure worker` as a process; returns once it has started draining."""
    out = log.open("ab")
    proc = subprocess.Popen(
        [DISCLOSURE, "worker"],
        env=dict(env),
        stdout=out,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout_s
    while "worker_started" not in log.read_text(encoding="utf-8", errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.1)
    return proc
