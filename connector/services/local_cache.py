"""The in-process layer in front of the store and the cache: what every request needs, held in
this process's memory so that a warm request makes no round trip at all."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from connector import metrics

V = TypeVar("V")


class LocalCache(Generic[V]):
    """A bounded LRU of values, each with its own deadline (monotonic seconds).

    No I/O and no await: a hit costs a dict lookup. Staleness is bounded twice: by each
    entry's TTL (what its source allows), and by eviction on cross-replica invalidation
    (`evict`, `clear`), which the invalidation bus delivers.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        monotonic: Callable[[], float] = time.monotonic,
        kind: str = "other",
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        # Bound once: a hit costs one increment, no label lookup.
        self._hit = metrics.CACHE_LOOKUPS.labels("process", kind, "hit")
        self._miss = metrics.CACHE_LOOKUPS.labels("process", kind, "miss")
        self._entries: OrderedDict[str, tuple[V, float]] = OrderedDict()
        self._max = max_entries
        self._monotonic = monotonic
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> V | None:
        """The value while its deadline has not passed, else None (and it is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            self.misses += 1
            self._miss.inc()
            return None
        value, deadline = entry
        if self._monotonic() >= deadline:
            del self._entries[key]
            self.misses += 1
            self._miss.inc()
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        self._hit.inc()
        return value

    def put(self, key: str, value: V, ttl: float) -> None:
        """Hold `value` for `ttl` seconds (nothing is held for a ttl of 0 or less); the least
        recently used entry makes room when the layer is full."""
        if ttl <= 0:
            self._entries.pop(key, None)
            return
        self._entries[key] = (value, self._monotonic() + ttl)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def evict(self, key: str) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
