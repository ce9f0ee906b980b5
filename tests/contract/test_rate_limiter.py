"""The RateLimiter contract, run against every adapter: `limits` on the real Redis, on
fakeredis and in process (memory://), and the fake the unit suites use. Several limiters on
one backend play several replicas (in process there is one: memory:// is one process)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import fakeredis
import pytest
from redis.asyncio import ConnectionPool
from support.fakes import FakeRateLimiter

from connector.adapters.rate_limiter import (
    LimitsRateLimiter,
    create_rate_limiter,
    redis_rate_limiter,
)
from connector.domain.rate_limits import Counter, Rate, window_of

REDIS_URL = "redis://127.0.0.1:6379/0"
PATIENT = 3.0
BACKENDS = ("redis", "fakeredis", "memory", "fake")
Replica = Callable[[], LimitsRateLimiter | FakeRateLimiter]


class Clock:
    """Seconds since the epoch, moved by the test (windows are aligned to it)."""

    def __init__(self) -> None:
        self.now = 1_699_920_000.25  # 0.25 s into a minute, an hour and a day (UTC)

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=BACKENDS)
async def replica(
    request: pytest.FixtureRequest, clock: Clock, redis_prefix: str
) -> AsyncIterator[Replica]:
    """`replica()`: one more limiter on the test's backend (the same one, in process)."""
    async with AsyncExitStack() as stack:
        server = fakeredis.FakeServer()
        single: list[LimitsRateLimiter] = []
        fake_counts: dict[tuple[str, int, int, int], int] = {}

        def make() -> LimitsRateLimiter | FakeRateLimiter:
            if request.param == "fake":
                return FakeRateLimiter(clock, counts=fake_counts)
            if request.param == "memory":
                if not single:
                    single.append(create_rate_limiter("memory://", clock=clock))
                    stack.push_async_callback(single[0].close)
                return single[0]
            if request.param == "redis":
                # Patient timeouts: the contract is about counts (tests/faults bounds latency),
                # and the shared Redis of a busy machine may exceed the production 0.25 s.
                made = create_rate_limiter(
                    REDIS_URL,
                    prefix=redis_prefix,
                    clock=clock,
                    socket_timeout=PATIENT,
                    connect_timeout=PATIENT,
                )
            else:
                pool = fakeredis.FakeAsyncRedis(server=server).connection_pool
                assert isinstance(pool, ConnectionPool)
                made = redis_rate_limiter(pool, prefix=f"{redis_prefix}ratelimit", clock=clock)
            stack.push_async_callback(made.close)
            return made

        yield make


def counter(name: str = "key:k1:read", amount: int = 3, seconds: int = 60) -> Counter:
    return Counter(name=f"{name}:{secrets.token_hex(4)}", rate=Rate(amount, seconds), policy="p")


async def test_hits_count_up_and_past_the_amount_are_refused(replica: Replica) -> None:
    limiter, c = replica(), counter(amount=3)
    usages = [(await limiter.hit([c]))[0] for _ in range(5)]
    assert [u.used for u in usages] == [1, 2, 3, 4, 5]
    assert [u.admitted for u in usages] == [True, True, True, False, False]
    assert [u.remaining for u in usages] == [2, 1, 0, 0, 0]


async def test_each_counter_of_a_hit_is_counted_even_when_another_is_over(
    replica: Replica,
) -> None:
    limiter, tight, loose = replica(), counter(amount=1), counter(amount=10)
    first = await limiter.hit([tight, loose])
    second = await limiter.hit([tight, loose])
    assert [u.used for u in first] == [1, 1]
    assert [(u.counter, u.used, u.admitted) for u in second] == [
        (tight, 2, False),
        (loose, 2, True),
    ]


async def test_counters_of_other_names_or_rates_never_share_a_count(replica: Replica) -> None:
    limiter, c = replica(), counter(amount=5)
    other_rate = Counter(name=c.name, rate=Rate(6, 60), policy="p")
    await limiter.hit([c])
    await limiter.hit([c])
    assert (await limiter.hit([counter(amount=5)]))[0].used == 1
    assert (await limiter.hit([other_rate]))[0].used == 1


async def test_a_window_is_aligned_to_the_clock_and_starts_again_from_zero(
    replica: Replica, clock: Clock
) -> None:
    limiter, c = replica(), counter(amount=2, seconds=60)
    clock.now = 1_699_920_040.0  # 40 s into a minute
    [first] = await limiter.hit([c])
    assert first.reset_after == pytest.approx(20.0)
    assert first.reset_seconds == 20
    await limiter.hit([c])
    clock.now += 19.5
    [late] = await limiter.hit([c])
    assert (late.used, late.admitted, late.reset_seconds) == (3, False, 1)
    clock.now += 0.5  # the next minute
    [fresh] = await limiter.hit([c])
    assert (fresh.used, fresh.admitted) == (1, True)
    assert fresh.reset_after == pytest.approx(60.0)
    assert window_of(c.rate, clock.now) == (int(clock.now // 60), pytest.approx(60.0))


async def test_concurrent_hits_from_several_replicas_are_never_lost(replica: Replica) -> None:
    replicas, c = [replica() for _ in range(3)], counter(amount=50)
    usages = await asyncio.gather(*(replicas[n % 3].hit([c]) for n in range(120)))
    counts = sorted(u[0].used for u in usages)
    assert counts == list(range(1, 121))  # every hit counted once: no read-then-write
    assert sum(u[0].admitted for u in usages) == 50
