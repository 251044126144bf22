"""Fakes for delivery: a scripted destination, a journal that records, sleeps that
do not sleep."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from service.delivery.port import DeliveryJob, Journal, Outcome
from service.domain.destinations import Capability


@dataclass
class ScriptedPortal:
    """A fake destination that answers from a script and remembers the jobs it saw."""

    outcomes: list[Outcome]
    save: Mapping[str, Any] | None = None
    destination: str = "portal"
    jobs: list[DeliveryJob] = field(default_factory=list)
    capabilities: frozenset[Capability] = frozenset({Capability.PARAGRAPHS})

    def deliver(self, job: DeliveryJob, journal: Journal) -> Outcome:
        self.jobs.append(job)
        if self.save is not None:
            journal.save(self.save)
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome


class RecordingJournal:
    """A `Journal` that keeps every state saved, in order."""

    def __init__(self) -> None:
        self.saves: list[dict[str, Any]] = []

    def save(self, state: Mapping[str, Any]) -> None:
        self.saves.append(copy.deepcopy(dict(state)))

    @property
    def state(self) -> dict[str, Any]:
        return self.saves[-1] if self.saves else {}


class Sleeps:
    """A `sleep` that records how long it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
