"""Outage warnings at a bounded rate everywhere: the locks and the single-flight log one WARNING
per interval (saying how many failures they kept quiet about), not one per call, and the
tolerant cache and the locks on one cache share theirs: one outage, one warning."""

from __future__ import annotations

import asyncio
import logging

import pytest
from support.fakes import FakeCache

from connector.errors import UpstreamUnavailableError
from connector.services.outage_log import OutageLog
from connector.services.single_flight import DistributedLock, SingleFlight
from connector.services.tolerant_cache import TolerantCache

LOGGER = "tests.outage_warnings"


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def _messages(logs: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in logs.records if r.name == LOGGER and r.levelno == level]


def _outages(clock: ManualClock) -> OutageLog:
    return OutageLog(interval=60.0, monotonic=clock, logger=logging.getLogger(LOGGER))


async def test_a_lock_on_a_dead_cache_warns_once_per_interval_not_per_call(
    logs: pytest.LogCaptureFixture,
) -> None:
    clock, cache = ManualClock(), FakeCache()
    cache.down = True
    lock = DistributedLock(cache, outages=_outages(clock))

    for _ in range(100):
        owner = await lock.acquire("lock:creds:alice")
        assert owner is not None  # degraded to "acquired"
        await lock.release("lock:creds:alice", owner)
        await lock.wait("lock:creds:alice")
    clock.now += 60
    await lock.acquire("lock:creds:alice")

    warnings = _messages(logs, logging.WARNING)
    assert len(warnings) == 2
    assert warnings[0].startswith("cache unavailable; locks fall back to versioned writes")
    assert "299 more failures since the last warning" in warnings[1]


async def test_one_outage_met_by_the_tolerant_cache_and_the_locks_is_one_warning(
    logs: pytest.LogCaptureFixture,
) -> None:
    clock, cache = ManualClock(), FakeCache()
    outages = _outages(clock)
    tolerant, lock = TolerantCache(cache, outages=outages), DistributedLock(cache, outages=outages)
    cache.down = True

    for _ in range(50):  # a request: read through the cache, lock, unlock
        await tolerant.get("creds:alice")
        owner = await lock.acquire("lock:creds:alice")
        assert owner is not None
        await lock.release("lock:creds:alice", owner)
    cache.down = False
    await tolerant.get("creds:alice")
    await lock.acquire("lock:creds:bob")

    assert len(_messages(logs, logging.WARNING)) == 1
    assert _messages(logs, logging.INFO) == ["cache recovered"]


async def test_failing_refreshes_warn_once_per_interval(logs: pytest.LogCaptureFixture) -> None:
    clock = ManualClock()
    flight: SingleFlight[str] = SingleFlight(failures=_outages(clock))

    async def failing() -> str:
        raise UpstreamUnavailableError("Cognito is unreachable")

    for user in range(30):
        flight.start(f"user-{user}", failing)
        with pytest.raises(UpstreamUnavailableError):
            await flight.run(f"other-{user}", failing)
    await asyncio.sleep(0)  # the background ones finish

    assert _messages(logs, logging.WARNING) == [
        "refresh failed: UpstreamUnavailableError",
    ]

    async def working() -> str:
        return "fresh"

    assert await flight.run("alice", working) == "fresh"
    assert _messages(logs, logging.INFO) == ["refreshes succeed again"]
