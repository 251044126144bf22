"""One pass of a delivery worker over a test container's outbox, with given adapters.

run_worker_once(container, {"portal": ScriptedPortal([...])})
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from service.bootstrap import Container
from service.delivery.policy import RetryPolicy
from service.delivery.port import DestinationAdapter
from service.delivery.worker import Worker, WorkerConfig


def run_worker_once(
    container: Container, adapters: Mapping[str, DestinationAdapter], concurrency: int = 1
) -> None:
    config = WorkerConfig(
        "w", concurrency, timedelta(seconds=30), 0.01, RetryPolicy.of_seconds([0], 60)
    )
    Worker(
        catalog=container.catalog,
        packages=container.packages,
        adapters=adapters,
        config=config,
        clock=container.clock,
        reader=container.ingest.checks.reader,
    ).run_once()
