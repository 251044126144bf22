"""A small cache of what never changes once written — a filing version's document text,
a write-once WARC's payload digest — kept within a budget, least recently used first out.

    texts = Recent[tuple[str, int], str](budget=8_000_000, weight=len)   # characters
    text = texts.get_or((filing_id, version), lambda: read_text(...))
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    def __init__(self, budget: int, weight: Callable[[V], int] = lambda _: 1) -> None:
        self._budget, self._weight = budget, weight
        self._values: OrderedDict[K, V] = OrderedDict()
        self._used = 0
        self._lock = threading.Lock()

    def get_or(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for `key`, else `make()` kept (unless it alone is over budget)."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()  # outside the lock: reading a document takes a while
        self._keep(key, value)
        return value

    def _keep(self, key: K, value: V) -> None:
        weight = self._weight(value)
        if weight > self._budget:
            return
        with self._lock:
            if key in self._values:
                return
            self._values[key] = value
            self._used += weight
            while self._used > self._budget:
                _, dropped = self._values.popitem(last=False)
                self._used -= self._weight(dropped)
