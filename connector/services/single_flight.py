"""One refresh per user at a time: in-process single-flight plus a cache lock across processes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from connector import metrics
from connector.domain.ports import Cache
from connector.errors import CacheUnavailableError, UpstreamUnavailableError
from connector.services.outage_log import OutageLog

log = logging.getLogger(__name__)
T = TypeVar("T")
LOCKS_DEGRADED = "cache unavailable; locks fall back to versioned writes"
LOCKS_RECOVERED = "cache recovered"


class SingleFlight(Generic[T]):
    """Concurrent callers for one key share one running task (per process). Failed tasks are
    logged at a bounded rate (an upstream outage fails every refresh)."""

    def __init__(self, *, failures: OutageLog | None = None) -> None:
        self._running: dict[str, asyncio.Task[T]] = {}
        self._failures = failures or OutageLog(logger=log)

    async def run(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        task = self._running.get(key)
        if task is None:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(self._forget(key))
        # shield: one caller giving up (cancelled request) must not cancel the others' refresh.
        return await asyncio.shield(task)

    def start(self, key: str, work: Callable[[], Awaitable[T]]) -> None:
        """Fire and forget (advisory refresh): callers keep what they have; failures are logged."""
        if key not in self._running:
            task = asyncio.ensure_future(work())
            self._running[key] = task
            task.add_done_callback(self._forget(key))

    def _forget(self, key: str) -> Callable[[asyncio.Task[T]], None]:
        def done(task: asyncio.Task[T]) -> None:
            self._running.pop(key, None)
            if task.cancelled():
                return
            failure = task.exception()
            if failure is None:
                self._failures.recovered("refreshes succeed again")
            else:
                # The type only: a message from outside our error tree could hold anything.
                self._failures.failed("refresh failed", type(failure).__name__)

        return done


class DistributedLock:
    """A cache lock with an owner token: SET NX with a TTL, released by compare-and-delete.

    When the cache is down it degrades to "acquired" (warned at a bounded rate, through the
    OutageLog shared with the tolerant cache): versioned writes in the store still keep two
    replicas from overwriting each other, at the cost of a possible extra refresh.

    `wait_timeout` is the budget of the call a holder makes under the lock (a Cognito call): a
    waiter is never held longer than that call would hold it.
    """

    def __init__(
        self,
        cache: Cache,
        *,
        ttl: float = 15.0,
        poll: float = 0.05,
        wait_timeout: float = 5.0,
        outages: OutageLog | None = None,
    ) -> None:
        self._cache = cache
        self._ttl = ttl
        self._poll = poll
        self._wait_timeout = wait_timeout
        self._outages = outages or OutageLog(logger=log)

    async def acquire(self, name: str) -> str | None:
        """An owner token if acquired now, else None (someone else holds it)."""
        owner = secrets.token_hex(16)
        try:
            acquired = await self._cache.add(name, owner.encode(), ttl=self._ttl)
        except CacheUnavailableError as exc:
            self._outages.failed(LOCKS_DEGRADED, exc.__cause__ or exc)
            return owner
        self._outages.recovered(LOCKS_RECOVERED)
        return owner if acquired else None

    async def release(self, name: str, owner: str) -> None:
        """Release if still ours; a cache outage leaves the lock to expire by itself."""
        try:
            await self._cache.delete_if_equals(name, owner.encode())
        except CacheUnavailableError as exc:
            self._outages.failed(LOCKS_DEGRADED, exc.__cause__ or exc)

    async def wait(self, name: str) -> None:
        """Return once nobody holds `name` (or the cache cannot say); UpstreamUnavailableError
        when it is still held after `wait_timeout` seconds: the holder is stuck or gone, and its
        lock expires by itself within the TTL."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self._wait_timeout
        while True:
            try:
                if await self._cache.get(name) is None:
                    metrics.LOCK_WAIT_SECONDS.labels("released").observe(loop.time() - started)
                    return
            except CacheUnavailableError as exc:
                self._outages.failed(LOCKS_DEGRADED, exc.__cause__ or exc)
                return
            left = deadline - loop.time()
            if left <= 0:
                metrics.LOCK_WAIT_SECONDS.labels("timeout").observe(loop.time() - started)
                raise UpstreamUnavailableError(
                    "another replica is still refreshing; try again", retry_after=1
                )
            await asyncio.sleep(min(self._poll, left))
