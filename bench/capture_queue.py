"""What a tick pays to queue new captures once many publications were delivered:
`enqueue_captures` on a SQLite catalog holding `--deliveries` delivered publications,
every one captured already, then one more delivered.

    .venv/bin/python bench/capture_queue.py [--deliveries 5000]

Prints milliseconds of CPU (median of 20 calls) of a scan of every delivery (what every
tick paid before the scan was bounded, and a process's first tick still pays) and of a
scan of what was delivered since the last one (each later tick).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.catalog.database import make_engine, make_sessions, migrate  # noqa: E402
from service.catalog.sql import SqlCatalog  # noqa: E402
from service.domain.filing import DeliveryStatus  # noqa: E402
from tests.integration.test_catalog import _attempt, _submit, _token  # noqa: E402
from tests.integration.test_catalog_captures import LEASE  # noqa: E402
from tests.support.clock import FakeClock  # noqa: E402


def _deliver(catalog: SqlCatalog, n: int) -> None:
    _submit(catalog)
    [delivery] = catalog.claim_due_deliveries("bench", 10, LEASE)
    receipt = {"article_id": f"art_{n}", "url": f"http://127.0.0.1:9/fzzfjs/art_{n}.html"}
    assert catalog.finish_attempt(
        delivery.id, _token(delivery), _attempt(), status=DeliveryStatus.DELIVERED,
        next_attempt_at=None, receipt=receipt,
    )  # fmt: skip


def _median_ms(catalog: SqlCatalog, *, whole: bool) -> float:
    spent = []
    for _ in range(20):
        if whole:
            catalog._captures_scanned_from = None  # as a process's first tick
        start = time.thread_time()
        catalog.enqueue_captures({"portal"}, 20)
        spent.append((time.thread_time() - start) * 1000)
    return statistics.median(spent)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=5000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'catalog.sqlite3'}"
        migrate(url)
        clock = FakeClock()
        catalog = SqlCatalog(make_sessions(make_engine(url)), clock=clock)
        for n in range(args.deliveries):
            _deliver(catalog, n)
            clock.advance(60)
        while catalog.enqueue_captures({"portal"}, 1000):
            pass
        _deliver(catalog, args.deliveries)
        assert catalog.enqueue_captures({"portal"}, 20) == 1
        whole = _median_ms(catalog, whole=True)
        clock.advance(2 * 3600)
        since = _median_ms(catalog, whole=False)
    print(f"delivered publications: {args.deliveries + 1}, every one captured")
    print(f"enqueue_captures scanning every delivery: {whole:.2f} ms CPU")
    print(f"enqueue_captures scanning those since the last scan: {since:.2f} ms CPU")


if __name__ == "__main__":
    main()
