"""The Cache port on redis-py asyncio: Redis for production, fakeredis for memory://."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from connector.adapters.circuit_breaker import Admission, CircuitBreaker
from connector.errors import CacheUnavailableError, ConfigurationError

DEFAULT_RETRY_INTERVAL = 2.0

# What "the cache did not answer" looks like from redis-py. BusyLoadingError and
# AuthenticationError are ConnectionError subclasses; ReadOnlyError means we reached a replica
# (a failover in progress), which is an outage for a writer, not a bug in our commands.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis.exceptions.ConnectionError,
    redis.exceptions.BusyLoadingError,
    redis.exceptions.TimeoutError,
    redis.exceptions.ReadOnlyError,
    TimeoutError,
    OSError,
)

# Deletes only while the key still holds the caller's token, so a lock whose TTL ran out and
# was taken by another process is never released by the previous owner.
_DELETE_IF_EQUALS = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


def _bytes_or_none(value: bytes | str | None) -> bytes | None:
    if isinstance(value, str):
        # Only a client built with decode_responses=True answers str; values are opaque bytes.
        raise TypeError("the cache client must not decode responses")
    return value


def _milliseconds(ttl: float) -> int:
    # Redis refuses PX 0 and negative expiries; a TTL that rounds to nothing means "almost gone".
    return max(1, round(ttl * 1000))


class RedisCache:
    """The Cache port on a `redis.asyncio.Redis` client; every key is prefixed.

    Values are bytes in and bytes out (the client must not decode responses). After a call
    the cache did not answer, calls are refused at once for `retry_interval` seconds, then one
    call probes it (a circuit breaker): a frozen Redis costs one socket timeout per interval
    per process, not one per call.
    """

    def __init__(
        self,
        client: Redis,
        *,
        prefix: str = "connector:",
        owns_pool: bool = True,
        retry_interval: float = DEFAULT_RETRY_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_pool = owns_pool
        self._delete_if_equals = client.register_script(_DELETE_IF_EQUALS)
        self._breaker = CircuitBreaker(retry_interval, monotonic=monotonic)
        self.retry_interval = retry_interval

    @property
    def client(self) -> Redis:
        """The underlying client (for diagnostics and tests; services never see it)."""
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def skipping(self) -> bool:
        """True while calls are refused after a failure (until a probe succeeds)."""
        return self._breaker.is_open

    def _key(self, key: str) -> str:
        return self._prefix + key

    @contextmanager
    def _unavailable_on_failure(self) -> Iterator[None]:
        """The one translation: a backend outage is the port's CacheUnavailableError (the
        message names no URL), and the breaker hears every verdict."""
        admission = self._breaker.admit()
        if admission is Admission.REFUSED:
            raise CacheUnavailableError("cache unavailable (skipped after a recent failure)")
        try:
            yield
        except _UNAVAILABLE as exc:
            self._breaker.failed()
            raise CacheUnavailableError("cache unavailable") from exc
        except Exception:
            self._breaker.succeeded()  # an error answer (WRONGTYPE): the server is there
            raise
        except BaseException:
            self._breaker.abandoned(admission)  # cancelled: no verdict
            raise
        self._breaker.succeeded()

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        with self._unavailable_on_failure():
            value = await self._client.get(self._key(key))
        return _bytes_or_none(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store a value, replacing any; `ttl` in seconds (fractions allowed)."""
        px = None if ttl is None else _milliseconds(ttl)
        with self._unavailable_on_failure():
            await self._client.set(self._key(key), value, px=px)

    async def add(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store only if absent (SET NX); True if stored."""
        with self._unavailable_on_failure():
            stored = await self._client.set(self._key(key), value, nx=True, px=_milliseconds(ttl))
        return bool(stored)

    async def pop(self, key: str) -> bytes | None:
        """Atomically read and delete (GETDEL)."""
        with self._unavailable_on_failure():
            value = await self._client.getdel(self._key(key))
        return _bytes_or_none(value)

    async def delete(self, *keys: str) -> int:
        """Delete keys; returns how many existed."""
        if not keys:
            return 0  # DEL without arguments is a Redis syntax error
        with self._unavailable_on_failure():
            removed: int = await self._client.delete(*(self._key(k) for k in keys))
        return removed

    async def delete_if_equals(self, key: str, value: bytes) -> bool:
        """Delete only while the key holds `value` (lock release by its owner)."""
        with self._unavailable_on_failure():
            removed = await self._delete_if_equals(keys=[self._key(key)], args=[value])
        return bool(removed)

    async def ttl(self, key: str) -> float | None:
        """Seconds left for the key, or None when absent or without expiry."""
        with self._unavailable_on_failure():
            millis: int = await self._client.pttl(self._key(key))
        # PTTL answers -2 for a missing key and -1 for a key without expiry.
        return None if millis < 0 else millis / 1000

    async def index_add(self, index: str, member: str, score: float) -> None:
        """Put `member` in a sorted set with `score` (ZADD)."""
        with self._unavailable_on_failure():
            await self._client.zadd(self._key(index), {member: score})

    async def index_due(self, index: str, until: float, *, limit: int) -> list[str]:
        """Up to `limit` members scored at most `until`, lowest first (ZRANGEBYSCORE)."""
        with self._unavailable_on_failure():
            members = await self._client.zrangebyscore(
                self._key(index), "-inf", until, start=0, num=limit
            )
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]

    async def index_remove(self, index: str, member: str) -> bool:
        """ZREM; True if the member was there."""
        with self._unavailable_on_failure():
            removed: int = await self._client.zrem(self._key(index), member)
        return removed > 0

    async def ping(self) -> None:
        """Raise CacheUnavailableError if the cache cannot answer."""
        with self._unavailable_on_failure():
            await self._client.ping()

    async def close(self) -> None:
        """Release connections, and the pool when this cache owns it."""
        try:
            await self._client.aclose(close_connection_pool=self._owns_pool)
        except _UNAVAILABLE as exc:
            raise CacheUnavailableError("cache unavailable") from exc


def create_cache(
    url: str,
    *,
    prefix: str = "connector:",
    socket_timeout: float = 0.25,
    connect_timeout: float = 0.25,
    retry_interval: float = DEFAULT_RETRY_INTERVAL,
    monotonic: Callable[[], float] = time.monotonic,
) -> RedisCache:
    """A cache for `redis://` / `rediss://`, or an in-process one for `memory://`.

    No I/O happens here: the first command connects. Each `memory://` cache is its own server.
    `retry_interval`: how long calls skip the cache after it failed to answer.
    """
    scheme, separator, _ = url.partition("://")
    scheme = scheme.lower() if separator else ""
    if scheme == "memory":
        # Loaded only here: a process on a real Redis never pays for importing fakeredis.
        import fakeredis  # noqa: PLC0415

        # An explicit server: without one fakeredis shares a server between every client of
        # the same host/port, and two apps in one test process would see each other's keys.
        embedded = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False)
        return RedisCache(embedded, prefix=prefix, retry_interval=retry_interval)
    if scheme not in {"redis", "rediss"}:
        raise ConfigurationError(
            "CONNECTOR_REDIS_URL", "must start with redis://, rediss:// or memory://"
        )
    try:
        client = Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=connect_timeout,
            # A dead or slow cache must cost one short timeout, not a backoff schedule: the
            # caller falls through to the database. One immediate retry, on connection errors
            # only, heals a pooled connection the server closed while idle. Timeouts are not
            # retried (redis-py's Retry includes them unless told otherwise): the retry nests
            # inside the connect retry, so a hung server would cost four timeouts, and a slow
            # server may already have run the command (a repeated GETDEL loses the value).
            retry_on_timeout=False,
            retry=Retry(NoBackoff(), 1, supported_errors=(redis.exceptions.ConnectionError,)),
            health_check_interval=30,
            decode_responses=False,
        )
    except ValueError:
        # `from None`: the parser's message may quote the URL, which can hold a password.
        raise ConfigurationError("CONNECTOR_REDIS_URL", "is not a valid Redis URL") from None
    return RedisCache(client, prefix=prefix, retry_interval=retry_interval, monotonic=monotonic)
