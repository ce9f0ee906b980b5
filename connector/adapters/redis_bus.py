"""The InvalidationBus port on Redis pub/sub: one channel per deployment prefix."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable

import redis.exceptions
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from connector.errors import CacheUnavailableError

log = logging.getLogger(__name__)
# A message is "<sender>|<name>": a replica ignores its own announcements (it has already
# evicted locally, and must not drop the entry it just wrote).
_SEPARATOR = "|"
_POLL = 1.0
_RETRY_FIRST, _RETRY_MAX = 0.1, 2.0
_OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class RedisInvalidationBus:
    """Publishes and listens on `<prefix>invalidate` with its own connections (a subscribed
    connection cannot run other commands), so the cache's pool is never held by a listener."""

    def __init__(self, client: Redis, *, prefix: str) -> None:
        self._client = client
        self._channel = f"{prefix}invalidate"
        self._sender = secrets.token_hex(8)

    async def publish(self, name: str) -> None:
        try:
            await self._client.publish(self._channel, f"{self._sender}{_SEPARATOR}{name}")
        except _OUTAGE as exc:
            raise CacheUnavailableError("cache unavailable") from exc

    async def listen(self, on_evict: Callable[[str], None], on_lost: Callable[[], None]) -> None:
        delay = _RETRY_FIRST
        subscribed_before = False
        while True:
            pubsub = self._client.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self._channel)
                if subscribed_before:
                    on_lost()  # what was published while we were away is gone for good
                subscribed_before, delay = True, _RETRY_FIRST
                while True:
                    message = await pubsub.get_message(timeout=_POLL)
                    if message is not None:
                        self._deliver(message.get("data"), on_evict)
            except _OUTAGE as exc:
                if subscribed_before:
                    on_lost()
                log.debug("invalidation subscription lost (%s); retrying", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
            finally:
                await _close(pubsub)

    def _deliver(self, data: object, on_evict: Callable[[str], None]) -> None:
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else str(data)
        sender, separator, name = text.partition(_SEPARATOR)
        if separator and sender != self._sender and name:
            on_evict(name)

    async def close(self) -> None:
        try:
            await self._client.aclose()
        except _OUTAGE:
            log.debug("invalidation bus: closing a connection to a Redis that is gone")


async def _close(pubsub: PubSub) -> None:
    try:
        await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it untyped
    except _OUTAGE:
        return


def create_bus(url: str, *, prefix: str, connect_timeout: float) -> RedisInvalidationBus | None:
    """A bus for a `redis://` / `rediss://` URL (None for a URL create_cache refuses)."""
    try:
        client = Redis.from_url(
            url,
            socket_connect_timeout=connect_timeout,
            # The listener waits for messages in `get_message(timeout=…)`; publishes are small.
            socket_timeout=max(connect_timeout, 2 * _POLL),
            health_check_interval=15,
            decode_responses=False,
        )
    except ValueError:
        return None  # create_cache has already refused the URL with a message naming it
    return RedisInvalidationBus(client, prefix=prefix)
