"""One refresh per user at a time: in-process single-flight plus a cache lock across processes."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from connector.domain.ports import Cache
from connector.errors import CacheUnavailableError

log = logging.getLogger(__name__)
T = TypeVar("T")


class SingleFlight(Generic[T]):
    """Concurrent callers for one key share one running task (per process)."""

    def __init__(self) -> None:
        self._running: dict[str, asyncio.Task[T]] = {}

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
            if not task.cancelled() and task.exception() is not None:
                log.warning("refresh failed: %s", type(task.exception()).__name__)

        return done


class DistributedLock:
    """A cache lock with an owner token: SET NX with a TTL, released by compare-and-delete.

    When the cache is down it degrades to "acquired" (logged): versioned writes in the store
    still keep two replicas from overwriting each other, at the cost of a possible extra refresh.
    """

    def __init__(self, cache: Cache, *, ttl: float = 15.0, poll: float = 0.05) -> None:
        self._cache = cache
        self._ttl = ttl
        self._poll = poll

    async def acquire(self, name: str) -> str | None:
        """An owner token if acquired now, else None (someone else holds it)."""
        owner = secrets.token_hex(16)
        try:
            return owner if await self._cache.add(name, owner.encode(), ttl=self._ttl) else None
        except CacheUnavailableError:
            log.warning("lock %s: cache unavailable, relying on versioned writes", name)
            return owner

    async def release(self, name: str, owner: str) -> None:
        try:
            await self._cache.delete_if_equals(name, owner.encode())
        except CacheUnavailableError:
            log.warning("lock %s: cache unavailable at release; it expires by itself", name)

    async def wait(self, name: str) -> None:
        """Wait (bounded by the lock TTL) until nobody holds `name`."""
        deadline = asyncio.get_running_loop().time() + self._ttl
        while asyncio.get_running_loop().time() < deadline:
            try:
                if await self._cache.get(name) is None:
                    return
            except CacheUnavailableError:
                return
            await asyncio.sleep(self._poll)
