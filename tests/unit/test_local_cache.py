"""The in-process layer: bounded, each entry no older than its TTL, evicted on demand."""

from __future__ import annotations

import pytest

from connector.services.local_cache import LocalCache
from connector.services.process_layer import ProcessLayer


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_entry_lives_for_its_ttl_and_not_a_moment_longer() -> None:
    ticker = Ticker()
    cache: LocalCache[str] = LocalCache(max_entries=4, monotonic=ticker)
    cache.put("k", "v", ttl=5)
    ticker.now += 4.999
    assert cache.get("k") == "v"
    ticker.now += 0.001
    assert cache.get("k") is None
    assert len(cache) == 0
    assert (cache.hits, cache.misses) == (1, 1)


def test_the_least_recently_used_entry_makes_room() -> None:
    cache: LocalCache[int] = LocalCache(max_entries=2)
    cache.put("a", 1, ttl=60)
    cache.put("b", 2, ttl=60)
    assert cache.get("a") == 1  # a is now the most recently used
    cache.put("c", 3, ttl=60)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == 2


def test_a_non_positive_ttl_holds_nothing_and_drops_what_was_there() -> None:
    cache: LocalCache[int] = LocalCache(max_entries=2)
    cache.put("a", 1, ttl=60)
    cache.put("a", 2, ttl=0)
    assert cache.get("a") is None


def test_a_layer_needs_room_for_one_entry() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LocalCache(max_entries=0)


async def test_the_layer_evicts_by_name_and_flushes_everything_when_told() -> None:
    layer = ProcessLayer()
    layer.keys.put("key:1", object(), 60)  # type: ignore[arg-type]
    layer.connections.put("conn:alice", object(), 60)  # type: ignore[arg-type]
    layer.connections.put("conn:bob", object(), 60)  # type: ignore[arg-type]

    layer.evict("conn:alice")
    layer.evict("unknown:kind")
    assert layer.connections.get("conn:alice") is None
    assert layer.connections.get("conn:bob") is not None
    await layer.invalidate("key:1")  # without a bus: evicted here, nowhere else to tell
    assert layer.keys.get("key:1") is None

    layer.clear()
    assert layer.connections.get("conn:bob") is None
    assert layer.flushes == 1
