"""Best-effort caching: a cache outage costs a database read, never a failed request."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from connector import metrics
from connector.domain.ports import Cache
from connector.errors import CacheUnavailableError
from connector.services.outage_log import OutageLog

_T = TypeVar("_T")

_log = logging.getLogger(__name__)
UNAVAILABLE = "cache unavailable; serving from the database"
RECOVERED = "cache recovered"


class TolerantCache:
    """Wraps a Cache for tokens and credentials, where the database is the source of truth.

    Reads that fail answer None, writes and deletes that fail answer False, and the request
    carries on. Only CacheUnavailableError is absorbed: anything else is a bug and propagates.

    Logging is rate-limited (an OutageLog, shared with the locks on the same cache when given)
    so an outage under load does not flood the logs: at most one WARNING per `log_interval`
    (the next one says how many failures it stayed silent about), and one INFO "cache
    recovered" when an operation succeeds after a warned outage.

    Locks and single-use records (OAuth state) must not silently succeed: use `raw`, whose
    errors reach the caller.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        log_interval: float = 60.0,
        monotonic: Callable[[], float] = time.monotonic,
        logger: logging.Logger | None = None,
        outages: OutageLog | None = None,
    ) -> None:
        self._cache = cache
        self._outages = outages or OutageLog(
            interval=log_interval, monotonic=monotonic, logger=logger or _log
        )
        self._healthy = True

    @property
    def raw(self) -> Cache:
        """The wrapped cache, for operations whose failure the caller must see."""
        return self._cache

    @property
    def healthy(self) -> bool:
        """Whether the last operation reached the cache."""
        return self._healthy

    async def get(self, key: str) -> bytes | None:
        """The cached value, or None when absent, expired or the cache is unavailable."""
        value = await self._attempt(lambda: self._cache.get(key), None)
        # The kind is the key's namespace ("conn", "creds"): a bounded set, never a user.
        kind = key.partition(":")[0]
        metrics.CACHE_LOOKUPS.labels("redis", kind, "miss" if value is None else "hit").inc()
        return value

    async def set(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Store a value; False when the cache is unavailable (nothing was stored)."""

        async def store() -> bool:
            await self._cache.set(key, value, ttl=ttl)
            return True

        return await self._attempt(store, False)

    async def delete(self, *keys: str) -> bool:
        """Delete keys; False when the cache is unavailable (they may still be there)."""

        async def remove() -> bool:
            await self._cache.delete(*keys)
            return True

        return await self._attempt(remove, False)

    async def _attempt(self, operation: Callable[[], Awaitable[_T]], fallback: _T) -> _T:
        try:
            result = await operation()
        except CacheUnavailableError as exc:
            self._healthy = False
            # The cause is redis-py's error ("Connection refused", "Timeout reading ..."): it
            # names host and port at most, never the password, and tells which outage it is.
            self._outages.failed(UNAVAILABLE, exc.__cause__ or exc)
            return fallback
        self._healthy = True
        self._outages.recovered(RECOVERED)
        return result
