"""The simulated platform's clock: what its tokens, daily quotas, publish jobs and
clientmsgids go by, so a test can move it (to Beijing midnight, past a job's delay)
instead of sleeping."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from service.domain.time import SHANGHAI


class SimClock:
    """The platform's clock (epoch seconds): real time moved by an offset, or frozen."""

    def __init__(self, start: float | None = None, wall: Callable[[], float] = time.time) -> None:
        self._wall = wall
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start - wall()
        self._frozen: float | None = None

    def now(self) -> float:
        with self._lock:
            return self._frozen if self._frozen is not None else self._wall() + self._offset

    def set(self, epoch: float) -> None:
        with self._lock:
            if self._frozen is not None:
                self._frozen = epoch
            else:
                self._offset = epoch - self._wall()

    def advance(self, seconds: float) -> None:
        self.set(self.now() + seconds)

    def freeze(self, frozen: bool) -> None:
        now = self.now()
        with self._lock:
            self._frozen = now if frozen else None
            self._offset = now - self._wall()

    @property
    def frozen(self) -> bool:
        return self._frozen is not None

    def snapshot(self) -> dict[str, Any]:
        now = self.now()
        moment = datetime.fromtimestamp(now, SHANGHAI)
        return {"now": moment.isoformat(), "epoch": now, "frozen": self.frozen,
                "shanghai_date": moment.date().isoformat()}  # fmt: skip


def shanghai_day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, SHANGHAI).date().isoformat()
