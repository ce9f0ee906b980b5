"""The RateLimiter port on the `limits` library: its Redis storage (on redis-py asyncio) for
redis:// caches, its in-process storage for memory://.

Each counter is one `limits` fixed-window counter whose key names its clock-aligned window, so
a hit is an atomic INCRBY-and-EXPIRE (never a read then a write; `limits`' own script, per key)
and the window's reset is known without asking Redis. On Redis the counters of one hit go to
one Lua script over all their keys: one command and one round trip per request, and all of its
counters or none (a script runs atomically).
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import time
from collections.abc import Callable, Sequence
from typing import Any

import redis.exceptions
from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.storage.redis.bridge import RedisBridge
from limits.aio.storage.redis.redispy import RedispyBridge
from prometheus_client import Counter as PrometheusCounter
from redis.asyncio import ConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from connector.adapters.circuit_breaker import Admission, CircuitBreaker
from connector.domain.rate_limits import Counter, Rate, Usage, window_of
from connector.errors import CacheUnavailableError, ConfigurationError

RATE_LIMIT_NAMESPACE = "ratelimit"
"""Keys are `<cache prefix>ratelimit:…`: apart from the cache's, and easy to tell in Redis."""

UNCHECKED_METRIC = PrometheusCounter(
    "connector_rate_limits_unchecked",
    "Limit checks skipped (the request or Cognito call passed) because the store did not answer",
    ["check"],
)

# What "the store did not answer" looks like (as in redis_cache: a replica that refuses writes
# during a failover is an outage too).
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    TimeoutError,
    OSError,
)


class LimitsRateLimiter:
    """The RateLimiter port over one `limits` async storage.

    Calls are bounded by `deadline` whatever the storage does; after a call the store did not
    answer, calls are refused at once for `retry_interval` seconds, then one probes it (the
    circuit breaker the cache uses): a dead Redis costs one timeout per interval per process.
    """

    def __init__(
        self,
        storage: MemoryStorage | RedisStorage,
        *,
        deadline: float = 1.0,
        retry_interval: float = 2.0,
        pool: ConnectionPool | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._storage = storage
        self._transaction = (
            _Transaction(storage.bridge) if isinstance(storage, RedisStorage) else None
        )
        self._deadline = deadline
        self._pool = pool
        self._clock = clock
        self._breaker = CircuitBreaker(retry_interval, monotonic=monotonic)

    async def hit(self, counters: Sequence[Counter]) -> list[Usage]:
        """One more unit on each counter; their usage after it."""
        admission = self._breaker.admit()
        if admission is Admission.REFUSED:
            raise CacheUnavailableError("rate-limit store unavailable (skipped after a failure)")
        now = self._clock()
        keys = [_key_of(c, now) for c in counters]
        try:
            if self._transaction is None:  # in process: nothing to wait for
                counts = [await self._storage.incr(key, expiry) for key, expiry in keys]
            else:
                async with asyncio.timeout(self._deadline):
                    counts = await self._transaction.incr(keys)
        except _UNAVAILABLE as exc:
            self._breaker.failed()
            raise CacheUnavailableError("rate-limit store unavailable") from exc
        except Exception:
            self._breaker.succeeded()  # an error answer: the server is there
            raise
        except BaseException:
            self._breaker.abandoned(admission)
            raise
        self._breaker.succeeded()
        return [
            Usage(counter=c, used=used, reset_after=window_of(c.rate, now)[1])
            for c, used in zip(counters, counts, strict=True)
        ]

    async def close(self) -> None:
        """Release the pool (Redis), or drop the counters (in process)."""
        if self._pool is not None:
            await self._pool.aclose()
        elif isinstance(self._storage, MemoryStorage):
            await self._storage.reset()


@functools.lru_cache(maxsize=256)
def _item(rate: Rate) -> RateLimitItemPerSecond:
    """`limits`' item for a rate (a handful of rates are configured: built once each)."""
    return RateLimitItemPerSecond(rate.amount, rate.seconds)


def _key_of(counter: Counter, now: float) -> tuple[str, int]:
    """`limits`' key of the counter's current window, and the expiry the key gets."""
    item = _item(counter.rate)
    window, _ = window_of(counter.rate, now)
    return item.key_for(counter.name, str(window)), item.get_expiry()


# `limits`' INCRBY-and-EXPIRE script (RedisBridge.SCRIPT_INCR_EXPIRE) applied to every key of
# a hit: KEYS are the counters, ARGV their expiries; the answer is their counts, in order.
_INCR_EXPIRE_ALL = """
local counts = {}
for i, key in ipairs(KEYS) do
    local current = redis.call("incrby", key, 1)
    if tonumber(current) == 1 then
        redis.call("expire", key, ARGV[i])
    end
    counts[i] = current
end
return counts
"""

# Redis names a loaded script by the SHA-1 of its text.
_INCR_EXPIRE_ALL_SHA = hashlib.sha1(_INCR_EXPIRE_ALL.encode()).hexdigest()  # noqa: S324


class _Transaction:
    """One script call for all the counters of a hit, on the storage's keys. It goes as
    EVALSHA: the script's text is not sent per request, and a NOSCRIPT answer (a restarted
    Redis) means nothing ran, so loading it and calling again counts no counter twice.
    Profiled: a MULTI/EXEC of one EVAL per counter cost ~40 % of a warm request's samples,
    mostly in redis-py packing and parsing its replies; then redis-py's `Script.__call__`
    ~12 % of a served request's (an `isinstance` against its Pipeline, a Protocol subclass,
    on every call), hence EVALSHA called here."""

    def __init__(self, bridge: RedisBridge) -> None:
        client = bridge.get_connection() if isinstance(bridge, RedispyBridge) else None
        if not isinstance(client, Redis):
            raise TypeError("rate limits on Redis need limits' redis-py implementation")
        self._bridge: RedisBridge = bridge
        self._client: Redis = client

    async def incr(self, keys: Sequence[tuple[str, int]]) -> list[int]:
        names = [self._bridge.prefixed_key(key) for key, _ in keys]
        arguments: tuple[str | int, ...] = (*names, *(expiry for _, expiry in keys))
        try:
            counts = await self._client.evalsha(_INCR_EXPIRE_ALL_SHA, len(names), *arguments)
        except redis.exceptions.NoScriptError:
            await self._client.script_load(_INCR_EXPIRE_ALL)
            counts = await self._client.evalsha(_INCR_EXPIRE_ALL_SHA, len(names), *arguments)
        return [int(count) for count in counts]


def redis_rate_limiter(
    pool: ConnectionPool,
    *,
    prefix: str,
    deadline: float = 1.0,
    retry_interval: float = 2.0,
    clock: Callable[[], float] = time.time,
) -> LimitsRateLimiter:
    """`limits`' Redis storage (the redis-py implementation) on `pool`, keys under `prefix`."""
    # Options reach redis-py's client as they are; `limits` types them narrowly.
    options: dict[str, Any] = {"connection_pool": pool}
    storage = RedisStorage(
        "async+redis://", implementation="redispy", key_prefix=prefix.rstrip(":"), **options
    )
    return LimitsRateLimiter(
        storage, deadline=deadline, retry_interval=retry_interval, pool=pool, clock=clock
    )


def create_rate_limiter(
    url: str,
    *,
    prefix: str = "connector:",
    socket_timeout: float = 0.25,
    connect_timeout: float = 0.25,
    retry_interval: float = 2.0,
    clock: Callable[[], float] = time.time,
) -> LimitsRateLimiter:
    """Counters in this process for `memory://` (one process holds every request), else on
    the deployment's Redis, shared by every replica. No I/O here."""
    if url.lower().startswith("memory://"):
        return LimitsRateLimiter(MemoryStorage(), retry_interval=retry_interval, clock=clock)
    try:
        pool = ConnectionPool.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            # As the cache: one immediate retry heals a connection the server closed while
            # idle; timeouts are not retried (a hung server would cost several).
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            health_check_interval=30,
        )
    except ValueError:
        # `from None`: the parser's message may quote the URL, which can hold a password.
        raise ConfigurationError("CONNECTOR_REDIS_URL", "is not a valid Redis URL") from None
    # Connect, one retried connect and the command: the most a hit may take before failing open.
    deadline = 2 * connect_timeout + 2 * socket_timeout
    return redis_rate_limiter(
        pool,
        prefix=f"{prefix}{RATE_LIMIT_NAMESPACE}",
        deadline=deadline,
        retry_interval=retry_interval,
        clock=clock,
    )
