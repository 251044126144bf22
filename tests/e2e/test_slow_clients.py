"""Slow and crowding clients against `disclosure serve` (issue 11): connections that
dribble their headers are cut off, a stalled body is answered 408, connections beyond
the limit are closed as they open — and /healthz answers all the while."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.bodies import write_registry
from tests.support.servers import Process, base_env, free_port, start_process

pytestmark = pytest.mark.e2e

TOKEN = "demo-slow-clients-token"
HEADER_TIMEOUT_S = 1.0
MAX_CONNECTIONS = 40


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[Process, int]]:
    port = free_port()
    env = base_env(
        DISCLOSURE_DATA_DIR=str(tmp_path / "var"),
        DISCLOSURE_DEMO_TOKEN=TOKEN,
        DISCLOSURE_ORGS_FILE=str(write_registry(tmp_path)),
        DISCLOSURE_HTTP_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S),
        DISCLOSURE_HTTP_BODY_IDLE_TIMEOUT_S="1",
        DISCLOSURE_HTTP_MAX_CONNECTIONS=str(MAX_CONNECTIONS),
    )
    process = start_process(
        ["serve", "--port", str(port)],
        env,
        tmp_path / "serve.log",
        f"http://127.0.0.1:{port}/healthz",
    )
    yield process, port
    process.stop()


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=5)


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def test_clients_dribbling_their_headers_are_cut_off_and_health_answers_meanwhile(
    serve: tuple[Process, int],
) -> None:
    _, port = serve
    slow = [_connect(port) for _ in range(MAX_CONNECTIONS // 2)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end
    try:
        started = time.monotonic()
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
        assert all(_closed_by_server(sock, within_s=5) for sock in slow)
        assert time.monotonic() - started < HEADER_TIMEOUT_S + 4
    finally:
        for sock in slow:
            sock.close()


def test_a_stalled_body_is_answered_408_in_the_envelope(serve: tuple[Process, int]) -> None:
    _, port = serve
    with _connect(port) as sock:
        sock.sendall(
            b"POST /v1/validations HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + f"Authorization: Bearer {TOKEN}\r\n".encode()
            + b"Content-Type: multipart/form-data; boundary=xyz\r\n"
            + b"Content-Length: 100000\r\n\r\n--xyz\r\n"
        )
        sock.settimeout(10)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b"x-request-id" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"


def test_connections_beyond_the_limit_are_closed_as_they_open(
    serve: tuple[Process, int],
) -> None:
    _, port = serve
    crowd = [_connect(port) for _ in range(MAX_CONNECTIONS + 10)]
    try:
        refused = [sock for sock in crowd if _closed_by_server(sock, within_s=0.5)]
        assert len(refused) >= 10  # the ones over the limit, at once
    finally:
        for sock in crowd:
            sock.close()
    time.sleep(0.2)
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
