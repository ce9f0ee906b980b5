"""The Cache port's contract, run against the real Redis server, the memory:// cache and the
FakeCache of the unit suites (whose time is the test clock: `elapse` moves it)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

import fakeredis
import pytest
from redis.asyncio import Redis
from support.fakes import FakeCache, FixedClock

from connector.adapters.redis_cache import RedisCache, create_cache
from connector.domain.ports import Cache

REDIS_URL = "redis://127.0.0.1:6379/0"
# Unique per test run, so a shared server's other keys are never read or deleted.
RUN_PREFIX = f"connector-test-{secrets.token_hex(6)}:"
GONE_WITHIN = 2.0  # seconds a 50 ms key may take to disappear on a slow machine


@dataclass
class Backend:
    """One cache under test, a way to open more caches on the same server, and a way to let
    time pass (the wall clock for servers, the test clock for the fake)."""

    name: str
    cache: Cache
    open_cache: Callable[[str], Cache]
    elapse: Callable[[float], Awaitable[None]] = asyncio.sleep
    opened: list[Cache] = field(default_factory=list)

    def another(self, prefix: str) -> Cache:
        cache = self.open_cache(prefix)
        self.opened.append(cache)
        return cache


async def _delete_run_keys(client: Redis) -> None:
    keys = [key async for key in client.scan_iter(match=f"{RUN_PREFIX}*", count=500)]
    if keys:
        await client.delete(*keys)


async def _require_real_redis(client: Redis) -> None:
    try:
        await client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means the suite cannot do its job
        pytest.fail(
            f"Redis at {REDIS_URL} did not answer PING ({type(exc).__name__}: {exc}); "
            "the cache contract must run against a real server: start it, do not skip",
            pytrace=False,
        )


def _fake_backend(prefix: str) -> Backend:
    clock = FixedClock()
    server: dict[str, tuple[bytes, datetime | None]] = {}

    def on_shared_server(other_prefix: str) -> Cache:
        return FakeCache(clock, prefix=other_prefix, server=server)

    async def elapse(seconds: float) -> None:
        clock.advance(seconds)

    return Backend("fake", on_shared_server(prefix), on_shared_server, elapse)


@pytest.fixture(params=["redis", "memory", "fake"])
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    test_prefix = f"{RUN_PREFIX}{secrets.token_hex(4)}:"
    if request.param == "fake":
        yield _fake_backend(test_prefix)
        return
    if request.param == "redis":
        admin = Redis.from_url(REDIS_URL)
        try:
            await _require_real_redis(admin)
            made = Backend(
                "redis",
                create_cache(REDIS_URL, prefix=test_prefix),
                lambda prefix: create_cache(REDIS_URL, prefix=prefix),
            )
            try:
                yield made
            finally:
                for cache in [made.cache, *made.opened]:
                    await cache.close()
                await _delete_run_keys(admin)
        finally:
            await admin.aclose()
        return
    server = fakeredis.FakeServer()  # shared by `another` caches, to test prefix isolation

    def on_shared_server(prefix: str) -> RedisCache:
        return RedisCache(fakeredis.FakeAsyncRedis(server=server), prefix=prefix)

    made = Backend("memory", create_cache("memory://", prefix=test_prefix), on_shared_server)
    try:
        yield made
    finally:
        for cache in [made.cache, *made.opened]:
            await cache.close()


async def _wait_until_gone(cache: Cache, key: str) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + GONE_WITHIN
    while loop.time() < deadline:
        if await cache.get(key) is None:
            return True
        await asyncio.sleep(0.01)
    return False


@pytest.mark.parametrize("value", [b"\x00\xff", b"", b"plain", bytes(range(256)) * 64])
async def test_set_then_get_returns_the_same_bytes(backend: Backend, value: bytes) -> None:
    await backend.cache.set("k", value)

    stored = await backend.cache.get("k")

    assert stored == value
    assert type(stored) is bytes


async def test_set_replaces_the_previous_value(backend: Backend) -> None:
    await backend.cache.set("k", b"first", ttl=30)
    await backend.cache.set("k", b"second")

    assert await backend.cache.get("k") == b"second"
    assert await backend.cache.ttl("k") is None  # a plain set also replaces the expiry


async def test_get_of_a_missing_key_is_none(backend: Backend) -> None:
    assert await backend.cache.get("never-set") is None


async def test_a_key_set_with_a_fractional_ttl_expires(backend: Backend) -> None:
    await backend.cache.set("short", b"v", ttl=0.05)
    await backend.cache.set("long", b"v", ttl=60)
    await backend.elapse(0.05)

    assert await _wait_until_gone(backend.cache, "short")
    assert await backend.cache.get("long") == b"v"


async def test_ttl_reports_fractional_seconds_left(backend: Backend) -> None:
    await backend.cache.set("k", b"v", ttl=100.75)

    left = await backend.cache.ttl("k")

    # Above 100 proves the fraction was kept (not truncated to whole seconds).
    assert left is not None
    assert 100.0 < left <= 100.75


async def test_ttl_is_none_for_a_missing_key_and_a_key_without_expiry(backend: Backend) -> None:
    await backend.cache.set("forever", b"v")

    assert await backend.cache.ttl("forever") is None
    assert await backend.cache.ttl("missing") is None


async def test_add_stores_only_when_the_key_is_absent(backend: Backend) -> None:
    assert await backend.cache.add("lock", b"owner-1", ttl=30) is True
    assert await backend.cache.add("lock", b"owner-2", ttl=30) is False

    assert await backend.cache.get("lock") == b"owner-1"
    left = await backend.cache.ttl("lock")
    assert left is not None
    assert 0 < left <= 30


async def test_add_succeeds_again_once_the_previous_value_expired(backend: Backend) -> None:
    assert await backend.cache.add("lock", b"old", ttl=0.05)
    await backend.elapse(0.05)
    assert await _wait_until_gone(backend.cache, "lock")

    assert await backend.cache.add("lock", b"new", ttl=30) is True
    assert await backend.cache.get("lock") == b"new"


async def test_concurrent_adds_on_one_key_have_exactly_one_winner(backend: Backend) -> None:
    values = [f"contender-{i}".encode() for i in range(20)]

    results = await asyncio.gather(*(backend.cache.add("lock", v, ttl=30) for v in values))

    winners = [v for v, won in zip(values, results, strict=True) if won]
    assert len(winners) == 1
    assert await backend.cache.get("lock") == winners[0]


async def test_pop_returns_the_value_once_and_removes_it(backend: Backend) -> None:
    await backend.cache.set("state", b"single-use", ttl=30)

    assert await backend.cache.pop("state") == b"single-use"
    assert await backend.cache.pop("state") is None
    assert await backend.cache.get("state") is None


async def test_concurrent_pops_give_the_value_to_exactly_one_caller(backend: Backend) -> None:
    await backend.cache.set("state", b"single-use", ttl=30)

    results = await asyncio.gather(*(backend.cache.pop("state") for _ in range(20)))

    assert [r for r in results if r is not None] == [b"single-use"]


async def test_delete_counts_the_keys_that_existed(backend: Backend) -> None:
    await backend.cache.set("a", b"1")
    await backend.cache.set("b", b"2")

    assert await backend.cache.delete("a", "b", "missing") == 2
    assert await backend.cache.delete("a") == 0
    assert await backend.cache.delete() == 0
    assert await backend.cache.get("a") is None
    assert await backend.cache.get("b") is None


async def test_delete_if_equals_deletes_only_for_the_owner_value(backend: Backend) -> None:
    await backend.cache.set("lock", b"owner", ttl=30)

    assert await backend.cache.delete_if_equals("lock", b"someone-else") is False
    assert await backend.cache.get("lock") == b"owner"
    assert await backend.cache.delete_if_equals("lock", b"owner") is True
    assert await backend.cache.get("lock") is None
    assert await backend.cache.delete_if_equals("lock", b"owner") is False


async def test_prefixes_isolate_two_caches_on_the_same_server(backend: Backend) -> None:
    first = backend.another(f"{RUN_PREFIX}iso-a:")
    second = backend.another(f"{RUN_PREFIX}iso-b:")
    await first.set("k", b"from-a")
    await second.set("k", b"from-b")

    assert await first.get("k") == b"from-a"
    assert await second.get("k") == b"from-b"
    assert await first.delete("k") == 1
    assert await second.get("k") == b"from-b"
    assert await first.add("k", b"again", ttl=30) is True
    assert await second.pop("k") == b"from-b"


async def test_index_due_lists_members_up_to_a_score_lowest_first(backend: Backend) -> None:
    for member, score in (("late", 30.0), ("early", 10.0), ("middle", 20.0), ("never", 99.0)):
        await backend.cache.index_add("ix", member, score)

    assert await backend.cache.index_due("ix", 25.0, limit=10) == ["early", "middle"]
    assert await backend.cache.index_due("ix", 100.0, limit=2) == ["early", "middle"]
    assert await backend.cache.index_due("ix", 5.0, limit=10) == []
    assert await backend.cache.index_due("other", 100.0, limit=10) == []


async def test_index_add_moves_a_member_to_its_new_score(backend: Backend) -> None:
    await backend.cache.index_add("ix", "m", 50.0)
    await backend.cache.index_add("ix", "m", 5.0)

    assert await backend.cache.index_due("ix", 10.0, limit=10) == ["m"]


async def test_index_remove_succeeds_once(backend: Backend) -> None:
    await backend.cache.index_add("ix", "m", 1.0)

    assert await backend.cache.index_remove("ix", "m") is True
    assert await backend.cache.index_remove("ix", "m") is False
    assert await backend.cache.index_due("ix", 10.0, limit=10) == []


async def test_ping_answers_on_a_live_cache(backend: Backend) -> None:
    await backend.cache.ping()

    assert await backend.cache.add("after-ping", b"v", ttl=30) is True


async def test_redis_param_reaches_the_real_server_under_the_prefix() -> None:
    """Guards the suite itself: the `redis` backend is the server on 6379, not an emulator."""
    admin = Redis.from_url(REDIS_URL)
    await _require_real_redis(admin)
    cache = create_cache(REDIS_URL, prefix=f"{RUN_PREFIX}probe:")
    try:
        info = await admin.info("server")
        await cache.set("k", b"seen-by-the-server", ttl=30)

        assert info["tcp_port"] == 6379
        assert "executable" in info  # real redis-server reports its binary; fakeredis does not
        assert await admin.get(f"{RUN_PREFIX}probe:k") == b"seen-by-the-server"
    finally:
        await cache.close()
        await _delete_run_keys(admin)
        await admin.aclose()


async def test_two_memory_caches_are_independent() -> None:
    first = create_cache("memory://")
    second = create_cache("memory://")
    try:
        await first.set("k", b"only-in-first")

        assert await second.get("k") is None
        assert await second.add("k", b"second", ttl=30) is True
        assert await first.get("k") == b"only-in-first"
    finally:
        await first.close()
        await second.close()


async def test_the_fake_cache_expires_by_the_test_clock_not_the_wall_clock() -> None:
    """Guards the suite itself: the `fake` backend follows the clock it was given."""
    clock = FixedClock()
    cache = FakeCache(clock)
    await cache.set("k", b"v", ttl=0.05)
    await asyncio.sleep(0.1)

    assert await cache.get("k") == b"v"  # wall time passed, the test clock did not
    clock.advance(0.05)
    assert await cache.get("k") is None
