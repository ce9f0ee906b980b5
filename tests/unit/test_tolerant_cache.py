"""TolerantCache: outages fall through quietly, are logged once per interval, bugs propagate."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest

from connector.errors import CacheUnavailableError
from connector.services.tolerant_cache import TolerantCache

LOGGER = "tests.tolerant_cache"
WARNING_TEXT = "cache unavailable; serving from the database"


class SwitchableCache:
    """A dict-backed Cache; `down` fails like an unreachable Redis, `broken` like a bug."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}
        self.ttls: dict[str, float | None] = {}
        self.down = False
        self.broken: Exception | None = None

    def _check(self) -> None:
        if self.broken is not None:
            raise self.broken
        if self.down:
            try:
                raise ConnectionRefusedError("Connection refused")
            except ConnectionRefusedError as exc:
                raise CacheUnavailableError("cache unavailable") from exc

    async def get(self, key: str) -> bytes | None:
        self._check()
        return self.data.get(key)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        self._check()
        self.data[key] = value
        self.ttls[key] = ttl

    async def add(self, key: str, value: bytes, *, ttl: float) -> bool:
        self._check()
        if key in self.data:
            return False
        await self.set(key, value, ttl=ttl)
        return True

    async def pop(self, key: str) -> bytes | None:
        self._check()
        return self.data.pop(key, None)

    async def delete(self, *keys: str) -> int:
        self._check()
        return sum(self.data.pop(k, None) is not None for k in keys)

    async def delete_if_equals(self, key: str, value: bytes) -> bool:
        self._check()
        if self.data.get(key) == value:
            del self.data[key]
            return True
        return False

    async def ttl(self, key: str) -> float | None:
        self._check()
        return self.ttls.get(key) if key in self.data else None

    async def ping(self) -> None:
        self._check()

    async def close(self) -> None:
        return None


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def inner() -> SwitchableCache:
    return SwitchableCache()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cache(inner: SwitchableCache, clock: ManualClock) -> TolerantCache:
    return TolerantCache(
        inner, log_interval=60.0, monotonic=clock, logger=logging.getLogger(LOGGER)
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def _messages(logs: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name == LOGGER and r.levelno == level]


async def test_a_healthy_cache_passes_reads_writes_and_deletes_through(
    cache: TolerantCache, inner: SwitchableCache
) -> None:
    assert await cache.set("k", b"v", ttl=30) is True
    assert inner.data["k"] == b"v"
    assert inner.ttls["k"] == 30
    assert await cache.get("k") == b"v"
    assert await cache.delete("k", "missing") is True
    assert "k" not in inner.data
    assert await cache.get("k") is None


async def test_an_empty_value_is_a_hit_not_a_miss(
    cache: TolerantCache, inner: SwitchableCache
) -> None:
    inner.data["k"] = b""

    assert await cache.get("k") == b""


async def test_an_unavailable_cache_reads_none_and_reports_failed_writes(
    cache: TolerantCache, inner: SwitchableCache
) -> None:
    inner.data["cached"] = b"stale-or-not, unreachable anyway"
    inner.down = True

    assert await cache.get("cached") is None
    assert await cache.set("new", b"v") is False
    assert await cache.delete("cached") is False

    inner.down = False
    assert "new" not in inner.data
    assert inner.data["cached"] == b"stale-or-not, unreachable anyway"


async def test_healthy_follows_the_last_operation(
    cache: TolerantCache, inner: SwitchableCache
) -> None:
    assert cache.healthy is True

    inner.down = True
    await cache.get("k")
    assert cache.healthy is False

    inner.down = False
    await cache.set("k", b"v")
    assert cache.healthy is True


async def test_many_failures_in_one_interval_log_one_warning(
    cache: TolerantCache, inner: SwitchableCache, clock: ManualClock, logs: pytest.LogCaptureFixture
) -> None:
    inner.down = True
    operations: list[Callable[[], Awaitable[object]]] = [
        lambda: cache.get("k"),
        lambda: cache.set("k", b"v"),
        lambda: cache.delete("k"),
    ]

    for i in range(100):
        clock.now += 0.5  # 50 s in all: still inside the 60 s interval
        await operations[i % 3]()

    warnings = _messages(logs, logging.WARNING)
    assert len(warnings) == 1
    assert warnings[0].startswith(WARNING_TEXT)
    assert "ConnectionRefusedError: Connection refused" in warnings[0]


async def test_the_next_interval_warns_again_with_the_suppressed_count(
    cache: TolerantCache, inner: SwitchableCache, clock: ManualClock, logs: pytest.LogCaptureFixture
) -> None:
    inner.down = True
    for _ in range(100):
        await cache.get("k")

    clock.now += 60.0
    await cache.get("k")
    await cache.get("k")

    warnings = _messages(logs, logging.WARNING)
    assert len(warnings) == 2
    assert warnings[1].startswith(WARNING_TEXT)
    assert "99 more failures since the last warning" in warnings[1]


async def test_the_first_success_after_an_outage_logs_recovery_once(
    cache: TolerantCache, inner: SwitchableCache, logs: pytest.LogCaptureFixture
) -> None:
    inner.down = True
    await cache.get("k")
    inner.down = False

    assert await cache.set("k", b"v") is True
    await cache.get("k")
    await cache.delete("k")

    assert _messages(logs, logging.INFO) == ["cache recovered"]
    assert len(_messages(logs, logging.WARNING)) == 1


async def test_a_flapping_cache_logs_at_most_one_warning_and_one_recovery_per_interval(
    cache: TolerantCache, inner: SwitchableCache, clock: ManualClock, logs: pytest.LogCaptureFixture
) -> None:
    for _ in range(50):
        clock.now += 1.0
        inner.down = not inner.down
        await cache.get("k")

    assert len(_messages(logs, logging.WARNING)) == 1
    assert _messages(logs, logging.INFO) == ["cache recovered"]


async def test_no_recovery_is_logged_when_nothing_failed(
    cache: TolerantCache, logs: pytest.LogCaptureFixture
) -> None:
    await cache.set("k", b"v")
    await cache.get("k")

    assert logs.records == []


@pytest.mark.parametrize("operation", ["get", "set", "delete"])
async def test_an_error_that_is_not_an_outage_is_not_swallowed(
    cache: TolerantCache, inner: SwitchableCache, operation: str
) -> None:
    inner.broken = RuntimeError("a bug in the adapter")
    calls: dict[str, Callable[[], Awaitable[object]]] = {
        "get": lambda: cache.get("k"),
        "set": lambda: cache.set("k", b"v"),
        "delete": lambda: cache.delete("k"),
    }

    with pytest.raises(RuntimeError, match="a bug in the adapter"):
        await calls[operation]()


async def test_raw_is_the_wrapped_cache_and_its_failures_reach_the_caller(
    cache: TolerantCache, inner: SwitchableCache
) -> None:
    inner.down = True

    assert cache.raw is inner
    with pytest.raises(CacheUnavailableError):
        await cache.raw.add("lock", b"owner", ttl=10)
