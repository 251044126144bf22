"""What the API is handed by the composition root: the parts its routes use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

from service.archive.packages import Packages
from service.archive.port import ArchiveStore
from service.catalog.ports import (
    AuditLog,
    Captures,
    Deadlines,
    Filings,
    Fixity,
    Outbox,
    PageSessions,
    Replacements,
    Schedules,
    Timestamps,
    Withdrawals,
)
from service.domain.notifications import Recipients
from service.usecases.deadlines import DeadlineBoard
from service.usecases.ingest import Ingest
from service.usecases.proof import ProofSetup
from service.usecases.tokens import Authenticator


class ApiCatalog(
    Filings,
    Outbox,
    AuditLog,
    Fixity,
    Withdrawals,
    Schedules,
    Replacements,
    Deadlines,
    PageSessions,
    Timestamps,
    Captures,
    Protocol,
):
    """What the routes ask of the catalog besides submitting: reading, retrying a failed
    delivery, auditing a download, verifying, withdrawing, moving a release, replacing the
    report a destination holds, the deadline board and exemptions; the pages' sessions
    signed out."""


@dataclass(frozen=True)
class ApiServices:
    ingest: Ingest
    catalog: ApiCatalog
    packages: Packages
    store: ArchiveStore  # for readiness
    tokens: Authenticator  # the pages' sessions ask it too: still_valid(name, digest)
    max_upload_bytes: int
    clock: Callable[[], datetime]
    board: DeadlineBoard  # the deadline board, over the registry of bodies
    proof: ProofSetup  # the timestamps' archive, trusted roots, whether a TSA is configured
    spool_dir: Path | None = None  # this process's own (service.spools); None: the temp dir
    body_idle_timeout_s: float = 30.0  # 408 when no more of a body comes within it
    metrics_on_api: bool = True  # False: /metrics is served on a port of its own
    recipients: Recipients = field(default_factory=Recipients)  # told of a failed verify
    # the destinations whose adapters can take an item down (Capability.WITHDRAW)
    takedown: frozenset[str] = frozenset()
