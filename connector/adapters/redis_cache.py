"""The Cache port on redis-py asyncio: Redis for production, fakeredis for memory://."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from connector.errors import CacheUnavailableError, ConfigurationError

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


@contextmanager
def _unavailable_on_failure() -> Iterator[None]:
    """Translate a backend outage into the port's one error; the message names no URL."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise CacheUnavailableError("cache unavailable") from exc


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

    Values are bytes in and bytes out (the client must not decode responses).
    """

    def __init__(
        self, client: Redis, *, prefix: str = "connector:", owns_pool: bool = True
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._owns_pool = owns_pool
        self._delete_if_equals = client.register_script(_DELETE_IF_EQUALS)

    @property
    def client(self) -> Redis:
        """The underlying client (for diagnostics and tests; services never see it)."""
        return self._client

    @property
    def prefix(self) -> str:
        return self._prefix

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        with _unavailable_on_failure():
            value = await self._client.get(self._key(key))
        return _bytes_or_none(value)

    async def set(self, key: str, value: bytes, *, ttl: float | None = None) -> None:
        """Store a value, replacing any; `ttl` in seconds (fractions allowed)."""
        px = None if ttl is None else _milliseconds(ttl)
        with _unavailable_on_failure():
            await self._client.set(self._key(key), value, px=px)

    async def add(self, key: str, value: bytes, *, ttl: float) -> bool:
        """Store only if absent (SET NX); True if stored."""
        with _unavailable_on_failure():
            stored = await self._client.set(self._key(key), value, nx=True, px=_milliseconds(ttl))
        return bool(stored)

    async def pop(self, key: str) -> bytes | None:
        """Atomically read and delete (GETDEL)."""
        with _unavailable_on_failure():
            value = await self._client.getdel(self._key(key))
        return _bytes_or_none(value)

    async def delete(self, *keys: str) -> int:
        """Delete keys; returns how many existed."""
        if not keys:
            return 0  # DEL without arguments is a Redis syntax error
        with _unavailable_on_failure():
            removed: int = await self._client.delete(*(self._key(k) for k in keys))
        return removed

    async def delete_if_equals(self, key: str, value: bytes) -> bool:
        """Delete only while the key holds `value` (lock release by its owner)."""
        with _unavailable_on_failure():
            removed = await self._delete_if_equals(keys=[self._key(key)], args=[value])
        return bool(removed)

    async def ttl(self, key: str) -> float | None:
        """Seconds left for the key, or None when absent or without expiry."""
        with _unavailable_on_failure():
            millis: int = await self._client.pttl(self._key(key))
        # PTTL answers -2 for a missing key and -1 for a key without expiry.
        return None if millis < 0 else millis / 1000

    async def index_add(self, index: str, member: str, score: float) -> None:
        """Put `member` in a sorted set with `score` (ZADD)."""
        with _unavailable_on_failure():
            await self._client.zadd(self._key(index), {member: score})

    async def index_due(self, index: str, until: float, *, limit: int) -> list[str]:
        """Up to `limit` members scored at most `until`, lowest first (ZRANGEBYSCORE)."""
        with _unavailable_on_failure():
            members = await self._client.zrangebyscore(
                self._key(index), "-inf", until, start=0, num=limit
            )
        return [m.decode() if isinstance(m, bytes) else str(m) for m in members]

    async def index_remove(self, index: str, member: str) -> bool:
        """ZREM; True if the member was there."""
        with _unavailable_on_failure():
            removed: int = await self._client.zrem(self._key(index), member)
        return removed > 0

    async def ping(self) -> None:
        """Raise CacheUnavailableError if the cache cannot answer."""
        with _unavailable_on_failure():
            await self._client.ping()

    async def close(self) -> None:
        """Release connections, and the pool when this cache owns it."""
        with _unavailable_on_failure():
            await self._client.aclose(close_connection_pool=self._owns_pool)


def create_cache(
    url: str,
    *,
    prefix: str = "connector:",
    socket_timeout: float = 0.25,
    connect_timeout: float = 0.25,
) -> RedisCache:
    """A cache for `redis://` / `rediss://`, or an in-process one for `memory://`.

    No I/O happens here: the first command connects. Each `memory://` cache is its own server.
    """
    scheme, separator, _ = url.partition("://")
    scheme = scheme.lower() if separator else ""
    if scheme == "memory":
        # Loaded only here: a process on a real Redis never pays for importing fakeredis.
        import fakeredis  # noqa: PLC0415

        # An explicit server: without one fakeredis shares a server between every client of
        # the same host/port, and two apps in one test process would see each other's keys.
        embedded = fakeredis.FakeAsyncRedis(server=fakeredis.FakeServer(), decode_responses=False)
        return RedisCache(embedded, prefix=prefix)
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
    return RedisCache(client, prefix=prefix)
