"""A time-stamping authority on 127.0.0.1 for tests: the service's own TSA simulator as a
real HTTP server, with a switch to take it down, and `openssl ts -verify` on a token."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.simulators import run_in_thread
from service.simulators.tsa import Authority, Switch, create_app


@dataclass
class RunningTsa:
    url: str
    authority: Authority
    switch: Switch


@contextmanager
def running_tsa(
    authority: Authority | None = None, *, tls: Mapping[str, Any] | None = None
) -> Iterator[RunningTsa]:
    """`tls`: served over https with uvicorn's ssl_* options (service.simulators)."""
    found = authority or Authority.create()
    switch = Switch()
    with run_in_thread(create_app(found, switch), tls=tls) as sim:
        yield RunningTsa(sim.url + "/", found, switch)


def openssl_verify(data: bytes, token: bytes, authority: Authority, work: Path) -> str:
    """`openssl ts -verify` of `token` over `data`, trusting the authority's root; its
    output (it says `Verification: OK`), or raises with what it said."""
    work.mkdir(parents=True, exist_ok=True)
    files = {
        "data": data,
        "x.tsr": token,
        "root.pem": authority.root_pem,
        "tsa.pem": authority.tsa_pem,
    }
    for name, content in files.items():
        (work / name).write_bytes(content)
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-data", "data", "-in", "x.tsr",
         "-CAfile", "root.pem", "-untrusted", "tsa.pem"],
        cwd=work, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise AssertionError(f"openssl ts -verify refused: {done.stdout}{done.stderr}")
    return done.stdout
