"""For tests that run a command in-process (typer's CliRunner): the command configures
logging onto the runner's streams, which close after its run; what the rest of the session
logs through is put back, or every later log line in that process fails."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import structlog


@contextmanager
def logging_kept() -> Iterator[None]:
    config, handlers = structlog.get_config(), logging.root.handlers[:]
    try:
        yield
    finally:
        structlog.configure(**config)
        logging.root.handlers[:] = handlers
