"""Sign-in attempts per client address: at most N in any 60 seconds (等保 2.0 practice:
a token cannot be guessed at speed from one address)."""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

WINDOW = timedelta(minutes=1)
MAX_ADDRESSES = 10_000  # bounds the memory a flood of addresses can take


class SignInThrottle:
    """Counts every attempt, good or bad, in a sliding minute per address."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._attempts: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def allow(self, address: str, now: datetime) -> bool:
        """Record an attempt from `address` at `now`; False when it is one too many."""
        with self._lock:
            recent = self._recent(address, now)
            if len(recent) >= self.per_minute:
                return False
            recent.append(now)
            return True

    def _recent(self, address: str, now: datetime) -> deque[datetime]:
        if address not in self._attempts and len(self._attempts) >= MAX_ADDRESSES:
            self._forget_idle(now)
        recent = self._attempts.setdefault(address, deque())
        while recent and now - recent[0] >= WINDOW:
            recent.popleft()
        return recent

    def _forget_idle(self, now: datetime) -> None:
        for address in [
            a for a, seen in self._attempts.items() if not seen or now - seen[-1] >= WINDOW
        ]:
            del self._attempts[address]
