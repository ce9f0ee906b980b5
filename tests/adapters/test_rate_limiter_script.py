"""The rate limiter's one script on Redis: sent by its SHA-1, loaded again when Redis has
forgotten it (a restart, SCRIPT FLUSH), and never counting a hit twice on the way."""

from __future__ import annotations

import fakeredis
from redis.asyncio import ConnectionPool

from connector.adapters.rate_limiter import redis_rate_limiter
from connector.domain.rate_limits import Counter, Rate

RATE = Rate(amount=10, seconds=60)


def _clock() -> float:
    return 1_699_920_000.25


async def test_a_flushed_script_is_loaded_again_and_the_hit_counted_once() -> None:
    client = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer())
    pool = client.connection_pool
    assert isinstance(pool, ConnectionPool)
    limiter = redis_rate_limiter(pool, prefix="t:ratelimit", clock=_clock)
    counters = [Counter("key:k1", RATE, "key"), Counter("user:k1:alice", RATE, "user")]
    try:
        first = await limiter.hit(counters)
        await client.script_flush()
        second = await limiter.hit(counters)
        third = await limiter.hit(counters)
    finally:
        await limiter.close()
    assert [u.used for u in first] == [1, 1]
    assert [u.used for u in second] == [2, 2]
    assert [u.used for u in third] == [3, 3]
