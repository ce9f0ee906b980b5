"""A Redis that freezes (SIGSTOP) or dies (SIGKILL) under the cache path: the circuit breaker
keeps the cost at one socket timeout per retry interval per process, not one per call, and the
outage is one warning, not one per request. A private redis-server plays the cache."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field

import pytest
from support.redis_server import RedisServer, redis_server

from connector.adapters.redis_cache import RedisCache, create_cache
from connector.services.outage_log import OutageLog
from connector.services.single_flight import DistributedLock
from connector.services.tolerant_cache import TolerantCache

SOCKET_TIMEOUT = 0.25  # the production default
PAID = 0.8 * SOCKET_TIMEOUT  # a call this slow waited for the timeout
INTERVAL = 2.0  # the retry interval; the tests move a fake clock past it
LOGGER = "tests.cache_outage"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class CachePath:
    """The cache as the services use it: a tolerant cache and a lock sharing one OutageLog,
    with every call timed."""

    cache: RedisCache
    tolerant: TolerantCache
    lock: DistributedLock
    clock: ManualClock
    durations: list[float] = field(default_factory=list)

    async def timed(self, call: Awaitable[object]) -> object:
        started = time.monotonic()
        try:
            return await call
        finally:
            self.durations.append(time.monotonic() - started)

    async def request(self, user: str = "alice") -> None:
        """What a credentials request does with the cache: a read, then lock and unlock."""
        await self.timed(self.tolerant.get(f"creds:{user}"))
        owner = await self.timed(self.lock.acquire(f"lock:creds:{user}"))
        assert isinstance(owner, str)  # an outage degrades to "acquired"
        await self.timed(self.lock.release(f"lock:creds:{user}", owner))

    def paid(self) -> int:
        """How many calls so far waited for a socket timeout; resets the count."""
        paid = sum(1 for d in self.durations if d >= PAID)
        self.durations.clear()
        return paid


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def _path(url: str, retry_interval: float) -> CachePath:
    clock = ManualClock()
    cache = create_cache(
        url,
        prefix="outage:",
        socket_timeout=SOCKET_TIMEOUT,
        connect_timeout=SOCKET_TIMEOUT,
        retry_interval=retry_interval,
        monotonic=clock,
    )
    outages = OutageLog(monotonic=clock, logger=logging.getLogger(LOGGER))
    return CachePath(
        cache,
        TolerantCache(cache, outages=outages),
        DistributedLock(cache, outages=outages),
        clock,
    )


@pytest.fixture
async def path(redis: RedisServer) -> AsyncIterator[CachePath]:
    made = _path(redis.url, INTERVAL)
    try:
        yield made
    finally:
        redis.thaw()
        await made.cache.close()


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def _messages(logs: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name == LOGGER and r.levelno == level]


async def test_a_frozen_redis_costs_one_timeout_per_interval_not_one_per_call(
    redis: RedisServer, path: CachePath, logs: pytest.LogCaptureFixture
) -> None:
    assert await path.tolerant.set("creds:alice", b"sealed", ttl=60)
    await path.request()
    assert path.paid() == 0

    redis.freeze()
    for _ in range(50):  # 150 cache calls
        await path.request()
    assert path.paid() == 1  # the first; the other 149 skipped the cache at once

    path.clock.now += INTERVAL
    for _ in range(50):
        await path.request()
    assert path.paid() == 1  # one probe per interval

    redis.thaw()
    path.clock.now += INTERVAL
    assert await path.timed(path.tolerant.get("creds:alice")) == b"sealed"  # the probe
    assert not path.cache.skipping
    for _ in range(10):
        await path.request()
    assert path.paid() == 0

    assert len(_messages(logs, logging.WARNING)) == 1  # one outage, one warning
    assert _messages(logs, logging.INFO) == ["cache recovered"]


async def test_without_the_breaker_every_call_pays_the_timeout(redis: RedisServer) -> None:
    """The control of the test above: the same count, with a retry interval of zero."""
    unguarded = _path(redis.url, retry_interval=0.0)
    try:
        await unguarded.request()
        redis.freeze()
        for _ in range(3):
            await unguarded.request()
        assert unguarded.paid() == 9
    finally:
        redis.thaw()
        await unguarded.cache.close()


async def test_concurrent_calls_share_the_timeout_and_only_one_probes(
    redis: RedisServer, path: CachePath
) -> None:
    async def batch(size: int) -> float:
        started = time.monotonic()
        await asyncio.gather(*(path.timed(path.tolerant.get(f"k{i}")) for i in range(size)))
        return time.monotonic() - started

    await batch(5)
    path.paid()
    redis.freeze()

    assert await batch(20) < SOCKET_TIMEOUT + 0.5  # in flight together: one timeout's wait
    assert path.paid() == 20
    assert await batch(20) < PAID  # all skipped
    assert path.paid() == 0
    path.clock.now += INTERVAL
    await batch(20)
    assert path.paid() == 1  # the probe; the 19 others did not wait for it


async def test_a_killed_redis_is_skipped_and_used_again_once_it_is_back(
    redis: RedisServer, path: CachePath, logs: pytest.LogCaptureFixture
) -> None:
    await path.request()
    redis.kill()

    started = time.monotonic()
    for _ in range(100):
        await path.request()
    assert time.monotonic() - started < 1.0
    assert path.cache.skipping

    redis.start()  # empty again, same port
    assert await path.tolerant.set("k", b"v") is False  # still inside the interval: skipped
    path.clock.now += INTERVAL
    assert await path.tolerant.set("k", b"v") is True  # the probe reaches the new server
    assert await path.tolerant.get("k") == b"v"
    assert not path.cache.skipping

    assert len(_messages(logs, logging.WARNING)) == 1
    assert _messages(logs, logging.INFO) == ["cache recovered"]


async def test_a_lock_wait_on_a_frozen_redis_costs_one_timeout(
    redis: RedisServer, path: CachePath
) -> None:
    redis.freeze()
    waits: list[Callable[[], Awaitable[None]]] = [
        lambda: path.lock.wait("lock:refresh:alice") for _ in range(10)
    ]
    for wait in waits:
        await path.timed(wait())  # the cache cannot say: nobody is waited for
    assert path.paid() == 1
