"""What asking the catalog for a token costs each request, against a token from the settings
(held in memory, the baseline), on SQLite and on PostgreSQL (127.0.0.1:5432).

    .venv/bin/python bench/tokens.py [--tokens 1000] [--requests 2000]

The catalog holds `--tokens` tokens (a quarter revoked). In process: microseconds per
`Authenticator.authenticate` for a settings token, a catalog token and an unknown one.
Through the API (`disclosure serve` as a process of its own, API only; one keep-alive
client): milliseconds per `GET /v1/filings/{id}` of a filing that does not exist
(authentication, then one lookup, then 404), with a settings token and with a catalog
token alternating; the difference is what the catalog lookup adds to a request.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.bootstrap import build_container, token_admin  # noqa: E402
from service.domain.access import Role  # noqa: E402
from service.domain.errors import Unauthenticated  # noqa: E402
from service.logs import configure_logging  # noqa: E402
from service.settings import Settings  # noqa: E402
from tests.support.databases import throwaway_postgres  # noqa: E402
from tests.support.servers import base_env, free_port, start_process  # noqa: E402

SETTINGS_TOKEN = "op-7Qk2mZr9Xw4Lp8Vn3Jd6Hs1T"


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.95)]


def _timed(call: Callable[[], object], n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def _unknown(authenticate: Callable[[str], object]) -> Callable[[], object]:
    def call() -> object:
        try:
            return authenticate("dsc_nobody-was-ever-given-this-secret-0000000000")
        except Unauthenticated:
            return None

    return call


def _fill(settings: Settings, count: int) -> str:
    """`count` catalog tokens, a quarter of them revoked; the secret of one that is not."""
    with token_admin(settings) as admin:
        secrets = [
            admin.issue(f"bench-{n:05d}", Role.COMPLIANCE, ["*"], by="bench").secret
            for n in range(count)
        ]
        for n in range(0, count, 4):
            admin.revoke(f"bench-{n:05d}", by="bench")
    return secrets[count // 2 + 1]


def _bench(kind: str, url: str, tokens: int, requests: int, data_dir: Path) -> None:
    grants = [{"name": "ops", "token": SETTINGS_TOKEN, "role": "operator", "orgs": ["*"]}]
    settings = Settings.model_validate(
        {"data_dir": data_dir, "database_url": url, "tokens": grants}
    )
    secret = _fill(settings, tokens)
    container = build_container(settings)
    auth = container.tokens.authenticate
    print(f"\n{kind}: {tokens} catalog tokens")
    _timed(lambda: auth(secret), 50)  # warm: connections, the first last-used write
    for what, call in (
        ("settings token", lambda: auth(SETTINGS_TOKEN)),
        ("catalog token", lambda: auth(secret)),
        ("unknown token", _unknown(auth)),
    ):
        p50, p95 = _percentiles(_timed(call, requests))
        print(f"  in process,  {what:15} p50 {p50 * 1e6:6.0f} µs  p95 {p95 * 1e6:6.0f} µs")
    container.close()
    _through_the_api(settings, secret, requests)


def _through_the_api(settings: Settings, secret: str, requests: int) -> None:
    """`disclosure serve` as a process of its own (API only), as in production; settings and
    catalog tokens alternate, so the machine's other load falls on both alike."""
    headers = {
        what: {"Authorization": f"Bearer {token}"}
        for what, token in (("settings token", SETTINGS_TOKEN), ("catalog token", secret))
    }
    samples: dict[str, list[float]] = {what: [] for what in headers}
    with _serving(settings) as base, httpx.Client(base_url=base, timeout=30) as client:
        for n in range(requests + 50):
            for what, h in headers.items():
                started = time.perf_counter()
                client.get("/v1/filings/fil_missing", headers=h)
                if n >= 50:  # the first are warming up
                    samples[what].append(time.perf_counter() - started)
    medians = {}
    for what, taken in samples.items():
        medians[what], p95 = _percentiles(taken)
        print(
            f"  API request, {what:15} p50 {medians[what] * 1e3:6.2f} ms  p95 {p95 * 1e3:6.2f} ms"
        )
    added = medians["catalog token"] - medians["settings token"]
    print(f"  the catalog lookup adds {added * 1e3:.2f} ms to the median request")


@contextmanager
def _serving(settings: Settings) -> Iterator[str]:
    port = free_port()
    env = base_env(
        DISCLOSURE_DATA_DIR=str(settings.data_dir),
        DISCLOSURE_DATABASE_URL=settings.resolved_database_url,
        DISCLOSURE_TOKENS=json.dumps(
            [{"name": "ops", "token": SETTINGS_TOKEN, "role": "operator", "orgs": ["*"]}]
        ),
        DISCLOSURE_SERVE_WORKER="false",
        DISCLOSURE_TICK_INTERVAL_S="0",
        DISCLOSURE_ROUTES=json.dumps({}),
        DISCLOSURE_PORTAL_URL="http://127.0.0.1:9",  # never called: no worker
        DISCLOSURE_LOG_LEVEL="warning",
    )
    log = settings.data_dir / "serve.log"
    server = start_process(
        ["serve", "--port", str(port)], env, log, f"http://127.0.0.1:{port}/healthz"
    )
    try:
        yield server.url
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    configure_logging("json", "warning")  # not a line per request
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{tmp}/catalog.sqlite3"
            _bench("SQLite", url, args.tokens, args.requests, Path(tmp) / "sqlite")
        if args.only in (None, "postgresql"):
            with throwaway_postgres() as url:
                _bench("PostgreSQL", url, args.tokens, args.requests, Path(tmp) / "pg")


if __name__ == "__main__":
    main()
