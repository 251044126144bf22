"""moto's S3 in server mode, as a separate process on 127.0.0.1 and a free port.

    with moto_server() as server:
        server.endpoint_url          # http://127.0.0.1:PORT
        server.reset()               # drop every bucket (moto keeps all data in RAM)

A process rather than `ThreadedMotoServer`, so that the SDK talks to it over real
sockets from outside the test process and its memory is its own. moto accepts any
credentials.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.ceph import die_with_parent
from tests.support.servers import free_port, wait_until_up

MOTO_SERVER = str(Path(sys.executable).with_name("moto_server"))
ACCESS_KEY = "testing"
SECRET_KEY = "testing"


def moto_missing() -> str | None:
    if shutil.which(MOTO_SERVER) is None:
        return "moto_server is not installed (pip install -e '.[dev]' brings moto[server])"
    return None


@dataclass
class MotoServer:
    endpoint_url: str
    proc: subprocess.Popen[bytes]
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def reset(self) -> None:
        httpx.post(f"{self.endpoint_url}/moto-api/reset", timeout=10).raise_for_status()


@contextmanager
def moto_server(timeout_s: float = 30.0) -> Iterator[MotoServer]:
    port = free_port()
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.monotonic()
            wait_until_up(f"{url}/moto-api/", timeout_s, proc)
            assert time.monotonic() - started < timeout_s
            yield MotoServer(url, proc)
        except Exception:
            log.seek(0)
            sys.stderr.write(log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
