"""The one cache policy: least recently used out first, within a budget, safe across threads.

Posting lists, decoded phrase positions and whole answers are all kept this way; each says
what a value costs (postings, bytes, or one answer) and how much may be held.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """Values by key; the least recently used leave first once their cost passes budget."""

    def __init__(self, budget: int, cost: Callable[[V], int] | None = None, largest: int = 0):
        self.budget = budget
        self.cost = cost or (lambda value: 1)
        # A value costing more than this is not kept at all (0: up to the whole budget).
        self.largest = largest or budget
        self.held = 0
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: K) -> bool:
        return key in self._items

    def get(self, key: K) -> V | None:
        """The value kept for key (now the most recently used), or None."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        """Keep value for key, unless it alone costs more than the largest allowed."""
        cost = self.cost(value)
        if cost > self.largest or self.budget <= 0:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self.held -= self.cost(old)
            self._items[key] = value
            self.held += cost
            while self.held > self.budget and len(self._items) > 1:
                _, gone = self._items.popitem(last=False)
                self.held -= self.cost(gone)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()
            self.held = 0
